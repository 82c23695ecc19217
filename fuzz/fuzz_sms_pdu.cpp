// 3GPP TS 23.040 PDUs as a modem hands them over (27.005 PDU mode), and user data headers.
// Whatever decodes must encode again and decode to the same message; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sms/pdu.hpp"
#include "sms/user_data_header.hpp"

namespace {
using namespace tether;
using namespace tether::sms;

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_sms_pdu: %s\n", what);
  std::abort();
}

void deliver(ByteView tpdu) {
  auto d = decode_deliver(tpdu);
  if (!d) return;
  auto again = encode_deliver(*d);
  if (!again) mismatch("a decoded DELIVER does not encode");
  auto back = decode_deliver(*again);
  if (!back) mismatch("a re-encoded DELIVER does not decode");
  if (back->originator != d->originator || back->udh != d->udh || back->data != d->data ||
      back->pid != d->pid || back->dcs != d->dcs || back->timestamp != d->timestamp) {
    mismatch("DELIVER changed on the way round");
  }
  if (d->udh.size() + d->data.size() > kMaxUserData) mismatch("user data over 140 octets");
}

void submit(ByteView tpdu) {
  auto s = decode_submit(tpdu);
  if (!s) return;
  auto again = encode_submit(*s);
  if (!again) mismatch("a decoded SUBMIT does not encode");
  auto back = decode_submit(*again);
  if (!back || back->destination != s->destination || back->udh != s->udh ||
      back->data != s->data || back->reference != s->reference) {
    mismatch("SUBMIT changed on the way round");
  }
}

void header(ByteView udh) {
  auto elements = parse_udh(udh);
  if (!elements) return;
  if (build_udh(*elements) != Bytes(udh.begin(), udh.end())) mismatch("UDH changed");
  (void)concat_part(*elements);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);
  if (auto tpdu = skip_smsc_address(in)) deliver(*tpdu);
  deliver(in);
  submit(in);
  header(in);
  (void)is_8bit_data(size > 0 ? data[0] : 0);
  return 0;
}
