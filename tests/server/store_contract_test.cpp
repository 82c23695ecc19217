// The ServerStore contract, run against every store (memory, SQLite, Redis) so that they
// stay equivalent; and random operations with restarts on the durable ones, mirrored on the
// memory store.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server/store/memory/memory_store.hpp"
#include "server/store/redis/redis_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "store_samples.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace tether::server {
namespace {

using namespace store_samples;  // NOLINT(google-build-using-namespace)

enum class StoreKind { kMemory, kSqlite, kRedis, kRedisCluster };

// One redis-server for the whole program, started on first use.
testing::RedisServer& shared_redis() {
  static testing::RedisServer redis;
  return redis;
}

// One Redis Cluster (three primaries) for the whole program, started on first use.
testing::RedisCluster& shared_cluster() {
  static testing::RedisCluster cluster;
  return cluster;
}

// Opens stores of one kind on the same data: reopening one is a restart of the same node.
class Stores {
 public:
  std::unique_ptr<ServerStore> open(StoreKind kind) {
    switch (kind) {
      case StoreKind::kMemory:
        return std::make_unique<MemoryStore>();
      case StoreKind::kSqlite: {
        auto store = SqliteStore::open(dir_.file("server.db"));
        if (!store) ADD_FAILURE() << store.error().reason;
        return store ? std::move(*store) : nullptr;
      }
      case StoreKind::kRedis: {
        // Each test starts from an empty Redis (started only by tests that use it).
        if (!flushed_) (void)shared_redis().command({"FLUSHALL"});
        flushed_ = true;
        return open_redis(shared_redis().url());
      }
      case StoreKind::kRedisCluster: {
        if (!flushed_) shared_cluster().flush_all();
        flushed_ = true;
        return open_redis(shared_cluster().url());
      }
    }
    return nullptr;
  }

 private:
  static std::unique_ptr<ServerStore> open_redis(const std::string& url) {
    auto address = RedisStore::parse_url(url);
    if (!address) ADD_FAILURE() << address.error().reason;
    auto store = address ? RedisStore::open(*address, {.node = "this-node"})
                         : Result<std::unique_ptr<RedisStore>>(address.error());
    if (!store) ADD_FAILURE() << store.error().reason;
    return store ? std::move(*store) : nullptr;
  }

