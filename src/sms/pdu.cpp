#include "sms/pdu.hpp"

namespace tether::sms {

namespace {
constexpr std::uint8_t kUdhi = 0x40;
constexpr std::uint8_t kInternational = 0x91;
constexpr std::uint8_t kUnknownIsdn = 0x81;

// 23.040 9.1.2.5: length in digits, type of address, digits as semi-octets (low first).
Result<Ok> put_address(Bytes& out, std::string_view number) {
  const bool international = !number.empty() && number[0] == '+';
  if (international) number.remove_prefix(1);
  if (number.empty() || number.size() > 20) return fail("address needs 1 to 20 digits");
  for (char c : number) {
    if (c < '0' || c > '9') return fail("address holds a character that is not a digit");
  }
  out.push_back(static_cast<std::uint8_t>(number.size()));
  out.push_back(international ? kInternational : kUnknownIsdn);
  for (std::size_t i = 0; i < number.size(); i += 2) {
    const std::uint8_t low = static_cast<std::uint8_t>(number[i] - '0');
    const std::uint8_t high =
        i + 1 < number.size() ? static_cast<std::uint8_t>(number[i + 1] - '0') : 0x0F;
    out.push_back(static_cast<std::uint8_t>(low | (high << 4)));
  }
  return Ok{};
}

class Reader {
 public:
  explicit Reader(ByteView b) : b_(b) {}
  Result<std::uint8_t> octet(const char* what) {
    if (at_ >= b_.size()) return fail(std::string("PDU ends before ") + what);
    return b_[at_++];
  }
  Result<ByteView> take(std::size_t n, const char* what) {
    if (b_.size() - at_ < n) return fail(std::string("PDU ends inside ") + what);
    ByteView v = b_.subspan(at_, n);
    at_ += n;
    return v;
  }
  std::size_t left() const { return b_.size() - at_; }

