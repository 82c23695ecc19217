#include "oscore/protection.hpp"

#include <algorithm>

#include "coap/udp_codec.hpp"
#include "oscore/cbor_writer.hpp"
#include "oscore/crypto.hpp"

namespace tether::oscore {

namespace {

namespace codes = coap::codes;
namespace option = coap::option;

// RFC 8613 4.1: Class U options stay outside for proxies; Observe is both (an inner copy
// is protected, the outer one lets a proxy relay notifications); the rest is Class E.
bool outer_only(std::uint16_t number) {
  return number == option::kUriHost || number == option::kUriPort || number == option::kProxyUri ||
         number == option::kProxyScheme || number == kOscoreOption;
}

// RFC 8613 5.4 and 5.3: the Enc_structure over the external_aad, as the AEAD's AAD.
Bytes additional_data(int aead, ByteView request_kid, ByteView request_piv) {
  Bytes external;
  cbor::array(external, 5);
  cbor::integer(external, 1);  // oscore_version
  cbor::array(external, 1);
  cbor::integer(external, aead);
  cbor::bytes(external, request_kid);
  cbor::bytes(external, request_piv);
  cbor::bytes(external, Bytes{});  // no Class I options
  Bytes aad;
  cbor::array(aad, 3);
  cbor::text(aad, "Encrypt0");
  cbor::bytes(aad, Bytes{});
  cbor::bytes(aad, external);
  return aad;
}

// The plaintext: the inner code, then the Class E options and the payload.
Bytes plaintext_of(const coap::Message& m) {
  coap::Message inner;
  inner.code = m.code;
  inner.payload = m.payload;
  for (const auto& o : m.options.list()) {
    if (!outer_only(o.number)) inner.options.add(o.number, o.value);
  }
  Bytes out;
  out.reserve(m.payload.size() + 64);
  out.push_back(m.code.value);
  coap::encode_options_and_payload(inner, out);
  return out;
}

// The outer message: the header and the Class U options (and Observe), the OSCORE option,
// the ciphertext as payload.
coap::Message outer_of(const coap::Message& m, coap::Code code, Bytes oscore, Bytes ciphertext) {
  coap::Message out;
  out.type = m.type;
  out.code = code;
  out.message_id = m.message_id;
  out.token = m.token;
  for (const auto& o : m.options.list()) {
    if (outer_only(o.number) || o.number == option::kObserve) out.options.add(o.number, o.value);
  }
  out.options.add(kOscoreOption, std::move(oscore));
  out.payload = std::move(ciphertext);
  return out;
}

// The inner message back: header and outer Class U options from `outer`, code, options and
// payload from the plaintext.
Result<coap::Message> inner_of(const coap::Message& outer, ByteView plaintext) {
  if (plaintext.empty()) return fail("empty plaintext");
  coap::Message inner;
  if (auto ok = coap::decode_options_and_payload(plaintext.subspan(1), inner); !ok) {
    return ok.error();
  }
  coap::Message out;
  out.type = outer.type;
  out.code = coap::Code{plaintext[0]};
  out.message_id = outer.message_id;
  out.token = outer.token;
  for (const auto& o : outer.options.list()) {
    if (outer_only(o.number) && o.number != kOscoreOption) out.options.add(o.number, o.value);
  }
  for (const auto& o : inner.options.list()) {
    if (outer_only(o.number)) return fail("a Class U option inside the ciphertext");
    out.options.add(o.number, o.value);
  }
  out.payload = std::move(inner.payload);
  return out;
}

}  // namespace

Bytes encode_option(const OptionValue& v) {
  Bytes out;
  out.reserve(16);
  out.push_back(0);
  if (v.partial_iv) {
    out[0] |= static_cast<std::uint8_t>(v.partial_iv->size());
    out.insert(out.end(), v.partial_iv->begin(), v.partial_iv->end());
  }
  if (v.kid_context) {
    out[0] |= 0x10;
    out.push_back(static_cast<std::uint8_t>(v.kid_context->size()));
    out.insert(out.end(), v.kid_context->begin(), v.kid_context->end());
  }
  if (v.kid) {
    out[0] |= 0x08;
    out.insert(out.end(), v.kid->begin(), v.kid->end());
  }
  // RFC 8613 6.1: all flags zero means an empty option.
  if (out.size() == 1 && out[0] == 0) out.clear();
  return out;
}

Result<OptionValue> decode_option(ByteView value) {
  OptionValue v;
  if (value.empty()) return v;
  const std::uint8_t flags = value[0];
  if ((flags & 0xe0) != 0) return fail("reserved OSCORE flag bits set");
  const std::size_t n = flags & 0x07;
  if (n > 5) return fail("a Partial IV longer than 5 bytes");
  std::size_t at = 1;
  if (n > 0) {
    if (value.size() < at + n) return fail("OSCORE option shorter than its Partial IV");
    v.partial_iv = Bytes(value.begin() + 1, value.begin() + static_cast<std::ptrdiff_t>(1 + n));
    at += n;
  }
  if ((flags & 0x10) != 0) {
    if (value.size() < at + 1) return fail("OSCORE option without its kid context length");
    const std::size_t s = value[at++];
    if (value.size() < at + s) return fail("OSCORE option shorter than its kid context");
    v.kid_context = Bytes(value.begin() + static_cast<std::ptrdiff_t>(at),
                          value.begin() + static_cast<std::ptrdiff_t>(at + s));
    at += s;
  }
  if ((flags & 0x08) != 0) {
    v.kid = Bytes(value.begin() + static_cast<std::ptrdiff_t>(at), value.end());
  } else if (at != value.size()) {
    return fail("trailing bytes in the OSCORE option");
  }
  return v;
}

bool is_protected(const coap::Message& m) {
  return m.options.has(kOscoreOption);
}

Result<ProtectedRequest> protect_request(SecurityContext& context, const coap::Message& request) {
  auto seq = context.next_sequence();
  if (!seq) return seq.error();
  const Bytes piv = partial_iv_of(*seq);
  const ContextInput& in = context.input();
  const Bytes aad = additional_data(in.aead, in.sender_id, piv);
  auto ciphertext = aead_encrypt(context.sender_key(), context.nonce(in.sender_id, piv), aad,
                                 plaintext_of(request));
  if (!ciphertext) return ciphertext.error();
  OptionValue ov;
  ov.partial_iv = piv;
  ov.kid = in.sender_id;
  ov.kid_context = in.id_context;
  // RFC 8613 4.2: FETCH when the request observes, so a proxy can relay notifications.
  const coap::Code outer_code =
      request.options.has(option::kObserve) ? codes::kFetch : codes::kPost;
  ProtectedRequest out{outer_of(request, outer_code, encode_option(ov), std::move(*ciphertext)),
                       RequestBinding{in.sender_id, piv}};
  return out;
}

std::variant<VerifiedRequest, Refusal> unprotect_request(const coap::Message& request,
                                                         const ContextLookup& lookup) {
  const coap::Option* opt = request.options.find(kOscoreOption);
  if (opt == nullptr) return Refusal{codes::kBadRequest, "not an OSCORE request"};
  auto ov = decode_option(opt->value);
  // RFC 8613 8.2 step 2: an option that does not parse, or lacks the kid or Partial IV a
  // request needs, is a 4.02.
  if (!ov || !ov->kid || !ov->partial_iv) {
    return Refusal{codes::kBadOption, ov ? "kid or Partial IV missing" : ov.error().reason};
  }
  SecurityContext* context = lookup(*ov->kid, ov->kid_context);
  if (context == nullptr) return Refusal{codes::kUnauthorized, "Security context not found"};
  const std::uint64_t seq = sequence_of(*ov->partial_iv);
  if (!context->replay_window().fresh(seq)) {
    return Refusal{codes::kUnauthorized, "Replay detected"};
  }
  const Bytes aad = additional_data(context->input().aead, *ov->kid, *ov->partial_iv);
  auto plaintext = aead_decrypt(context->recipient_key(), context->nonce(*ov->kid, *ov->partial_iv),
                                aad, request.payload);
  if (!plaintext) return Refusal{codes::kBadRequest, "Decryption failed"};
  auto inner = inner_of(request, *plaintext);
  if (!inner) return Refusal{codes::kBadRequest, "Decryption failed"};
  context->replay_window().accept(seq);
  return VerifiedRequest{std::move(*inner), RequestBinding{*ov->kid, *ov->partial_iv}, context};
}

Result<coap::Message> protect_response(SecurityContext& context, const RequestBinding& binding,
                                       const coap::Message& response, bool new_partial_iv) {
  const ContextInput& in = context.input();
  const Bytes aad = additional_data(in.aead, binding.kid, binding.partial_iv);
  OptionValue ov;
  Bytes nonce = context.nonce(binding.kid, binding.partial_iv);
  if (new_partial_iv) {
    auto seq = context.next_sequence();
    if (!seq) return seq.error();
    ov.partial_iv = partial_iv_of(*seq);
    nonce = context.nonce(in.sender_id, *ov.partial_iv);
  }
  auto ciphertext = aead_encrypt(context.sender_key(), nonce, aad, plaintext_of(response));
  if (!ciphertext) return ciphertext.error();
  // RFC 8613 4.2: 2.05 for notifications (Observe), 2.04 otherwise.
  const coap::Code outer_code =
      response.options.has(option::kObserve) ? codes::kContent : codes::kChanged;
  return outer_of(response, outer_code, encode_option(ov), std::move(*ciphertext));
}

Result<coap::Message> unprotect_response(SecurityContext& context, const RequestBinding& binding,
                                         const coap::Message& response) {
  const coap::Option* opt = response.options.find(kOscoreOption);
  if (opt == nullptr) return fail("the response is not protected");
  auto ov = decode_option(opt->value);
  if (!ov) return ov.error();
  const ContextInput& in = context.input();
  const Bytes nonce = ov->partial_iv ? context.nonce(in.recipient_id, *ov->partial_iv)
                                     : context.nonce(binding.kid, binding.partial_iv);
  const Bytes aad = additional_data(in.aead, binding.kid, binding.partial_iv);
  auto plaintext = aead_decrypt(context.recipient_key(), nonce, aad, response.payload);
  if (!plaintext) return plaintext.error();
  return inner_of(response, *plaintext);
}

coap::Message refusal_response(const coap::Message& request, const Refusal& refusal) {
  coap::Message r = coap::make_response(request, refusal.code);
  r.payload = to_bytes(refusal.diagnostic);
  return r;
}

}  // namespace tether::oscore
