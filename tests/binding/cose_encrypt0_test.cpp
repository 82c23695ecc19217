// Transport TS 8.6: COSE_Encrypt0 around MQTT payload maps. The vector was made by
// independent libraries (Python's cryptography AESCCM and cbor2), not by ours:
//   key 000102..0f, kid "dev1-cose", IV a0a1..ac, plaintext {1: 23, 2: 56, 19: 0, 7: '21.5'}
#include <gtest/gtest.h>

#include "binding/mqtt/cose_encrypt0.hpp"
#include "support/hex_bytes.hpp"

namespace tether::binding::mqtt {
namespace {

using test_support::hex;

const char* kPlaintext = "a401170218381300074432312e35";
const char* kSealed =
    "d08343a1010aa20449646576312d636f7365054da0a1a2a3a4a5a6a7a8a9aaabac56fdac57d66f960fe043d1a749"
    "9a8c6cae46bfbc0b9a42";

CoseKey the_key() {
  CoseKey k;
  k.kid = to_bytes("dev1-cose");
  k.key = hex("000102030405060708090a0b0c0d0e0f");
  return k;
}

TEST(CoseEncrypt0, SealsAsAnIndependentImplementationDoes) {
  auto sealed = seal_with_iv(the_key(), hex(kPlaintext), hex("a0a1a2a3a4a5a6a7a8a9aaabac"));
  ASSERT_TRUE(sealed) << sealed.error().reason;
  EXPECT_EQ(to_hex(*sealed), kSealed);
}

TEST(CoseEncrypt0, OpensWhatAnIndependentImplementationSealed) {
  const CoseKey key = the_key();
  auto opened = open(hex(kSealed), [&](ByteView kid) {
    return std::ranges::equal(kid, key.kid) ? &key : nullptr;
  });
  ASSERT_TRUE(opened) << opened.error().reason;
  EXPECT_EQ(to_hex(*opened), kPlaintext);
}

TEST(CoseEncrypt0, EachSealHasItsOwnIvAndOpensBack) {
  const CoseKey key = the_key();
  const Bytes plain = hex(kPlaintext);
  auto a = seal(key, plain);
  auto b = seal(key, plain);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // a fresh IV each time
  auto lookup = [&](ByteView) { return &key; };
  EXPECT_EQ(*open(*a, lookup), plain);
  EXPECT_EQ(*open(*b, lookup), plain);
}

TEST(CoseEncrypt0, TamperingWrongKeysAndGarbageAreRefused) {
  const CoseKey key = the_key();
  CoseKey other = key;
  other.key[0] ^= 1;
  // The kid is a hint, not authenticated: the lookup must match it exactly.
  auto mine = [&](ByteView kid) { return std::ranges::equal(kid, key.kid) ? &key : nullptr; };
  Bytes sealed = hex(kSealed);
  EXPECT_FALSE(open(sealed, [&](ByteView) { return &other; }));                    // wrong key
  EXPECT_FALSE(open(sealed, [](ByteView) -> const CoseKey* { return nullptr; }));  // unknown kid
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes altered = sealed;
    altered[i] ^= 0x01;
    EXPECT_FALSE(open(altered, mine)) << "byte " << i;
  }
  EXPECT_FALSE(open(hex(kPlaintext), mine));  // a plain map is not sealed
  EXPECT_FALSE(open({}, mine));
  CoseKey gcm = key;
  gcm.algorithm = 1;  // A128GCM: not supported, said at configuration
  EXPECT_FALSE(check_cose_key(gcm));
  EXPECT_FALSE(seal(gcm, hex(kPlaintext)));
}

}  // namespace
}  // namespace tether::binding::mqtt
