#include "oscore/protection.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "coap/udp_codec.hpp"
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

// RFC 8613 5.4 and 5.3: the Enc_structure over the external_aad, as the AEAD's AAD. With
// IDs of at most 7 bytes and Partial IVs of at most 5, every CBOR head is one byte and the
// whole fits in 32.
class AdditionalData {
 public:
  AdditionalData(int aead, ByteView request_kid, ByteView request_piv) {
    std::array<std::uint8_t, 20> external{};
    std::size_t e = 0;
    external[e++] = 0x85;  // [oscore_version, algorithms, request_kid, request_piv, options]
    external[e++] = 0x01;
    external[e++] = 0x81;  // [alg_aead]
    external[e++] = static_cast<std::uint8_t>(aead);
    e = put_bytes(external.data(), e, request_kid);
    e = put_bytes(external.data(), e, request_piv);
    external[e++] = 0x40;  // no Class I options
    data_[n_++] = 0x83;    // ["Encrypt0", h'', external_aad]
    data_[n_++] = 0x68;
    for (char c : std::string_view("Encrypt0")) data_[n_++] = static_cast<std::uint8_t>(c);
    data_[n_++] = 0x40;
    n_ = put_bytes(data_.data(), n_, ByteView(external.data(), e));
  }
  ByteView view() const { return ByteView(data_.data(), n_); }

 private:
  static std::size_t put_bytes(std::uint8_t* out, std::size_t at, ByteView v) {
    out[at++] = static_cast<std::uint8_t>(0x40 | v.size());
    std::copy(v.begin(), v.end(), out + at);
    return at + v.size();
  }
  std::array<std::uint8_t, 32> data_{};
  std::size_t n_ = 0;
};

// The plaintext: the inner code, then the Class E options and the payload.
Bytes plaintext_of(const coap::Message& m) {
  Bytes out;
  out.reserve(1 + coap::options_and_payload_size(m) + kTagLength);
  out.push_back(m.code.value);
  coap::encode_options_and_payload(m, out, [](std::uint16_t n) { return !outer_only(n); });
  return out;
}

// The OSCORE option's fields, viewed in its value.
struct OptionView {
  std::optional<ByteView> partial_iv;
  std::optional<ByteView> kid;
  std::optional<ByteView> kid_context;
};

Result<OptionView> parse_option(ByteView value) {
  OptionView v;
  if (value.empty()) return v;
  const std::uint8_t flags = value[0];
  if ((flags & 0xe0) != 0) return fail("reserved OSCORE flag bits set");
  const std::size_t n = flags & 0x07;
  if (n > 5) return fail("a Partial IV longer than 5 bytes");
  std::size_t at = 1;
  if (n > 0) {
    if (value.size() < at + n) return fail("OSCORE option shorter than its Partial IV");
    v.partial_iv = value.subspan(at, n);
    at += n;
  }
  if ((flags & 0x10) != 0) {
    if (value.size() < at + 1) return fail("OSCORE option without its kid context length");
    const std::size_t s = value[at++];
    if (value.size() < at + s) return fail("OSCORE option shorter than its kid context");
    v.kid_context = value.subspan(at, s);
    at += s;
  }
  if ((flags & 0x08) != 0) {
    v.kid = value.subspan(at);
  } else if (at != value.size()) {
    return fail("trailing bytes in the OSCORE option");
  }
  return v;
}

// RFC 8613 6.1: flags, Partial IV, kid context (length-prefixed) and kid. Callers keep the
// Partial IV within 7 bytes and the kid context within 255; the usual option (a few bytes)
// is built on the stack and stays inside the coap::Option.
coap::OptionBytes option_bytes(std::optional<ByteView> partial_iv,
                               std::optional<ByteView> kid_context, std::optional<ByteView> kid) {
  auto size = [](std::optional<ByteView> v) { return v ? v->size() : 0; };
  const std::size_t total =
      1 + size(partial_iv) + (kid_context ? 1 + kid_context->size() : 0) + size(kid);
  std::array<std::uint8_t, 64> stack{};
  Bytes heap;
  std::uint8_t* out = stack.data();
  if (total > stack.size()) {
    heap.resize(total);
    out = heap.data();
  }
  std::size_t n = 1;
  auto put = [&](ByteView v) {
    std::copy(v.begin(), v.end(), out + n);
    n += v.size();
  };
  out[0] = 0;
  if (partial_iv) {
    out[0] |= static_cast<std::uint8_t>(partial_iv->size() & 0x07);
    put(*partial_iv);
  }
  if (kid_context) {
    out[0] |= 0x10;
    out[n++] = static_cast<std::uint8_t>(kid_context->size());
    put(*kid_context);
  }
  if (kid) {
    out[0] |= 0x08;
    put(*kid);
  }
  // RFC 8613 6.1: all flags zero means an empty option.
  if (out[0] == 0) n = 0;
  return coap::OptionBytes(ByteView(out, n));
}

