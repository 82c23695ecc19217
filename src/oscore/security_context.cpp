#include "oscore/security_context.hpp"

#include <string_view>

#include "oscore/cbor_writer.hpp"
#include "oscore/crypto.hpp"

namespace tether::oscore {

namespace {

// RFC 8613 3.2.1: info = [id, id_context, alg_aead, type, L].
Bytes info(ByteView id, const std::optional<Bytes>& id_context, int aead, std::string_view type,
           std::size_t length) {
  Bytes out;
  cbor::array(out, 5);
  cbor::bytes(out, id);
  if (id_context) {
    cbor::bytes(out, *id_context);
  } else {
    cbor::null(out);
  }
  cbor::integer(out, aead);
  cbor::text(out, type);
  cbor::integer(out, static_cast<std::int64_t>(length));
  return out;
}

// RFC 8613 7.2.1: the Partial IV is at most 5 bytes.
constexpr std::uint64_t kSequenceLimit = (std::uint64_t{1} << 40) - 1;

}  // namespace

Result<SecurityContext> SecurityContext::derive(const ContextInput& input) {
  if (input.aead != kAesCcm16_64_128) {
    return fail("AEAD algorithm " + std::to_string(input.aead) + " is not supported");
  }
  if (input.hkdf != kHkdfSha256) {
    return fail("HKDF algorithm " + std::to_string(input.hkdf) + " is not supported");
  }
  if (input.master_secret.empty()) return fail("the Master Secret is empty");
  // RFC 8613 3.3: IDs no longer than the nonce leaves room for (13 - 6).
  if (input.sender_id.size() > kNonceLength - 6 || input.recipient_id.size() > kNonceLength - 6) {
    return fail("a Sender or Recipient ID longer than 7 bytes");
  }
  if (input.sender_id == input.recipient_id) return fail("Sender ID equals Recipient ID");
  // RFC 8613 6.1: the kid context's length is one byte of the OSCORE option.
  if (input.id_context && input.id_context->size() > 255) {
    return fail("an ID Context longer than 255 bytes");
  }
  SecurityContext c;
  c.sender_id_ = *ShortBytes::of(input.sender_id);
  c.recipient_id_ = *ShortBytes::of(input.recipient_id);
  c.id_context_ = input.id_context;
  c.aead_ = static_cast<std::int16_t>(input.aead);
  auto derive_into = [&](ByteView id, std::string_view type, auto& out) -> Result<Ok> {
    auto k = hkdf_sha256(input.master_salt, input.master_secret,
                         info(id, input.id_context, input.aead, type, out.size()), out.size());
    if (!k) return k.error();
    std::copy(k->begin(), k->end(), out.begin());
    return Ok{};
  };
  if (auto ok = derive_into(input.sender_id, "Key", c.sender_key_); !ok) return ok.error();
  if (auto ok = derive_into(input.recipient_id, "Key", c.recipient_key_); !ok) return ok.error();
  if (auto ok = derive_into(Bytes{}, "IV", c.common_iv_); !ok) return ok.error();
  return c;
}

std::optional<ShortBytes> ShortBytes::of(ByteView v) {
  if (v.size() > kCapacity) return std::nullopt;
  ShortBytes b;
  b.size_ = static_cast<std::uint8_t>(v.size());
  std::copy(v.begin(), v.end(), b.data_.begin());
  return b;
}

Nonce SecurityContext::nonce(ByteView id_piv, ByteView partial_iv) const {
  // RFC 8613 5.2: [size of ID_PIV][ID_PIV left-padded to 7][Partial IV left-padded to 5],
  // XORed with the Common IV. Callers keep ID_PIV within 7 bytes and the Partial IV within 5.
  Nonce n = common_iv_;
  n[0] ^= static_cast<std::uint8_t>(id_piv.size());
  const std::size_t id_at = 8 - id_piv.size();
  for (std::size_t i = 0; i < id_piv.size(); ++i) n[id_at + i] ^= id_piv[i];
  const std::size_t piv_at = kNonceLength - partial_iv.size();
  for (std::size_t i = 0; i < partial_iv.size(); ++i) n[piv_at + i] ^= partial_iv[i];
  return n;
}

bool SecurityContext::is_named_by(ByteView kid, std::optional<ByteView> kid_context) const {
  auto same = [](ByteView a, ByteView b) { return std::ranges::equal(a, b); };
  if (!same(kid, recipient_id())) return false;
  if (kid_context.has_value() != id_context_.has_value()) return false;
  return !kid_context || same(*kid_context, *id_context_);
}

ByteView SecurityContext::echo_challenge(ByteView random) {
  if (echo_size_ != 0) return ByteView(echo_.data(), echo_size_);
  echo_size_ = static_cast<std::uint8_t>(std::min(random.size(), kEchoLength));
  std::copy(random.begin(), random.begin() + echo_size_, echo_.begin());
  return ByteView(echo_.data(), echo_size_);
}

Result<std::uint64_t> SecurityContext::next_sequence() {
  if (sender_sequence_ > kSequenceLimit) return fail("the Sender Sequence Numbers are spent");
  if (reserve_ && sender_sequence_ >= reserved_until_) {
    const auto start = reserve_(sender_sequence_, reservation_step_);
    if (!start || *start < sender_sequence_) {
      return fail("the Sender Sequence Number could not be stored");
    }
    sender_sequence_ = *start;
    reserved_until_ = *start + reservation_step_;
    if (sender_sequence_ > kSequenceLimit) return fail("the Sender Sequence Numbers are spent");
  }
  return sender_sequence_++;
}

void SecurityContext::reserve_in_steps(std::uint64_t step,
                                       std::function<bool(std::uint64_t bound)> persist) {
  reserve_windows(step, [persist = std::move(persist)](std::uint64_t from, std::uint64_t n) {
    return persist(from + n) ? std::optional<std::uint64_t>(from) : std::nullopt;
  });
}

void SecurityContext::reserve_windows(std::uint64_t step, Reserve reserve) {
  reservation_step_ = step == 0 ? 1 : step;
  reserve_ = std::move(reserve);
  reserved_until_ = sender_sequence_;  // the next number reserves first
}

ShortBytes partial_iv_of(std::uint64_t sequence) {
  std::array<std::uint8_t, 8> be{};
  std::size_t n = 0;
  do {
    be[be.size() - 1 - n++] = static_cast<std::uint8_t>(sequence & 0xff);
    sequence >>= 8;
  } while (sequence != 0);
  // Sequence numbers stop below 2^40 (next_sequence), so this is at most 5 bytes.
  return *ShortBytes::of(ByteView(be.data() + be.size() - n, n));
}

std::uint64_t sequence_of(ByteView partial_iv) {
  std::uint64_t v = 0;
  for (auto b : partial_iv) v = (v << 8) | b;
  return v;
}

bool ReplayWindow::fresh(std::uint64_t seq) const {
  if (!any_ || seq > highest_) return true;
  const std::uint64_t age = highest_ - seq;
  if (age >= kSize) return false;
  return (seen_ & (std::uint32_t{1} << age)) == 0;
}

void ReplayWindow::refuse_up_to(std::uint64_t seq) {
  if (!any_ || seq > highest_) {
    any_ = true;
    highest_ = seq;
    seen_ = ~std::uint32_t{0};
    return;
  }
  // Below the highest seen: every number from the window's bottom up to `seq` counts as seen.
  for (std::uint64_t age = highest_ - seq; age < kSize; ++age) seen_ |= std::uint32_t{1} << age;
}

bool ReplayWindow::accept(std::uint64_t seq) {
  if (!fresh(seq)) return false;
  if (!any_) {
    any_ = true;
    highest_ = seq;
    seen_ = 1;
    return true;
  }
  if (seq > highest_) {
    const std::uint64_t shift = seq - highest_;
    seen_ = shift >= kSize ? 0 : static_cast<std::uint32_t>(seen_ << shift);
    seen_ |= 1;
    highest_ = seq;
    return true;
  }
  seen_ |= std::uint32_t{1} << (highest_ - seq);
  return true;
}

}  // namespace tether::oscore