  TempDir dir_;
  bool flushed_ = false;
};

class DurableStore : public ::testing::TestWithParam<StoreKind> {};

// Random saves, removes, flushes and restarts on a few keys, mirrored on a MemoryStore:
// whatever the mix of pending and stored state, both must load the same.
// `tether server --store memory`: nothing outlives the process, so only what the server
// reads back while it runs (credentials) is kept.
TEST(MemoryStore, KeepingCredentialsOnlyHoldsNoRegistrationOrObservation) {
  MemoryStore store(MemoryStore::Keeps::kCredentialsOnly);
  Registration r = full_registration();
  ASSERT_TRUE(store.save_registration(r));
  r.lifetime = 77;
  ASSERT_TRUE(store.save_update(r, false));
  ASSERT_TRUE(store.save_observation(observation("o1", r.endpoint)));
  ASSERT_TRUE(store.save_credentials(psk("dev1")));
  EXPECT_TRUE(registrations(store).empty());
  EXPECT_TRUE(observations(store).empty());
  ASSERT_EQ(credentials(store).size(), 1u);
  EXPECT_EQ(credentials(store)[0].endpoint, "dev1");
  ASSERT_TRUE(store.remove_registration(r.endpoint));
  ASSERT_TRUE(store.remove_credentials("dev1"));
  EXPECT_TRUE(credentials(store).empty());
}

TEST_P(DurableStore, RandomOperationsMatchTheMemoryStore) {
  Stores stores;
  auto durable = stores.open(GetParam());
  ASSERT_TRUE(durable);
  MemoryStore memory;
  std::mt19937 random(20240611);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> endpoints = {"a", "b", "c", "d"};
  const std::vector<std::string> ids = {"o1", "o2", "o3", "o4", "o5", "o6"};

  for (int step = 0; step < 3000; ++step) {
    const auto& endpoint = endpoints[static_cast<std::size_t>(pick(4))];
    const std::size_t which = static_cast<std::size_t>(pick(6));
    const auto& id = ids[which];
    // An observation ID belongs to one endpoint for its life (ServerStore::remove_observation).
    const auto& observed = endpoints[which % endpoints.size()];
    std::function<Result<Ok>(ServerStore&)> op;
    switch (pick(10)) {
      case 0:
      case 1: {
        auto r = minimal_registration(endpoint);
        r.updated_at = step;
        op = [r](ServerStore& s) { return s.save_registration(r); };
        break;
      }
      case 2:
        op = [endpoint](ServerStore& s) { return s.remove_registration(endpoint); };
        break;
      case 3:
      case 4: {
        auto o = observation(id, observed);
        o.created_at = step;
        op = [o](ServerStore& s) { return s.save_observation(o); };
        break;
      }
      case 5:
        op = [&observed, id](ServerStore& s) { return s.remove_observation(observed, id); };
        break;
      case 6: {
        auto c = psk(endpoint);
        c.psk_key.push_back(static_cast<std::uint8_t>(step));
        op = [c](ServerStore& s) { return s.save_credentials(c); };
        break;
      }
      case 7:
        op = [endpoint](ServerStore& s) { return s.remove_credentials(endpoint); };
        break;
      case 8: {
        // An Update of a registration the stores hold: a few fields, sometimes the objects.
        auto held = memory.load_registrations();
        ASSERT_TRUE(held);
        auto it = std::find_if(held->begin(), held->end(),
                               [&](const Registration& r) { return r.endpoint == endpoint; });
        if (it == held->end()) continue;
        Registration r = *it;
        r.lifetime = static_cast<std::uint32_t>(step);
        r.address = "127.0.0.1:" + std::to_string(step);
        r.updated_at = step;
        const bool objects_changed = pick(3) == 0;
        if (objects_changed) {
          auto objects = *r.objects;
          objects.objects.push_back({static_cast<std::uint16_t>(step), "", {0}});
          r.objects = std::move(objects);
        }
        op = [r, objects_changed](ServerStore& s) { return s.save_update(r, objects_changed); };
        break;
      }
      default:
        if (pick(4) == 0) {
          durable.reset();
          durable = stores.open(GetParam());
          ASSERT_TRUE(durable);
        } else {
          ASSERT_TRUE(durable->flush());
        }
        continue;
    }
    ASSERT_TRUE(op(memory));
    ASSERT_TRUE(op(*durable));
    if (step % 37 == 0) {
      ASSERT_EQ(registrations(*durable), registrations(memory)) << "step " << step;
      ASSERT_EQ(observations(*durable), observations(memory)) << "step " << step;
      ASSERT_EQ(credentials(*durable), credentials(memory)) << "step " << step;
    }
  }
  durable.reset();
  durable = stores.open(GetParam());
  ASSERT_TRUE(durable);
  EXPECT_EQ(registrations(*durable), registrations(memory));
  EXPECT_EQ(observations(*durable), observations(memory));
  EXPECT_EQ(credentials(*durable), credentials(memory));
}

// The ServerStore contract, for every implementation.
class StoreContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    store_ = stores_.open(GetParam());
    ASSERT_TRUE(store_);
  }
  ServerStore& store() { return *store_; }

 private:
  Stores stores_;
  std::unique_ptr<ServerStore> store_;
};