// A CBOR byte string head and its bytes (kid contexts of RFC 8613 B.2 fit 255 bytes).
Bytes wrapped(ByteView v) {
  Bytes out;
  out.reserve(2 + v.size());
  if (v.size() < 24) {
    out.push_back(static_cast<std::uint8_t>(0x40 | v.size()));
  } else {
    out.push_back(0x58);
    out.push_back(static_cast<std::uint8_t>(v.size()));
  }
  out.insert(out.end(), v.begin(), v.end());
  return out;
}

// The outer message: the header and the Class U options (and Observe), the OSCORE option,
// the ciphertext as payload.
coap::Message outer_of(const coap::Message& m, coap::Code code, coap::OptionBytes oscore,
                       Bytes ciphertext) {
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
Result<coap::Message> inner_of(const coap::Message& outer, Bytes&& plaintext) {
  if (plaintext.empty()) return fail("empty plaintext");
  coap::Message out;
  auto payload_at = coap::decode_options(ByteView(plaintext).subspan(1), out.options);
  if (!payload_at) return payload_at.error();
  // The payload keeps the plaintext's buffer: the bytes before it go, nothing is allocated.
  const coap::Code code{plaintext[0]};
  plaintext.erase(plaintext.begin(),
                  plaintext.begin() + static_cast<std::ptrdiff_t>(1 + *payload_at));
  out.payload = std::move(plaintext);
  for (const auto& o : out.options.list()) {
    if (outer_only(o.number)) return fail("a Class U option inside the ciphertext");
  }
  out.type = outer.type;
  out.code = code;
  out.message_id = outer.message_id;
  out.token = outer.token;
  for (const auto& o : outer.options.list()) {
    if (outer_only(o.number) && o.number != kOscoreOption) out.options.add(o.number, o.value);
  }
  return out;
}

}  // namespace

Bytes encode_option(const OptionValue& v) {
  return option_bytes(view_of(v.partial_iv), view_of(v.kid_context), view_of(v.kid)).bytes();
}

Result<OptionValue> decode_option(ByteView value) {
  auto parsed = parse_option(value);
  if (!parsed) return parsed.error();
  auto copy = [](std::optional<ByteView> b) {
    return b ? std::optional<Bytes>(Bytes(b->begin(), b->end())) : std::nullopt;
  };
  return OptionValue{copy(parsed->partial_iv), copy(parsed->kid), copy(parsed->kid_context)};
}

bool is_protected(const coap::Message& m) {
  return m.options.has(kOscoreOption);
}

Result<ProtectedRequest> protect_request(SecurityContext& context, const coap::Message& request) {
  auto seq = context.next_sequence();
  if (!seq) return seq.error();
  const ShortBytes piv = partial_iv_of(*seq);
  const AdditionalData aad(context.aead(), context.sender_id(), piv.view());
  const Nonce nonce = context.nonce(context.sender_id(), piv.view());
  auto ciphertext = aead_encrypt(context.sender_key(), nonce, aad.view(), plaintext_of(request));
  if (!ciphertext) return ciphertext.error();
  // RFC 8613 4.2: FETCH when the request observes, so a proxy can relay notifications.
  const coap::Code outer_code =
      request.options.has(option::kObserve) ? codes::kFetch : codes::kPost;
  std::optional<Bytes> kid_context = context.id_context();
  if (kid_context && context.rederiving()) kid_context = wrapped(*kid_context);
  if (kid_context && kid_context->size() > 255) return fail("a kid context longer than 255 bytes");
  ProtectedRequest out{outer_of(request, outer_code,
                                option_bytes(piv.view(), view_of(kid_context), context.sender_id()),
                                std::move(*ciphertext)),
                       RequestBinding{*ShortBytes::of(context.sender_id()), piv}};
  return out;
}

