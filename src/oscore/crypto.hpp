#pragma once
// The primitives OSCORE needs (RFC 8613 3.2 and 5.3), from GnuTLS, the library our (D)TLS
// already uses: HKDF-SHA-256 and AES-CCM-16-64-128 (COSE algorithm 10: 16-bit length
// field, 8-byte tag, 128-bit key, 13-byte nonce).
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::oscore {

inline constexpr int kAesCcm16_64_128 = 10;  // COSE algorithm of the default AEAD
inline constexpr int kHkdfSha256 = -10;      // COSE "direct+HKDF-SHA-256", the default HKDF
inline constexpr std::size_t kKeyLength = 16;
inline constexpr std::size_t kNonceLength = 13;
inline constexpr std::size_t kTagLength = 8;

// RFC 5869 extract-then-expand; an empty salt means HashLen zero bytes.
Result<Bytes> hkdf_sha256(ByteView salt, ByteView secret, ByteView info, std::size_t length);

Bytes sha256(ByteView data);

// Unpredictable bytes (Echo values), from GnuTLS's nonce generator.
Bytes random_bytes(std::size_t n);

// Ciphertext with the tag appended.
Result<Bytes> aead_encrypt(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);
// Fails when the tag does not verify (or the input is shorter than a tag). Any CCM nonce
// length (7 to 13 bytes) is taken: DTLS's AES-128-CCM-8 records use 12 (RFC 6655).
Result<Bytes> aead_decrypt(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext);
// AES-128-CCM with an 8-byte tag and a nonce of 7 to 13 bytes, written to `out`, which
// must hold exactly plaintext.size() + kTagLength bytes: a DTLS record seals in place.
Result<Ok> ccm8_seal_into(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext,
                          std::span<std::uint8_t> out);

}  // namespace tether::oscore
