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
  SecurityContext c;
  c.input_ = input;
  auto derive_one = [&](ByteView id, std::string_view type, std::size_t length) {
    return hkdf_sha256(input.master_salt, input.master_secret,
                       info(id, input.id_context, input.aead, type, length), length);
  };
  auto sender = derive_one(input.sender_id, "Key", kKeyLength);
  if (!sender) return sender.error();
  auto recipient = derive_one(input.recipient_id, "Key", kKeyLength);
  if (!recipient) return recipient.error();
  auto iv = derive_one(Bytes{}, "IV", kNonceLength);
  if (!iv) return iv.error();
  c.sender_key_ = std::move(*sender);
  c.recipient_key_ = std::move(*recipient);
  c.common_iv_ = std::move(*iv);
  return c;
}

Bytes SecurityContext::nonce(ByteView id_piv, ByteView partial_iv) const {
  // RFC 8613 5.2: [size of ID_PIV][ID_PIV left-padded to 7][Partial IV left-padded to 5],
  // XORed with the Common IV.
  Bytes n(kNonceLength, 0);
  n[0] = static_cast<std::uint8_t>(id_piv.size());
  std::copy(id_piv.begin(), id_piv.end(),
            n.begin() + static_cast<std::ptrdiff_t>(8 - id_piv.size()));
  std::copy(partial_iv.begin(), partial_iv.end(),
            n.end() - static_cast<std::ptrdiff_t>(partial_iv.size()));
  for (std::size_t i = 0; i < kNonceLength; ++i) n[i] ^= common_iv_[i];
  return n;
}

Result<std::uint64_t> SecurityContext::next_sequence() {
  if (sender_sequence_ > kSequenceLimit) return fail("the Sender Sequence Numbers are spent");
  if (persist_ && sender_sequence_ >= reserved_until_) {
    const std::uint64_t bound = sender_sequence_ + reservation_step_;
    if (!persist_(bound)) return fail("the Sender Sequence Number could not be stored");
    reserved_until_ = bound;
  }
  return sender_sequence_++;
}

void SecurityContext::reserve_in_steps(std::uint64_t step,
                                       std::function<bool(std::uint64_t bound)> persist) {
  reservation_step_ = step == 0 ? 1 : step;
  persist_ = std::move(persist);
  reserved_until_ = sender_sequence_;  // the next number reserves first
}

Bytes partial_iv_of(std::uint64_t sequence) {
  Bytes out;
  do {
    out.insert(out.begin(), static_cast<std::uint8_t>(sequence & 0xff));
    sequence >>= 8;
  } while (sequence != 0);
  return out;
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
