#include "binding/mqtt/cose_encrypt0.hpp"

#include <optional>

#include "lwm2m/format/cbor_io.hpp"
#include "oscore/crypto.hpp"

namespace tether::binding::mqtt {

namespace {

namespace cbor = lwm2m::format::cbor;

constexpr std::uint64_t kEncrypt0Tag = 16;  // RFC 9052 2
constexpr std::uint64_t kAlgLabel = 1;
constexpr std::uint64_t kKidLabel = 4;
constexpr std::uint64_t kIvLabel = 5;

Bytes protected_header(int algorithm) {
  Bytes out;
  cbor::Writer w(out);
  w.map(1);
  w.unsigned_integer(kAlgLabel);
  w.integer(algorithm);
  return out;
}

// RFC 9052 5.3: Enc_structure = ["Encrypt0", protected, external_aad (empty)].
Bytes additional_data(ByteView protected_bytes) {
  Bytes out;
  cbor::Writer w(out);
  w.array(3);
  w.text("Encrypt0");
  w.bytes(protected_bytes);
  w.bytes({});
  return out;
}

Error refused() {
  return Error{"not a COSE_Encrypt0 we can open"};
}

// The algorithm named in the protected header (a map), or an error.
Result<std::int64_t> algorithm_of(ByteView protected_bytes) {
  cbor::Reader r(protected_bytes);
  auto head = r.next();
  if (!head || head->kind != cbor::Kind::kMap || head->count == cbor::kIndefinite) {
    return refused();
  }
  std::optional<std::int64_t> alg;
  for (std::size_t i = 0; i < head->count; ++i) {
    auto label = r.next();
    auto value = r.next();
    if (!label || !value) return refused();
    if (label->kind == cbor::Kind::kUnsigned && label->value == kAlgLabel) {
      auto v = cbor::to_int64(*value);
      if (!v || alg) return refused();
      alg = *v;
    } else if (!r.skip(*value, 4)) {
      return refused();
    }
  }
  if (!alg || !r.at_end()) return refused();
  return *alg;
}

}  // namespace

Result<Ok> check_cose_key(const CoseKey& key) {
  if (key.algorithm != oscore::kAesCcm16_64_128) {
    return fail("COSE algorithm " + std::to_string(key.algorithm) +
                " (only 10, AES-CCM-16-64-128, is supported)");
  }
  if (key.key.size() != oscore::kKeyLength) return fail("a COSE key for algorithm 10 is 16 bytes");
  if (key.kid.empty()) return fail("a COSE key without a kid");
  return Ok{};
}

Result<Bytes> seal(const CoseKey& key, ByteView plaintext) {
  return seal_with_iv(key, plaintext, oscore::random_bytes(oscore::kNonceLength));
}

Result<Bytes> seal_with_iv(const CoseKey& key, ByteView plaintext, ByteView iv) {
  if (auto ok = check_cose_key(key); !ok) return ok.error();
  if (iv.size() != oscore::kNonceLength) return fail("a COSE IV for algorithm 10 is 13 bytes");
  const Bytes protected_bytes = protected_header(key.algorithm);
  auto ciphertext = oscore::aead_encrypt(key.key, iv, additional_data(protected_bytes), plaintext);
  if (!ciphertext) return ciphertext.error();
  Bytes out;
  cbor::Writer w(out);
  w.tag(kEncrypt0Tag);
  w.array(3);
  w.bytes(protected_bytes);
  w.map(2);
  w.unsigned_integer(kKidLabel);
  w.bytes(key.kid);
  w.unsigned_integer(kIvLabel);
  w.bytes(iv);
  w.bytes(*ciphertext);
  return out;
}

Result<Bytes> open(ByteView sealed, const CoseKeyLookup& lookup) {
  cbor::Reader r(sealed);
  auto head = r.next();
  if (!head) return refused();
  if (head->kind == cbor::Kind::kTag) {
    if (head->value != kEncrypt0Tag) return refused();
    head = r.next();
    if (!head) return refused();
  }
  if (head->kind != cbor::Kind::kArray || head->count != 3) return refused();
  auto protected_item = r.next();
  if (!protected_item || protected_item->kind != cbor::Kind::kBytes) return refused();
  const ByteView protected_bytes = protected_item->data;
  auto unprotected = r.next();
  if (!unprotected || unprotected->kind != cbor::Kind::kMap ||
      unprotected->count == cbor::kIndefinite) {
    return refused();
  }
  std::optional<ByteView> kid;
  std::optional<ByteView> iv;
  for (std::size_t i = 0; i < unprotected->count; ++i) {
    auto label = r.next();
    auto value = r.next();
    if (!label || !value) return refused();
    const bool known = label->kind == cbor::Kind::kUnsigned &&
                       (label->value == kKidLabel || label->value == kIvLabel);
    if (!known) {
      if (!r.skip(*value, 4)) return refused();
      continue;
    }
    auto& slot = label->value == kKidLabel ? kid : iv;
    if (value->kind != cbor::Kind::kBytes || slot) return refused();
    slot = value->data;
  }
  auto ciphertext = r.next();
  if (!ciphertext || ciphertext->kind != cbor::Kind::kBytes || !r.at_end()) return refused();
  if (!kid || !iv || iv->size() != oscore::kNonceLength) return refused();
  const CoseKey* key = lookup(*kid);
  if (key == nullptr) return refused();
  auto alg = algorithm_of(protected_bytes);
  if (!alg || *alg != key->algorithm || !check_cose_key(*key)) return refused();
  auto plaintext =
      oscore::aead_decrypt(key->key, *iv, additional_data(protected_bytes), ciphertext->data);
  if (!plaintext) return refused();
  return plaintext;
}

}  // namespace tether::binding::mqtt
