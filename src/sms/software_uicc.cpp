#include "sms/software_uicc.hpp"

#include "sms/pdu.hpp"

namespace tether::sms {

namespace {
// Transport TS 5.4.2.1.2 names a CoAP_TAG without a value; the same tag as the secured data.
constexpr std::uint8_t kCoapDataTag = 0x05;
}  // namespace

Result<Bytes> encode_uicc_data(const std::string& number, ByteView coap) {
  auto out = encode_address(number);
  if (!out) return out.error();
  if (coap.size() > 0xFFFF) return fail("CoAP message over 65535 octets");
  out->push_back(kCoapDataTag);
  out->push_back(static_cast<std::uint8_t>(coap.size() >> 8));
  out->push_back(static_cast<std::uint8_t>(coap.size()));
  out->insert(out->end(), coap.begin(), coap.end());
  return std::move(*out);
}

Result<UiccData> decode_uicc_data(ByteView data) {
  auto address = decode_address(data);
  if (!address) return address.error();
  ByteView rest = data.subspan(address->size);
  if (rest.size() < 3 || rest[0] != kCoapDataTag) return fail("no CoAP message after the address");
  const std::size_t length = (std::size_t{rest[1]} << 8) | rest[2];
  if (rest.size() - 3 != length) return fail("the CoAP message's length does not match");
  return UiccData{std::move(address->number), Bytes(rest.begin() + 3, rest.end())};
}

std::optional<PacketFault> SoftwareUicc::download(const std::string& from, ByteView packet) {
  auto opened = counters_.open(keys_, from, packet);
  if (auto* fault = std::get_if<PacketFault>(&opened)) return *fault;
  auto data = encode_uicc_data(from, std::get<OpenedPacket>(opened).coap);
  if (!data) return PacketFault::kMalformed;
  if (inbox_.size() >= kInboxSize) inbox_.pop_front();  // the oldest is the stalest
  inbox_.push_back(std::move(*data));
  return std::nullopt;
}

std::optional<Bytes> SoftwareUicc::get_data() {
  if (inbox_.empty()) return std::nullopt;
  Bytes out = std::move(inbox_.front());
  inbox_.pop_front();
  return out;
}

Result<SoftwareUicc::Outgoing> SoftwareUicc::store_data(ByteView data) {
  auto stored = decode_uicc_data(data);
  if (!stored) return stored.error();
  auto keys = keys_(stored->number);
  if (!keys) return fail("no SMS binding keys for " + stored->number);
  auto packet =
      seal_command_packet(*keys, counters_.next_to_send(stored->number, clock_()), stored->coap);
  if (!packet) return packet.error();
  return Outgoing{std::move(stored->number), std::move(*packet)};
}

std::optional<Bytes> UiccProtection::protect(const std::string& to, ByteView coap) {
  auto data = encode_uicc_data(to, coap);
  if (!data) return std::nullopt;
  auto out = card_.store_data(*data);
  if (!out) return std::nullopt;
  return std::move(out->packet);
}

std::variant<Bytes, PacketFault> UiccProtection::unprotect(const std::string& from,
                                                           ByteView packet) {
  if (auto fault = card_.download(from, packet)) return *fault;
  auto data = card_.get_data();
  if (!data) return PacketFault::kMalformed;
  auto message = decode_uicc_data(*data);
  if (!message || message->number != from) return PacketFault::kMalformed;
  return std::move(message->coap);
}

}  // namespace tether::sms