TEST_P(StoreContract, SavesLoadsAndRemovesEachKind) {
  EXPECT_TRUE(registrations(store()).empty());
  EXPECT_TRUE(observations(store()).empty());
  EXPECT_TRUE(credentials(store()).empty());

  ASSERT_TRUE(store().save_registration(minimal_registration("b")));
  ASSERT_TRUE(store().save_registration(full_registration()));
  ASSERT_TRUE(store().save_observation(observation("o2", "b")));
  ASSERT_TRUE(store().save_observation(composite_observation("b")));
  ASSERT_TRUE(store().save_credentials(rpk("b")));
  ASSERT_TRUE(store().save_credentials(psk("a")));
  ASSERT_TRUE(store().save_credentials(oscore("c")));
  // OSCORE inside DTLS: a PSK and a context for one endpoint.
  Credentials both = psk("d");
  both.oscore = oscore("d").oscore;
  ASSERT_TRUE(store().save_credentials(both));
  EXPECT_EQ(credentials(store()).back(), both);
  Credentials cert;  // an X.509 certificate with the default CN, and OSCORE inside
  cert.endpoint = "e";
  cert.kind = Credentials::Kind::kX509;
  cert.oscore = oscore("e").oscore;
  cert.oscore.sender_id = hex("0e");
  ASSERT_TRUE(store().save_credentials(cert));
  EXPECT_EQ(credentials(store()).back(), cert);  // the CN stays empty (the endpoint's name)
  ASSERT_TRUE(store().remove_credentials("d"));
  ASSERT_TRUE(store().remove_credentials("e"));
  EXPECT_EQ(registrations(store()),
            (std::vector<Registration>{minimal_registration("b"), full_registration()}));
  EXPECT_EQ(observations(store()),
            (std::vector<ObservationRecord>{observation("o2", "b"), composite_observation("b")}));
  EXPECT_EQ(credentials(store()), (std::vector<Credentials>{psk("a"), rpk("b"), oscore("c")}));

  ASSERT_TRUE(store().remove_registration(full_registration().endpoint));
  ASSERT_TRUE(store().remove_observation("b", "o2"));
  ASSERT_TRUE(store().remove_credentials("a"));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), std::vector<Registration>{minimal_registration("b")});
  EXPECT_EQ(observations(store()), std::vector<ObservationRecord>{composite_observation("b")});
  EXPECT_EQ(credentials(store()), (std::vector<Credentials>{rpk("b"), oscore("c")}));
}

TEST_P(StoreContract, SavingAgainReplaces) {
  auto r = minimal_registration("a");
  ASSERT_TRUE(store().save_registration(r));
  r.lifetime = 60;
  ASSERT_TRUE(store().save_registration(r));
  auto o = observation("o1", "a");
  ASSERT_TRUE(store().save_observation(o));
  o.paths.push_back(lwm2m::Path{3, 0, 2});
  ASSERT_TRUE(store().save_observation(o));
  ASSERT_TRUE(store().save_credentials(psk("a")));
  ASSERT_TRUE(store().save_credentials(x509("a", "a.example")));
  EXPECT_EQ(registrations(store()), std::vector<Registration>{r});
  EXPECT_EQ(observations(store()), std::vector<ObservationRecord>{o});
  EXPECT_EQ(credentials(store()), std::vector<Credentials>{x509("a", "a.example")});
}

// Core TS 6.2.2: an Update changes only what it carries; the object list stays unless sent.
TEST_P(StoreContract, AnUpdateRewritesItsFieldsAndKeepsTheObjectList) {
  const auto registered = full_registration();
  auto updated = registered;
  updated.lifetime = 300;
  updated.binding = "T";
  updated.queue_mode = false;
  updated.sms.reset();
  updated.profile_id = "meter";
  updated.transport = "tls";
  updated.address = "[::1]:40999";
  updated.identity = "x509:dev";
  updated.updated_at += 5000;
  // Over a row already written, then over one still pending.
  ASSERT_TRUE(store().save_registration(registered));
  ASSERT_TRUE(store().flush());
  ASSERT_TRUE(store().save_update(updated, false));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), std::vector<Registration>{updated});
  auto other = minimal_registration("b");
  ASSERT_TRUE(store().save_registration(other));
  other.lifetime = 77;
  ASSERT_TRUE(store().save_update(other, false));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), (std::vector<Registration>{other, updated}));
  // With a new object list, the list is written too.
  updated.objects = without_last_object(updated.objects);
  ASSERT_TRUE(store().save_update(updated, true));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), (std::vector<Registration>{other, updated}));
}

