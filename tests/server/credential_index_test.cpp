// The credential index both servers use for (D)TLS handshakes and Transport TS 5.2.6.
#include "server/credential_index.hpp"

#include <gtest/gtest.h>

namespace tether::server {
namespace {

Credentials psk(const std::string& ep, const std::string& identity, const std::string& key) {
  Credentials c;
  c.endpoint = ep;
  c.kind = Credentials::Kind::kPsk;
  c.psk_identity = identity;
  c.psk_key = to_bytes(key);
  return c;
}

PeerIdentity proved_psk(const std::string& identity) {
  PeerIdentity p;
  p.transport = "dtls";
  p.psk_identity = identity;
  return p;
}

TEST(CredentialIndex, HandshakeLookupsFollowPutAndRemove) {
  CredentialIndex index;
  index.put(psk("dev1", "id-1", "key-1"));
  EXPECT_EQ(index.psk_key_for(to_bytes("id-1")), to_bytes("key-1"));
  // A new identity for dev1 replaces the old one.
  index.put(psk("dev1", "id-2", "key-2"));
  EXPECT_FALSE(index.psk_key_for(to_bytes("id-1")));
  EXPECT_EQ(index.psk_key_for(to_bytes("id-2")), to_bytes("key-2"));
  Credentials rpk;
  rpk.endpoint = "dev2";
  rpk.kind = Credentials::Kind::kRpk;
  rpk.public_key = Bytes{1, 2, 3};
  index.put(rpk);
  EXPECT_TRUE(index.knows_public_key(Bytes{1, 2, 3}));
  EXPECT_FALSE(index.knows_public_key(Bytes{1, 2, 4}));
  EXPECT_TRUE(index.remove("dev1"));
  EXPECT_FALSE(index.remove("dev1"));
  EXPECT_FALSE(index.psk_key_for(to_bytes("id-2")));
  EXPECT_EQ(index.all().size(), 1u);
}

TEST(CredentialIndex, AnIdentityBelongsToOneEndpoint) {
  CredentialIndex index;
  index.put(psk("dev1", "shared", "key-1"));
  auto clash = index.check_unique(psk("dev2", "shared", "key-2"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(lwm2m::status_of(clash.error()), lwm2m::status::kConflict);
  EXPECT_TRUE(index.check_unique(psk("dev1", "shared", "key-3")));  // dev1's own: fine
  // Kinds never collide: a CN equal to a PSK identity is another identity.
  Credentials x509;
  x509.endpoint = "dev3";
  x509.kind = Credentials::Kind::kX509;
  x509.x509_common_name = "shared";
  EXPECT_TRUE(index.check_unique(x509));
}

TEST(CredentialIndex, AdmitsOnlyTheEndpointTheIdentityProves) {
  CredentialIndex index;
  index.put(psk("dev1", "id-1", "key-1"));
  EXPECT_TRUE(index.admit("dev1", proved_psk("id-1"), lwm2m::status::kForbidden));
  // Someone else's identity, or the right name over a plain channel.
  auto wrong = index.admit("dev1", proved_psk("id-9"), lwm2m::status::kForbidden);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(lwm2m::status_of(wrong.error()), lwm2m::status::kBadRequest);
  PeerIdentity plain;
  plain.transport = "udp";
  auto insecure = index.admit("dev1", plain, lwm2m::status::kForbidden);
  ASSERT_FALSE(insecure);
  EXPECT_EQ(lwm2m::status_of(insecure.error()), lwm2m::status::kForbidden);
  // Nothing on file for dev2: a plain peer may use the name, dev1's identity may not.
  EXPECT_TRUE(index.admit("dev2", plain, lwm2m::status::kForbidden));
  EXPECT_FALSE(index.admit("dev2", proved_psk("id-1"), lwm2m::status::kForbidden));
  // A certificate with nothing on file names its endpoint by its CN.
  PeerIdentity cert;
  cert.transport = "dtls";
  cert.certificate_cn = "dev5";
  EXPECT_EQ(index.endpoint_for(cert), "dev5");
  EXPECT_TRUE(index.admit("dev5", cert, lwm2m::status::kForbidden));
  EXPECT_FALSE(index.admit("dev6", cert, lwm2m::status::kForbidden));
  EXPECT_EQ(index.endpoint_for(proved_psk("id-1")), "dev1");
  EXPECT_FALSE(index.endpoint_for(proved_psk("id-9")));
}

// OSCORE inside DTLS: the endpoint proves both its PSK and its context; the context is an
// identity of its own, which no other endpoint may hold.
TEST(CredentialIndex, OscoreInsideDtlsNeedsBothIdentities) {
  CredentialIndex index;
  Credentials both = psk("dev1", "id-1", "key-1");
  both.oscore.master_secret = Bytes(16, 0x01);
  both.oscore.sender_id = {0xe1};
  both.oscore.recipient_id = {0xe2};
  index.put(both);
  PeerIdentity full = proved_psk("id-1");
  full.oscore = oscore_identity(Bytes{0xe1}, std::nullopt);
  EXPECT_TRUE(index.admit("dev1", full, lwm2m::status::kForbidden));
  EXPECT_EQ(index.endpoint_for(full), "dev1");
  EXPECT_FALSE(index.admit("dev1", proved_psk("id-1"), lwm2m::status::kForbidden));
  PeerIdentity other_context = proved_psk("id-1");
  other_context.oscore = oscore_identity(Bytes{0xe9}, std::nullopt);
  EXPECT_FALSE(index.admit("dev1", other_context, lwm2m::status::kForbidden));
  // Another endpoint with the same context (as its own mode or inside DTLS): 409.
  Credentials thief;
  thief.endpoint = "dev2";
  thief.kind = Credentials::Kind::kOscore;
  thief.oscore = both.oscore;
  auto clash = index.check_unique(thief);
  ASSERT_FALSE(clash);
  EXPECT_EQ(lwm2m::status_of(clash.error()), lwm2m::status::kConflict);
  index.remove("dev1");
  EXPECT_TRUE(index.check_unique(thief));
}

}  // namespace
}  // namespace tether::server
