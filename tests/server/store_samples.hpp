#pragma once
// Records every store test uses (each field set, each optional empty, binary tokens, escaped
// attributes, every credential kind) and readers that fail the test on a store error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "server/store/server_store.hpp"
#include "support/hex_bytes.hpp"

namespace tether::server::store_samples {

using test_support::hex;

// A fresh directory per test, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    static unsigned counter = 0;
    std::random_device random;
    do {
      path_ = std::filesystem::temp_directory_path() /
              ("tether-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
               "-" + std::to_string(random()));
    } while (!std::filesystem::create_directory(path_));
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The same list without its last object (a registration's list is shared, so it is edited
// as a copy).
inline SharedPayload without_last_object(const SharedPayload& p) {
  auto objects = *p;
  objects.objects.pop_back();
  return objects;
}

// Every field set, objects under an alternate path with versions and content formats.
inline Registration full_registration() {
  Registration r;
  r.id = "a1b2c3";
  r.endpoint = "urn:dev:os:0023C7-000001";
  r.version = "1.2";
  r.binding = "UQ";
  r.queue_mode = true;
  r.lifetime = 4294967295U;
  r.sms = "+15555550100";
  r.profile_id = "tracker";
  lwm2m::format::link_format::RegistrationPayload objects;
  objects.alternate_path = "/lwm2m";
  objects.alternate_path_link = true;
  objects.content_formats = {60, 110, 112};
  objects.objects = {{1, "1.1", {0}}, {3, "", {0}}, {5, "", {}}, {3303, "1.0", {0, 1, 7}}};
  r.objects = std::move(objects);
  r.transport = "dtls";
  r.address = "[::1]:56830";
  r.identity = "psk:6465762d31";
  r.registered_at = 1'700'000'000'000;
  r.updated_at = 1'700'000'060'000;
  return r;
}

// Optional fields empty, no objects at all.
inline Registration minimal_registration(const std::string& endpoint) {
  Registration r;
  r.id = "id-" + endpoint;
  r.endpoint = endpoint;
  r.transport = "tcp";
  r.address = "127.0.0.1:40000";
  r.registered_at = 1000;
  r.updated_at = 2000;
  return r;
}

inline ObservationRecord observation(const std::string& id, const std::string& endpoint) {
  ObservationRecord o;
  o.id = id;
  o.endpoint = endpoint;
  o.registration_id = "id-" + endpoint;
  o.paths = {lwm2m::Path{3, 0, 1}};
  o.token = hex("01 02 03 04");
  o.created_at = 5000;
  return o;
}

// Observe-Composite with a binary token and attributes that need escaping.
inline ObservationRecord composite_observation(const std::string& endpoint) {
  ObservationRecord o;
  o.id = "obs-composite";
  o.endpoint = endpoint;
  o.registration_id = "a1b2c3";
  o.paths = {lwm2m::Path{3, 0, 1}, lwm2m::Path{3303, 0, 5700}, lwm2m::Path{1}, lwm2m::Path{}};
  o.composite = true;
  o.accept = 112;
  o.attributes = {"pmin=10", "pmax=60", "odd&value=50%25"};
  o.token = hex("00 ff 00 7a 00 00 00 01");
  o.created_at = 1'700'000'000'123;
  return o;
}

inline Credentials psk(const std::string& endpoint) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kPsk;
  c.psk_identity = "identity-" + endpoint;
  c.psk_key = hex("00 11 22 00 ff");
  return c;
}

inline Credentials rpk(const std::string& endpoint) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kRpk;
  c.public_key = hex("30 59 30 13 06 07 2a 86 48 ce 3d 02 01 00 00");
  return c;
}

inline Credentials x509(const std::string& endpoint, const std::string& common_name) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kX509;
  c.x509_common_name = common_name;
  return c;
}

inline Credentials oscore(const std::string& endpoint) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kOscore;
  c.oscore.master_secret = hex("01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10");
  c.oscore.master_salt = hex("9e 7c a9 22 23 78 63 40");
  c.oscore.sender_id = hex("01");
  c.oscore.recipient_id = {};  // empty IDs are allowed (RFC 8613 3.3)
  c.oscore.id_context = hex("37 cb f3 21 00 17 a2 d3");
  c.oscore.sequence_bound = 640;
  return c;
}

inline std::vector<Registration> registrations(ServerStore& store) {
  auto loaded = store.load_registrations();
  EXPECT_TRUE(loaded) << loaded.error().reason;
  return loaded ? *loaded : std::vector<Registration>{};
}

inline std::vector<ObservationRecord> observations(ServerStore& store) {
  auto loaded = store.load_observations();
  EXPECT_TRUE(loaded) << loaded.error().reason;
  return loaded ? *loaded : std::vector<ObservationRecord>{};
}

inline std::vector<Credentials> credentials(ServerStore& store) {
  auto loaded = store.load_credentials();
  EXPECT_TRUE(loaded) << loaded.error().reason;
  return loaded ? *loaded : std::vector<Credentials>{};
}

inline std::vector<std::string> observation_ids(ServerStore& store) {
  std::vector<std::string> ids;
  for (const auto& o : observations(store)) ids.push_back(o.id);
  return ids;
}

}  // namespace tether::server::store_samples
