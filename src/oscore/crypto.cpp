#include "oscore/crypto.hpp"

#include <stdexcept>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <array>
#include <string>

namespace tether::oscore {

namespace {

gnutls_datum_t datum(ByteView v) {
  // GnuTLS takes non-const pointers but does not write through them here.
  return gnutls_datum_t{const_cast<unsigned char*>(v.data()), static_cast<unsigned>(v.size())};
}

// One AEAD handle per call: contexts are created rarely next to messages, and a handle
// holds the expanded key schedule, which we would rather not keep per context.
class Aead {
 public:
  explicit Aead(ByteView key) {
    gnutls_datum_t k = datum(key);
    ok_ = key.size() == kKeyLength &&
          gnutls_aead_cipher_init(&handle_, GNUTLS_CIPHER_AES_128_CCM_8, &k) == 0;
  }
  ~Aead() {
    if (ok_) gnutls_aead_cipher_deinit(handle_);
  }
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  bool ok() const { return ok_; }
  gnutls_aead_cipher_hd_t get() const { return handle_; }

 private:
  gnutls_aead_cipher_hd_t handle_ = nullptr;
  bool ok_ = false;
};

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
  Aead aead(key);
  if (!aead.ok() || nonce.size() != kNonceLength) return fail("AEAD: bad key or nonce");
  Bytes out(plaintext.size() + kTagLength);
  std::size_t out_len = out.size();
  if (gnutls_aead_cipher_encrypt(aead.get(), nonce.data(), nonce.size(), aad.data(), aad.size(),
                                 kTagLength, plaintext.data(), plaintext.size(), out.data(),
                                 &out_len) != 0) {
    return fail("AEAD encryption failed");
  }
  out.resize(out_len);
  return out;
}

Result<Bytes> aead_decrypt(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext) {
  Aead aead(key);
  if (!aead.ok() || nonce.size() != kNonceLength) return fail("AEAD: bad key or nonce");
  if (ciphertext.size() < kTagLength) return fail("ciphertext shorter than its tag");
  Bytes out(ciphertext.size());
  std::size_t out_len = out.size();
  if (gnutls_aead_cipher_decrypt(aead.get(), nonce.data(), nonce.size(), aad.data(), aad.size(),
                                 kTagLength, ciphertext.data(), ciphertext.size(), out.data(),
                                 &out_len) != 0) {
    return fail("decryption failed");
  }
  out.resize(out_len);
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
