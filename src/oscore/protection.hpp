#pragma once
// RFC 8613 4-8: turning a CoAP request or response into its OSCORE-protected form and back.
// Pure functions over messages and a context; the exchange bookkeeping (which context a
// peer uses, what a response is bound to) belongs to the caller.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "coap/code.hpp"
#include "coap/message.hpp"
#include "common/result.hpp"
#include "oscore/security_context.hpp"

namespace tether::oscore {

inline constexpr std::uint16_t kOscoreOption = 9;

// RFC 8613 6.1: the OSCORE option's value (a Partial IV of at most 7 bytes and a kid context
// of at most 255: their lengths are 3 bits and one byte of the option).
struct OptionValue {
  std::optional<Bytes> partial_iv;
  std::optional<Bytes> kid;
  std::optional<Bytes> kid_context;
};
Bytes encode_option(const OptionValue& v);
Result<OptionValue> decode_option(ByteView value);

// What a response is bound to: the request's kid (the client's Sender ID) and Partial IV.
struct RequestBinding {
  ShortBytes kid;
  ShortBytes partial_iv;
};

struct ProtectedRequest {
  coap::Message message;
  RequestBinding binding;
};

// RFC 8613 8.1: protects a request with the context's next sequence number.
Result<ProtectedRequest> protect_request(SecurityContext& context, const coap::Message& request);

// RFC 8613 B.2: the kid context a re-derivation message carries is a CBOR byte string
// around the ID Context; anything else is taken as the ID Context itself.
Bytes unwrap_kid_context(ByteView kid_context);
// The kid context a response carries (RFC 8613 B.2 Response #1: the server's R2), unwrapped.
std::optional<Bytes> response_kid_context(const coap::Message& response);

// RFC 8613 8.2 refusals carry the code to answer with (unprotected) and its diagnostic.
struct Refusal {
  coap::Code code;
  std::string diagnostic;
};

struct VerifiedRequest {
  coap::Message message;  // the inner request, with the outer Uri-Host/Port/Proxy options
  RequestBinding binding;
  SecurityContext* context = nullptr;
};

// Finds the recipient's context by kid and kid context (nullptr: none).
using ContextLookup =
    std::function<SecurityContext*(ByteView kid, std::optional<ByteView> kid_context)>;

// Whether a message carries the OSCORE option (else it is plain CoAP).
bool is_protected(const coap::Message& m);

// RFC 8613 8.2: verifies and decrypts a protected request; the replay window learns its
// number. A refusal says what to answer.
std::variant<VerifiedRequest, Refusal> unprotect_request(const coap::Message& request,
                                                         const ContextLookup& lookup);

// RFC 8613 8.3: protects a response; `new_partial_iv` takes a fresh sequence number (for
// Observe notifications, RFC 8613 4.1.3.5.2), else the request's nonce is reused.
// `kid_context`: RFC 8613 B.2 Response #1 names the server's R2 (sent as a CBOR bstr).
Result<coap::Message> protect_response(SecurityContext& context, const RequestBinding& binding,
                                       const coap::Message& response, bool new_partial_iv = false,
                                       std::optional<ByteView> kid_context = std::nullopt);

// RFC 8613 8.4: verifies and decrypts a response to a request bound by `binding`. A response
// without a Partial IV reuses the request's nonce, made with `request_context`'s Common IV
// (another context's than `context` in RFC 8613 B.2 Response #1; default: the same).
Result<coap::Message> unprotect_response(SecurityContext& context, const RequestBinding& binding,
                                         const coap::Message& response,
                                         const SecurityContext* request_context = nullptr);

// The unprotected error response of RFC 8613 8.2 for `refusal`.
coap::Message refusal_response(const coap::Message& request, const Refusal& refusal);

}  // namespace tether::oscore
