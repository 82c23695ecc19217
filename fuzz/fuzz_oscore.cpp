// OSCORE's receiving side on arbitrary bytes: a CoAP datagram with any OSCORE option and
// ciphertext reaches unprotect_request, which must refuse it with a code of RFC 8613 8.2
// or verify it; the same bytes as a response must fail cleanly or decrypt.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "coap/udp_codec.hpp"
#include "oscore/protection.hpp"

namespace {

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_oscore: %s\n", what);
  std::abort();
}

tether::oscore::SecurityContext make_context(tether::Bytes sender, tether::Bytes recipient) {
  tether::oscore::ContextInput in;
  in.master_secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  in.master_salt = {0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40};
  in.sender_id = std::move(sender);
  in.recipient_id = std::move(recipient);
  auto c = tether::oscore::SecurityContext::derive(in);
  if (!c) mismatch("the fixed context does not derive");
  return std::move(*c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tether;
  static oscore::SecurityContext server = make_context({0x01}, {});
  static oscore::SecurityContext client = make_context({}, {0x01});
  auto message = coap::decode_udp(ByteView(data, size));
  if (!message) return 0;
  (void)oscore::decode_option(message->options.find(oscore::kOscoreOption) != nullptr
                                  ? ByteView(message->options.find(oscore::kOscoreOption)->value)
                                  : ByteView{});
  auto result = oscore::unprotect_request(*message, [](ByteView kid, std::optional<ByteView>) {
    return kid.empty() ? &server : nullptr;
  });
  if (const auto* refusal = std::get_if<oscore::Refusal>(&result)) {
    if (refusal->code.code_class() != 4) mismatch("a refusal that is not 4.xx");
    if (refusal->diagnostic.empty()) mismatch("a refusal without a diagnostic");
  } else {
    auto& verified = std::get<oscore::VerifiedRequest>(result);
    if (oscore::is_protected(verified.message)) mismatch("the inner request holds OSCORE");
    auto response = oscore::protect_response(
        server, verified.binding, coap::make_response(verified.message, coap::codes::kContent));
    if (!response) mismatch("a verified request cannot be answered");
  }
  (void)oscore::unprotect_response(
      client, oscore::RequestBinding{{}, *oscore::ShortBytes::of(Bytes{0x14})}, *message);
  return 0;
}
