#pragma once
// Transport TS 8.6 and the LwM2M COSE object (ID 23): an MQTT payload map sealed in a
// COSE_Encrypt0 (RFC 9052 5.2, tagged 16) so the broker, and any subscriber without the
// key, sees ciphertext only. AES-CCM-16-64-128 (COSE algorithm 10, the OSCORE default) from
// GnuTLS through oscore/crypto; the protected header names the algorithm, the unprotected
// one the kid and a fresh random 13-byte IV per message.
#include <functional>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::binding::mqtt {

struct CoseKey {
  Bytes kid;           // /23/x/0
  Bytes key;           // /23/x/2: 16 bytes for algorithm 10
  int algorithm = 10;  // /23/x/1
};

// Ok for a key we can use: algorithm 10 and a 16-byte key.
Result<Ok> check_cose_key(const CoseKey& key);

Result<Bytes> seal(const CoseKey& key, ByteView plaintext);
// With a given IV: for tests against vectors made elsewhere; never reuse an IV with a key.
Result<Bytes> seal_with_iv(const CoseKey& key, ByteView plaintext, ByteView iv);

// The key a kid names, or nullptr.
using CoseKeyLookup = std::function<const CoseKey*(ByteView kid)>;
// Strict: the tag (optional), three items, the algorithm of the key the kid names, a 13-byte
// IV, a tag that verifies. Fails without saying which (an attacker learns nothing).
Result<Bytes> open(ByteView sealed, const CoseKeyLookup& lookup);

}  // namespace tether::binding::mqtt
