// Command packets of SMS Secured Packet Structure mode (Transport TS 5.4.2.1.3) and the
// software UICC's data formats, as anyone's SMS may carry them. Nothing may crash; what
// opens must seal and open again to the same CoAP message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sms/secured_packet.hpp"
#include "sms/software_uicc.hpp"

namespace {
using namespace tether;
using namespace tether::sms;

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_sms_secured_packet: %s\n", what);
  std::abort();
}

// The keys of the seed corpus (tests/sms/secured_packet_test.cpp's).
const SecuredPacketKeys& keys() {
  static const SecuredPacketKeys k = [] {
    Bytes secret(32);
    for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<std::uint8_t>(i);
    auto parsed = parse_sms_binding_keys(Bytes{0x12, 0x1A, 0x16, 0x00, 0xB2, 0x02, 0x03}, secret);
    if (!parsed) mismatch("the corpus keys do not parse");
    return *parsed;
  }();
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);
  auto opened = open_command_packet(keys(), in, std::nullopt);
  if (auto* ok = std::get_if<OpenedPacket>(&opened)) {
    auto again = seal_command_packet(keys(), ok->counter, ok->coap);
    if (!again) mismatch("an opened packet does not seal");
    auto back = open_command_packet(keys(), *again, std::nullopt);
    auto* b = std::get_if<OpenedPacket>(&back);
    if (b == nullptr || b->coap != ok->coap || b->counter != ok->counter) {
      mismatch("a resealed packet opens differently");
    }
    if (!std::holds_alternative<PacketFault>(open_command_packet(keys(), in, ok->counter))) {
      mismatch("the same counter opened twice");
    }
  }
  if (auto u = decode_uicc_data(in)) {
    auto again = encode_uicc_data(u->number, u->coap);
    if (!again) mismatch("decoded UICC data does not encode");
    auto back = decode_uicc_data(*again);
    if (!back || back->number != u->number || back->coap != u->coap) {
      mismatch("UICC data changed on the way round");
    }
  }
  (void)parse_sms_binding_keys(in.first(std::min<std::size_t>(size, 7)),
                               in.subspan(std::min<std::size_t>(size, 7)));
  return 0;
}