std::variant<VerifiedRequest, Refusal> unprotect_request(const coap::Message& request,
                                                         const ContextLookup& lookup) {
  const coap::Option* opt = request.options.find(kOscoreOption);
  if (opt == nullptr) return Refusal{codes::kBadRequest, "not an OSCORE request"};
  auto ov = parse_option(opt->value);
  // RFC 8613 8.2 step 2: an option that does not parse, or lacks the kid or Partial IV a
  // request needs, is a 4.02.
  if (!ov || !ov->kid || !ov->partial_iv) {
    return Refusal{codes::kBadOption, ov ? "kid or Partial IV missing" : ov.error().reason};
  }
  // No context has a Recipient ID longer than 7 bytes (RFC 8613 3.3).
  const auto kid = ShortBytes::of(*ov->kid);
  SecurityContext* context = kid ? lookup(*ov->kid, ov->kid_context) : nullptr;
  if (context == nullptr) return Refusal{codes::kUnauthorized, "Security context not found"};
  const ShortBytes piv = *ShortBytes::of(*ov->partial_iv);
  const std::uint64_t seq = sequence_of(piv.view());
  if (!context->replay_window().fresh(seq)) {
    return Refusal{codes::kUnauthorized, "Replay detected"};
  }
  const AdditionalData aad(context->aead(), kid->view(), piv.view());
  auto plaintext = aead_decrypt(context->recipient_key(), context->nonce(kid->view(), piv.view()),
                                aad.view(), request.payload);
  if (!plaintext) return Refusal{codes::kBadRequest, "Decryption failed"};
  auto inner = inner_of(request, std::move(*plaintext));
  if (!inner) return Refusal{codes::kBadRequest, "Decryption failed"};
  context->replay_window().accept(seq);
  return VerifiedRequest{std::move(*inner), RequestBinding{*kid, piv}, context};
}

Result<coap::Message> protect_response(SecurityContext& context, const RequestBinding& binding,
                                       const coap::Message& response, bool new_partial_iv,
                                       std::optional<ByteView> kid_context) {
  const AdditionalData aad(context.aead(), binding.kid.view(), binding.partial_iv.view());
  std::optional<ShortBytes> piv;
  Nonce nonce = context.nonce(binding.kid.view(), binding.partial_iv.view());
  if (new_partial_iv) {
    auto seq = context.next_sequence();
    if (!seq) return seq.error();
    piv = partial_iv_of(*seq);
    nonce = context.nonce(context.sender_id(), piv->view());
  }
  auto ciphertext = aead_encrypt(context.sender_key(), nonce, aad.view(), plaintext_of(response));
  if (!ciphertext) return ciphertext.error();
  // RFC 8613 4.2: 2.05 for notifications (Observe), 2.04 otherwise.
  const coap::Code outer_code =
      response.options.has(option::kObserve) ? codes::kContent : codes::kChanged;
  const std::optional<ByteView> piv_view =
      piv ? std::optional<ByteView>(piv->view()) : std::nullopt;
  const std::optional<Bytes> kid_context_field =
      kid_context ? std::optional<Bytes>(wrapped(*kid_context)) : std::nullopt;
  if (kid_context_field && kid_context_field->size() > 255) {
    return fail("a kid context longer than 255 bytes");
  }
  return outer_of(response, outer_code,
                  option_bytes(piv_view, view_of(kid_context_field), std::nullopt),
                  std::move(*ciphertext));
}

Result<coap::Message> unprotect_response(SecurityContext& context, const RequestBinding& binding,
                                         const coap::Message& response,
                                         const SecurityContext* request_context) {
  if (request_context == nullptr) request_context = &context;
  const coap::Option* opt = response.options.find(kOscoreOption);
  if (opt == nullptr) return fail("the response is not protected");
  auto ov = parse_option(opt->value);
  if (!ov) return ov.error();
  const Nonce nonce = ov->partial_iv
                          ? context.nonce(context.recipient_id(), *ov->partial_iv)
                          : request_context->nonce(binding.kid.view(), binding.partial_iv.view());
  const AdditionalData aad(context.aead(), binding.kid.view(), binding.partial_iv.view());
  auto plaintext = aead_decrypt(context.recipient_key(), nonce, aad.view(), response.payload);
  if (!plaintext) return plaintext.error();
  return inner_of(response, std::move(*plaintext));
}

Bytes unwrap_kid_context(ByteView kid_context) {
  if (!kid_context.empty()) {
    const std::uint8_t head = kid_context[0];
    if (head >= 0x40 && head < 0x58 && kid_context.size() == 1u + (head & 0x1f)) {
      return Bytes(kid_context.begin() + 1, kid_context.end());
    }
    if (head == 0x58 && kid_context.size() >= 2 && kid_context.size() == 2u + kid_context[1]) {
      return Bytes(kid_context.begin() + 2, kid_context.end());
    }
  }
  return Bytes(kid_context.begin(), kid_context.end());
}

std::optional<Bytes> response_kid_context(const coap::Message& response) {
  const coap::Option* opt = response.options.find(kOscoreOption);
  if (opt == nullptr) return std::nullopt;
  auto ov = parse_option(opt->value);
  if (!ov || !ov->kid_context) return std::nullopt;
  return unwrap_kid_context(*ov->kid_context);
}

coap::Message refusal_response(const coap::Message& request, const Refusal& refusal) {
  coap::Message r = coap::make_response(request, refusal.code);
  r.payload = to_bytes(refusal.diagnostic);
  return r;
}

}  // namespace tether::oscore