TEST_P(StoreContract, RemovingARegistrationTakesOnlyItsObservations) {
  ASSERT_TRUE(store().save_registration(minimal_registration("a")));
  ASSERT_TRUE(store().save_registration(minimal_registration("b")));
  ASSERT_TRUE(store().save_observation(observation("a1", "a")));
  ASSERT_TRUE(store().save_observation(observation("b1", "b")));
  ASSERT_TRUE(store().save_credentials(psk("a")));
  ASSERT_TRUE(store().remove_registration("a"));
  EXPECT_EQ(registrations(store()), std::vector<Registration>{minimal_registration("b")});
  EXPECT_EQ(observation_ids(store()), std::vector<std::string>{"b1"});
  EXPECT_EQ(credentials(store()), std::vector<Credentials>{psk("a")});
}

// RFC 8613 B.1.1: an OSCORE context's Sender Sequence Numbers are reserved from the stored
// bound, which only grows, and the rest of the credentials stay as they are stored now.
TEST_P(StoreContract, ReservesOscoreSequenceNumbersFromTheStoredBound) {
  ASSERT_TRUE(store().save_credentials(oscore("c")));  // bound 640
  ASSERT_TRUE(store().save_credentials(psk("a")));
  auto first = store().reserve_sequences("c", 0, 64);
  ASSERT_TRUE(first) << first.error().reason;
  EXPECT_EQ(*first, 640u);
  EXPECT_EQ(*store().reserve_sequences("c", 100, 64), 704u);  // past the last reservation
  EXPECT_EQ(*store().reserve_sequences("c", 5000, 64), 5000u);
  auto stored = store().load_credentials_of("c");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->oscore.sequence_bound, 5064u);
  // New keys written meanwhile are kept: the reservation changes the bound only.
  Credentials rekeyed = oscore("c");
  rekeyed.oscore.master_secret = hex("ff ee dd cc bb aa 99 88 77 66 55 44 33 22 11 00");
  rekeyed.oscore.sequence_bound = 5064;
  ASSERT_TRUE(store().save_credentials(rekeyed));
  EXPECT_EQ(*store().reserve_sequences("c", 0, 64), 5064u);
  stored = store().load_credentials_of("c");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->oscore.master_secret, rekeyed.oscore.master_secret);
  EXPECT_EQ((*stored)->oscore.sequence_bound, 5128u);
  // Nothing to reserve for credentials without a context, or none at all.
  EXPECT_FALSE(store().reserve_sequences("a", 0, 64));
  EXPECT_FALSE(store().reserve_sequences("nobody", 0, 64));
  ASSERT_TRUE(store().remove_credentials("c"));
  stored = store().load_credentials_of("c");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);
}

TEST_P(StoreContract, RemovingWhatIsNotThereIsFine) {
  EXPECT_TRUE(store().remove_registration("nobody"));
  EXPECT_TRUE(store().remove_observation("nobody", "nothing"));
  EXPECT_TRUE(store().remove_credentials("nobody"));
  EXPECT_TRUE(store().flush());
  EXPECT_TRUE(registrations(store()).empty());
  EXPECT_TRUE(observations(store()).empty());
  EXPECT_TRUE(credentials(store()).empty());
}

std::string store_name(const ::testing::TestParamInfo<StoreKind>& param) {
  switch (param.param) {
    case StoreKind::kMemory:
      return "Memory";
    case StoreKind::kSqlite:
      return "Sqlite";
    case StoreKind::kRedis:
      return "Redis";
    case StoreKind::kRedisCluster:
      return "RedisCluster";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kSqlite,
                                           StoreKind::kRedis, StoreKind::kRedisCluster),
                         store_name);
INSTANTIATE_TEST_SUITE_P(Stores, DurableStore,
                         ::testing::Values(StoreKind::kSqlite, StoreKind::kRedis,
                                           StoreKind::kRedisCluster),
                         store_name);

}  // namespace
}  // namespace tether::server
