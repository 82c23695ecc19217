#include "oscore/crypto.hpp"

#include <stdexcept>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace tether::oscore {

namespace {

gnutls_datum_t datum(ByteView v) {
  // GnuTLS takes non-const pointers but does not write through them here.
  return gnutls_datum_t{const_cast<unsigned char*>(v.data()), static_cast<unsigned>(v.size())};
}

// GnuTLS expands the key into a schedule when a handle is made, which costs about as much
// as sealing a small message. A context keeps no handle (a pair of them made a context
// about 590 bytes larger when measured); instead
// each thread keeps the handles of the keys it used last, so a busy context pays the
// expansion once and a million idle ones pay nothing.
class HandleCache {
 public:
  HandleCache() = default;
  HandleCache(const HandleCache&) = delete;
  HandleCache& operator=(const HandleCache&) = delete;
  ~HandleCache() {
    for (auto& s : slots_) {
      if (s.handle != nullptr) gnutls_aead_cipher_deinit(s.handle);
    }
  }

  // nullptr: the key is not a 16-byte AES key, or GnuTLS refused it.
  gnutls_aead_cipher_hd_t get(ByteView key) {
    if (key.size() != kKeyLength) return nullptr;
    ++clock_;
    Slot* oldest = &slots_[0];
    for (auto& s : slots_) {
      if (s.handle != nullptr && std::equal(key.begin(), key.end(), s.key.begin())) {
        s.used = clock_;
        return s.handle;
      }
      if (s.used < oldest->used) oldest = &s;
    }
    if (oldest->handle != nullptr) gnutls_aead_cipher_deinit(oldest->handle);
    oldest->handle = nullptr;
    oldest->used = 0;
    gnutls_datum_t k = datum(key);
    if (gnutls_aead_cipher_init(&oldest->handle, GNUTLS_CIPHER_AES_128_CCM_8, &k) != 0) {
      oldest->handle = nullptr;
      return nullptr;
    }
    std::copy(key.begin(), key.end(), oldest->key.begin());
    oldest->used = clock_;
    return oldest->handle;
  }

 private:
  struct Slot {
    std::array<unsigned char, kKeyLength> key{};
    gnutls_aead_cipher_hd_t handle = nullptr;
    std::uint64_t used = 0;
  };
  // A server answers each request with the key pair that verified it; eight slots keep a
  // few peers' pairs while they talk.
  std::array<Slot, 8> slots_{};
  std::uint64_t clock_ = 0;
};

gnutls_aead_cipher_hd_t handle_for(ByteView key) {
  thread_local HandleCache cache;
  return cache.get(key);
}

}  // namespace

Result<Bytes> hkdf_sha256(ByteView salt, ByteView secret, ByteView info, std::size_t length) {
  std::array<unsigned char, 32> zeros{};
  const ByteView effective_salt = salt.empty() ? ByteView(zeros.data(), zeros.size()) : salt;
  std::array<unsigned char, 32> prk{};
  gnutls_datum_t s = datum(effective_salt);
  gnutls_datum_t k = datum(secret);
  if (gnutls_hkdf_extract(GNUTLS_MAC_SHA256, &k, &s, prk.data()) != 0) {
    return fail("HKDF-Extract failed");
  }
  gnutls_datum_t p = datum(ByteView(prk.data(), prk.size()));
  gnutls_datum_t i = datum(info);
  Bytes out(length);
  if (gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &p, &i, out.data(), length) != 0) {
    return fail("HKDF-Expand failed");
  }
  return out;
}

Result<Bytes> aead_encrypt(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  if (nonce.size() != kNonceLength) return fail("AEAD: bad key or nonce");
  Bytes out(plaintext.size() + kTagLength);
  if (auto ok = ccm8_seal_into(key, nonce, aad, plaintext, out); !ok) return ok.error();
  return out;
}

Result<Ok> ccm8_seal_into(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext,
                          std::span<std::uint8_t> out) {
  if (out.size() != plaintext.size() + kTagLength) return fail("AEAD: wrong output size");
  gnutls_aead_cipher_hd_t handle = handle_for(key);
  // RFC 3610: a CCM nonce has 7 to 13 bytes.
  if (handle == nullptr || nonce.size() < 7 || nonce.size() > kNonceLength) {
    return fail("AEAD: bad key or nonce");
  }
  std::size_t out_len = plaintext.size() + kTagLength;
  if (gnutls_aead_cipher_encrypt(handle, nonce.data(), nonce.size(), aad.data(), aad.size(),
                                 kTagLength, plaintext.data(), plaintext.size(), out.data(),
                                 &out_len) != 0) {
    return fail("AEAD encryption failed");
  }
  return Ok{};
}

Result<Bytes> aead_decrypt(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext) {
  gnutls_aead_cipher_hd_t handle = handle_for(key);
  if (handle == nullptr || nonce.size() < 7 || nonce.size() > kNonceLength) {
    return fail("AEAD: bad key or nonce");
  }
  if (ciphertext.size() < kTagLength) return fail("ciphertext shorter than its tag");
  Bytes out(ciphertext.size());
  std::size_t out_len = out.size();
  if (gnutls_aead_cipher_decrypt(handle, nonce.data(), nonce.size(), aad.data(), aad.size(),
                                 kTagLength, ciphertext.data(), ciphertext.size(), out.data(),
                                 &out_len) != 0) {
    return fail("decryption failed");
  }
  out.resize(out_len);
  return out;
}

Bytes sha256(ByteView data) {
  Bytes out(32);
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), out.data()) != 0) {
    throw std::runtime_error("gnutls_hash_fast failed");  // the library is broken
  }
  return out;
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (gnutls_rnd(GNUTLS_RND_NONCE, out.data(), out.size()) != 0) {
    throw std::runtime_error("gnutls_rnd failed");  // the library's generator is broken
  }
  return out;
}

}  // namespace tether::oscore