 private:
  ByteView b_;
  std::size_t at_ = 0;
};

Result<std::string> get_address(Reader& r) {
  auto digits = r.octet("address length");
  if (!digits) return digits.error();
  auto type = r.octet("type of address");
  if (!type) return type.error();
  if (*digits == 0 || *digits > 20) return fail("address needs 1 to 20 digits");
  auto octets = r.take((*digits + 1u) / 2u, "address");
  if (!octets) return octets.error();
  // Type of number 101 is alphanumeric (7-bit packed): not an MSISDN we can answer.
  if ((*type & 0x70) == 0x50) return fail("alphanumeric address");
  std::string number = (*type & 0x70) == 0x10 ? "+" : "";
  for (std::size_t i = 0; i < *digits; ++i) {
    const std::uint8_t o = (*octets)[i / 2];
    const std::uint8_t nibble = (i % 2 == 0) ? (o & 0x0F) : (o >> 4);
    if (nibble > 9) return fail("address holds a semi-octet that is not a digit");
    number.push_back(static_cast<char>('0' + nibble));
  }
  return number;
}

// TP-UDL counts octets for 8-bit data; with TP-UDHI the header (UDHL first) leads TP-UD.
Result<Ok> get_user_data(Reader& r, bool udhi, std::uint8_t dcs, Bytes& udh, Bytes& data) {
  if (!is_8bit_data(dcs)) return fail("user data is not 8-bit (TP-DCS)");
  auto udl = r.octet("TP-UDL");
  if (!udl) return udl.error();
  if (*udl > kMaxUserData) return fail("TP-UDL over 140 octets");
  if (r.left() != *udl) return fail("TP-UDL does not match the user data");
  auto ud = r.take(*udl, "user data");
  if (!ud) return ud.error();
  std::size_t header = 0;
  if (udhi) {
    if (ud->empty()) return fail("TP-UDHI set without a header");
    header = std::size_t{(*ud)[0]} + 1;
    if (header > ud->size()) return fail("user data header runs past the user data");
  }
  udh.assign(ud->begin(), ud->begin() + static_cast<std::ptrdiff_t>(header));
  data.assign(ud->begin() + static_cast<std::ptrdiff_t>(header), ud->end());
  return Ok{};
}

Result<Ok> put_user_data(Bytes& out, std::uint8_t dcs, const Bytes& udh, const Bytes& data) {
  if (!is_8bit_data(dcs)) return fail("only 8-bit user data is sent (TP-DCS)");
  if (!udh.empty() && std::size_t{udh[0]} + 1 != udh.size()) {
    return fail("user data header length octet does not match");
  }
  if (udh.size() + data.size() > kMaxUserData) return fail("user data over 140 octets");
  out.push_back(static_cast<std::uint8_t>(udh.size() + data.size()));
  out.insert(out.end(), udh.begin(), udh.end());
  out.insert(out.end(), data.begin(), data.end());
  return Ok{};
}
}  // namespace

Result<Bytes> encode_address(std::string_view number) {
  Bytes out;
  if (auto ok = put_address(out, number); !ok) return ok.error();
  return out;
}

Result<DecodedAddress> decode_address(ByteView bytes) {
  Reader r(bytes);
  auto number = get_address(r);
  if (!number) return number.error();
  return DecodedAddress{std::move(*number), bytes.size() - r.left()};
}

bool is_8bit_data(std::uint8_t dcs) {
  if ((dcs & 0xC0) == 0x00 || (dcs & 0xC0) == 0x40) {
    // General data coding (and its automatic-deletion twin): bit 5 compressed, bits 3..2.
    return (dcs & 0x20) == 0 && ((dcs >> 2) & 0x03) == 0x01;
  }
  if ((dcs & 0xF0) == 0xF0) return (dcs & 0x04) != 0;  // data coding/message class
  return false;
}

std::optional<int> message_class(std::uint8_t dcs) {
  if (((dcs & 0xC0) == 0x00 || (dcs & 0xC0) == 0x40) && (dcs & 0x10) != 0) return dcs & 0x03;
  if ((dcs & 0xF0) == 0xF0) return dcs & 0x03;
  return std::nullopt;
}

Result<Bytes> encode_submit(const Submit& s) {
  Bytes out;
  // MTI 01 (SUBMIT), no validity period, no status report.
  out.push_back(static_cast<std::uint8_t>(0x01 | (s.udh.empty() ? 0 : kUdhi)));
  out.push_back(s.reference);
  if (auto ok = put_address(out, s.destination); !ok) return ok.error();
  out.push_back(s.pid);
  out.push_back(s.dcs);
  if (auto ok = put_user_data(out, s.dcs, s.udh, s.data); !ok) return ok.error();
  return out;
}

Result<Submit> decode_submit(ByteView tpdu) {
  Reader r(tpdu);
  Submit s;
  auto first = r.octet("first octet");
  if (!first) return first.error();
  if ((*first & 0x03) != 0x01) return fail("not an SMS-SUBMIT");
  auto mr = r.octet("TP-MR");
  if (!mr) return mr.error();
  s.reference = *mr;
  auto da = get_address(r);
  if (!da) return da.error();
  s.destination = std::move(*da);
  auto pid = r.octet("TP-PID");
  if (!pid) return pid.error();
  auto dcs = r.octet("TP-DCS");
  if (!dcs) return dcs.error();
  s.pid = *pid;
  s.dcs = *dcs;
  // TP-VPF: 00 none, 10 relative (1 octet), 01 enhanced and 11 absolute (7 octets).
  const int vpf = (*first >> 3) & 0x03;
  const std::size_t vp = vpf == 0 ? 0 : vpf == 2 ? 1 : 7;
  if (auto skipped = r.take(vp, "TP-VP"); !skipped) return skipped.error();
  if (auto ok = get_user_data(r, (*first & kUdhi) != 0, s.dcs, s.udh, s.data); !ok) {
    return ok.error();
  }
  return s;
}

Result<Bytes> encode_deliver(const Deliver& d) {
  Bytes out;
  // MTI 00 (DELIVER), TP-MMS: no more messages waiting.
  out.push_back(static_cast<std::uint8_t>(0x04 | (d.udh.empty() ? 0 : kUdhi)));
  if (auto ok = put_address(out, d.originator); !ok) return ok.error();
  out.push_back(d.pid);
  out.push_back(d.dcs);
  Bytes scts = d.timestamp;
  scts.resize(7, 0x00);
  out.insert(out.end(), scts.begin(), scts.end());
  if (auto ok = put_user_data(out, d.dcs, d.udh, d.data); !ok) return ok.error();
  return out;
}

Result<Deliver> decode_deliver(ByteView tpdu) {
  Reader r(tpdu);
  Deliver d;
  auto first = r.octet("first octet");
  if (!first) return first.error();
  if ((*first & 0x03) != 0x00) return fail("not an SMS-DELIVER");
  auto oa = get_address(r);
  if (!oa) return oa.error();
  d.originator = std::move(*oa);
  auto pid = r.octet("TP-PID");
  if (!pid) return pid.error();
  auto dcs = r.octet("TP-DCS");
  if (!dcs) return dcs.error();
  d.pid = *pid;
  d.dcs = *dcs;
  auto scts = r.take(7, "TP-SCTS");
  if (!scts) return scts.error();
  d.timestamp.assign(scts->begin(), scts->end());
  if (auto ok = get_user_data(r, (*first & kUdhi) != 0, d.dcs, d.udh, d.data); !ok) {
    return ok.error();
  }
  return d;
}

Result<ByteView> skip_smsc_address(ByteView pdu) {
  if (pdu.empty()) return fail("empty PDU");
  const std::size_t n = pdu[0];
  if (n > 11 || n + 1 > pdu.size()) return fail("SMSC address runs past the PDU");
  return pdu.subspan(n + 1);
}

}  // namespace tether::sms
