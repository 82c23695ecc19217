// The Redis store against a real redis-server started by the test: the key layout an
// operator reads, a Redis that refuses writes (nothing half written), a restart of Redis
// (the store connects again), a password, and what it refuses to read.
#include "server/store/redis/redis_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/store/redis/redis_slots.hpp"
#include "store_samples.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace tether::server {
namespace {

using namespace store_samples;  // NOLINT(google-build-using-namespace)
using testing::RedisServer;

std::unique_ptr<RedisStore> open_store(const std::string& url, const std::string& node = {}) {
  auto address = RedisStore::parse_url(url);
  if (!address) {
    ADD_FAILURE() << address.error().reason;
    return nullptr;
  }
  // A heartbeat that outlives any test step, and claims without the wait after an outage.
  RedisStore::Options options;
  options.node = node;
  options.alive_for = std::chrono::seconds(120);
  options.claim_after = std::chrono::milliseconds(0);
  auto store = RedisStore::open(*address, options);
  if (!store) ADD_FAILURE() << store.error().reason;
  return store ? std::move(*store) : nullptr;
}

TEST(RedisStore, ReadsItsUrl) {
  auto a = RedisStore::parse_url("redis://cache.example:6380/3");
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_EQ(a->host, "cache.example");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->database, 3);
  EXPECT_EQ(a->password, "");
  a = RedisStore::parse_url("redis://:s3cret@[::1]");
  ASSERT_TRUE(a) << a.error().reason;
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 6379);
  EXPECT_EQ(a->password, "s3cret");
  // What a message shows never carries the password.
  EXPECT_EQ(a->text(), "[::1]:6379/0");
  // Sentinel-managed: the sentinels (26379 unless given), then the primary's name.
  a = RedisStore::parse_url("redis+sentinel://:pw@s1,[::1]:26380/tether-primary/2");
  ASSERT_TRUE(a) << a.error().reason;
  ASSERT_EQ(a->sentinels.size(), 2U);
  EXPECT_EQ(a->sentinels[0].host, "s1");
  EXPECT_EQ(a->sentinels[0].port, 26379);
  EXPECT_EQ(a->sentinels[1].host, "::1");
  EXPECT_EQ(a->sentinels[1].port, 26380);
  EXPECT_EQ(a->primary_name, "tether-primary");
  EXPECT_EQ(a->database, 2);
  EXPECT_EQ(a->password, "pw");
  EXPECT_EQ(a->url(), "redis+sentinel://s1:26379,[::1]:26380/tether-primary/2");
  auto c = RedisStore::parse_url("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002/0");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->cluster());
  ASSERT_EQ(c->seeds.size(), 3U);
  EXPECT_EQ(c->seeds[1].text(), "10.0.0.2:6379");
  EXPECT_EQ(c->seeds[2].text(), "[::1]:7002");
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->url(), "redis+cluster://10.0.0.1:7000,10.0.0.2:6379,[::1]:7002");
  for (const char* bad :
       {"http://host", "redis://", "redis://host:0", "redis://host:65536", "redis://host:port",
        "redis://host/x", "redis://[::1", "redis://user:pw@host", "redis://host:1/-1",
        "redis+sentinel://s1", "redis+sentinel:///name", "redis+sentinel://s1/",
        "redis+sentinel://s1,/name", "redis+sentinel://s1/name/x", "redis+cluster://",
        "redis+cluster://a,", "redis+cluster://a:1/2", "redis+cluster://a:0"}) {
    EXPECT_FALSE(RedisStore::parse_url(bad)) << bad;
  }
}

// The cluster specification's own example, and Redis's answers to CLUSTER KEYSLOT.
TEST(RedisSlots, AreTheClusterSpecificationsCrc16OfTheHashTag) {
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % kRedisSlots);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("tether:{foo}:reg"), 12182);
  EXPECT_EQ(key_slot("{}foo"), key_slot("{}foo"));  // an empty tag: the whole key
  EXPECT_NE(key_slot("{}foo"), key_slot("foo"));
  EXPECT_EQ(key_slot("a{b}{c}"), key_slot("b"));
  for (std::uint16_t slot = 0; slot < kRedisSlots; ++slot) {
    ASSERT_EQ(key_slot(key_in_slot(slot, "tether:", ":registrations")), slot);
  }
}

// docs/redis.md: what an operator finds with redis-cli.
TEST(RedisStore, KeepsEachEndpointsRecordsUnderItsHashTag) {
  RedisServer redis;
  auto store = open_store(redis.url());
  ASSERT_TRUE(store);
  const auto r = full_registration();
  ASSERT_TRUE(store->save_registration(r));
  ASSERT_TRUE(store->save_observation(composite_observation(r.endpoint)));
  ASSERT_TRUE(store->save_credentials(psk(r.endpoint)));
  ASSERT_TRUE(store->flush());
  const std::string tag = "tether:{" + r.endpoint + "}:";
  EXPECT_EQ(redis.command({"HGET", tag + "reg", "lifetime"}), "4294967295");
  EXPECT_EQ(redis.command({"HGET", tag + "reg", "id"}), r.id);
  EXPECT_EQ(redis.command({"HGET", tag + "reg", "objects"}).substr(0, 9), "</lwm2m>;");
  EXPECT_EQ(redis.command({"HKEYS", tag + "obs"}), "obs-composite");
  EXPECT_EQ(redis.command({"HGET", tag + "cred", "kind"}), "psk");
  // The indexes are split by slot, each part in the slot of the endpoints it lists.
  const std::string registered = key_in_slot_of(tag + "reg", "tether:", ":registrations");
  EXPECT_EQ(key_slot(registered), key_slot(tag + "reg"));
  EXPECT_EQ(redis.command({"SMEMBERS", registered}), r.endpoint);
  EXPECT_EQ(redis.command({"SMEMBERS", key_in_slot_of(tag + "cred", "tether:", ":credentials")}),
            r.endpoint);
  EXPECT_EQ(redis.command({"SMEMBERS", key_in_slot_of(tag + "obs", "tether:", ":observed")}),
            r.endpoint);
  EXPECT_EQ(redis.command({"HGETALL", "tether:ids"}), r.id + "\n" + r.endpoint);
  EXPECT_EQ(redis.command({"SMEMBERS", "tether:index-slots"}),
            std::to_string(key_slot(tag + "reg")));
  EXPECT_EQ(redis.command({"GET", "tether:schema"}), "3");

  // An Update rewrites its fields only; a De-register takes the observations with it.
  auto updated = r;
  updated.lifetime = 60;
  updated.sms.reset();
  ASSERT_TRUE(store->save_update(updated, false));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(redis.command({"HGET", tag + "reg", "lifetime"}), "60");
  EXPECT_EQ(redis.command({"HEXISTS", tag + "reg", "sms"}), "0");
  ASSERT_TRUE(store->remove_registration(r.endpoint));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(redis.command({"EXISTS", tag + "reg", tag + "obs"}), "0");
  EXPECT_EQ(redis.command({"SMEMBERS", registered}), "");
  EXPECT_EQ(redis.command({"HLEN", "tether:ids"}), "0");
  EXPECT_EQ(redis.command({"EXISTS", tag + "cred"}), "1");  // credentials are the operator's
}

// A restart of a node loads what it wrote; an Update of a registration removed meanwhile
// (by the node that took it over) does not bring it back half made.
TEST(RedisStore, ARestartedNodeLoadsItsRegistrationsAndALateUpdateRecreatesNothing) {
  RedisServer redis;
  auto a = open_store(redis.url(), "a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->save_registration(minimal_registration("dev")));
  ASSERT_TRUE(a->flush());
  auto restarted = open_store(redis.url(), "a");
  ASSERT_TRUE(restarted);
  EXPECT_EQ(registrations(*restarted), std::vector<Registration>{minimal_registration("dev")});
  auto b = open_store(redis.url(), "b");
  ASSERT_TRUE(b);
  auto taken = b->take_registration(minimal_registration("dev"));  // the device moved to B
  ASSERT_TRUE(taken && *taken);
  ASSERT_TRUE(b->remove_registration("dev"));
  ASSERT_TRUE(b->flush());
  auto late = minimal_registration("dev");
  late.lifetime = 99;
  ASSERT_TRUE(a->save_update(late, false));
  ASSERT_TRUE(a->flush());
  EXPECT_TRUE(registrations(*a).empty());
  EXPECT_EQ(redis.command({"EXISTS", "tether:{dev}:reg"}), "0");
}

// Issue 22: a Redis that refuses writes (maxmemory reached) fails the flush with its reason,
// leaves no registration half written, and keeps the writes for when it takes them again.
TEST(RedisStore, ARedisThatRefusesWritesFailsTheFlushAndLeavesNothingHalfWritten) {
  RedisServer redis;
  auto store = open_store(redis.url());
  ASSERT_TRUE(store);
  const auto before = minimal_registration("old");
  ASSERT_TRUE(store->save_registration(before));
  ASSERT_TRUE(store->flush());
  ASSERT_EQ(redis.command({"CONFIG", "SET", "maxmemory", "1"}), "OK");
  // A Register again over a stored one: replaced whole or not at all.
  auto again = before;
  again.id = "new-id";
  ASSERT_TRUE(store->save_registration(again));
  ASSERT_TRUE(store->save_registration(full_registration()));
  ASSERT_TRUE(store->save_credentials(psk("dev")));
  auto flushed = store->flush();
  ASSERT_FALSE(flushed);
  EXPECT_NE(flushed.error().reason.find("OOM"), std::string::npos) << flushed.error().reason;
  EXPECT_NE(flushed.error().reason.find(redis.url().substr(8)), std::string::npos)
      << flushed.error().reason;
  EXPECT_EQ(redis.command({"KEYS", "tether:{[a-z]*"}), "tether:{old}:reg");
  EXPECT_EQ(redis.command({"HGET", "tether:{old}:reg", "id"}), before.id);
  EXPECT_EQ(redis.command({"HLEN", "tether:{old}:reg"}), "12");  // with its owner
  EXPECT_EQ(redis.command({"SMEMBERS", key_in_slot_of("{old}", "tether:", ":registrations")}),
            "old");
  EXPECT_EQ(redis.command({"HKEYS", "tether:ids"}), before.id);

  ASSERT_EQ(redis.command({"CONFIG", "SET", "maxmemory", "0"}), "OK");
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(registrations(*store), (std::vector<Registration>{again, full_registration()}));
  // The replaced ID left the index of IDs.
  EXPECT_EQ(redis.command({"HGET", "tether:ids", before.id}), "(nil)");
  EXPECT_EQ(redis.command({"HGET", "tether:ids", "new-id"}), "old");
  EXPECT_EQ(credentials(*store), std::vector<Credentials>{psk("dev")});
}

// Redis restarted (its append-only file keeps the data): the store's next flush connects
// again, loads its script again, and nothing written before or after is lost. While Redis
// is away a flush fails within the timeout and keeps the writes.
// A Redis restarted without its data (no persistence) under a running store: what is
// written after it is listed where a restarted node looks (the slots in use, again).
TEST(RedisStore, ListsItsSlotsAgainAfterRedisLostItsData) {
  RedisServer redis;
  auto store = open_store(redis.url(), "a");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_registration(minimal_registration("dev")));
  ASSERT_TRUE(store->flush());
  redis.stop();
  redis.start();
  auto again = minimal_registration("dev");
  again.id = "id-again";
  ASSERT_TRUE(store->save_registration(again));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!store->flush() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto restarted = open_store(redis.url(), "a");
  ASSERT_TRUE(restarted);
  EXPECT_EQ(registrations(*restarted), std::vector<Registration>{again});
}

TEST(RedisStore, ConnectsAgainAfterRedisRestarts) {
  RedisServer redis(/*persistent=*/true);
  auto store = open_store(redis.url());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_registration(minimal_registration("dev")));
  ASSERT_TRUE(store->flush());
  redis.stop();
  auto updated = minimal_registration("dev");
  updated.lifetime = 120;
  ASSERT_TRUE(store->save_update(updated, false));
  const auto started = std::chrono::steady_clock::now();
  auto flushed = store->flush();
  EXPECT_FALSE(flushed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  redis.start();
  // The store waits a second after a failed connect before it tries again.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!store->flush() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(registrations(*store), std::vector<Registration>{updated});

  // A restart while connected: the first write finds the old connection gone.
  redis.stop();
  redis.start();
  updated.lifetime = 240;
  ASSERT_TRUE(store->save_update(updated, false));
  const auto again = store->flush();
  ASSERT_TRUE(again) << again.error().reason;
  EXPECT_EQ(registrations(*store), std::vector<Registration>{updated});
}

// Several nodes on one Redis: at start a node loads its own registrations, never another
// node's; another node's is found by its ID (with its observations) and taken when its
// device reaches this node, and only the node holding a registration updates or removes it.
TEST(RedisStore, NodesShareARedisEachWithItsOwnRegistrations) {
  RedisServer redis;
  auto a = open_store(redis.url(), "a");
  auto b = open_store(redis.url(), "b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->save_registration(minimal_registration("on-a")));
  ASSERT_TRUE(a->save_observation(observation("o1", "on-a")));
  ASSERT_TRUE(a->flush());  // also A's heartbeat
  ASSERT_TRUE(b->save_registration(minimal_registration("on-b")));
  ASSERT_TRUE(b->flush());
  EXPECT_EQ(redis.command({"HGET", "tether:{on-a}:reg", "owner"}), "a");
  EXPECT_EQ(redis.command({"SISMEMBER", "tether:nodes", "a"}), "1");
  EXPECT_EQ(redis.command({"SISMEMBER", "tether:nodes", "b"}), "1");

  // A node started while both live takes neither; B restarted takes its own.
  auto c = open_store(redis.url(), "c");
  ASSERT_TRUE(c);
  EXPECT_TRUE(registrations(*c).empty());
  EXPECT_TRUE(observations(*c).empty());
  b.reset();
  b = open_store(redis.url(), "b");
  EXPECT_EQ(registrations(*b), std::vector<Registration>{minimal_registration("on-b")});

  // A running node finds another's registration by its ID, with its observations.
  auto found = c->find_registration("id-on-a");
  ASSERT_TRUE(found) << found.error().reason;
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->registration, minimal_registration("on-a"));
  EXPECT_EQ((*found)->observations, std::vector<ObservationRecord>{observation("o1", "on-a")});
  auto none = c->find_registration("no-such-id");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  // Before C takes it, C's Update changes nothing; once taken, A's stale copy can neither
  // update nor end it; C can.
  auto updated = minimal_registration("on-a");
  updated.lifetime = 77;
  ASSERT_TRUE(c->save_update(updated, false));
  ASSERT_TRUE(c->flush());
  EXPECT_EQ(redis.command({"HGET", "tether:{on-a}:reg", "lifetime"}), "86400");
  auto taken = c->take_registration(minimal_registration("on-a"));
  ASSERT_TRUE(taken && *taken);
  EXPECT_EQ(redis.command({"HGET", "tether:{on-a}:reg", "owner"}), "c");
  auto stale = minimal_registration("on-a");
  stale.id = "an-older-id";
  auto not_taken = b->take_registration(stale);
  ASSERT_TRUE(not_taken);
  EXPECT_FALSE(*not_taken);
  ASSERT_TRUE(c->save_update(updated, false));
  ASSERT_TRUE(c->flush());
  auto late = minimal_registration("on-a");
  late.lifetime = 5;
  ASSERT_TRUE(a->save_update(late, false));
  ASSERT_TRUE(a->remove_registration("on-a"));
  ASSERT_TRUE(a->flush());
  EXPECT_EQ(redis.command({"HGET", "tether:{on-a}:reg", "lifetime"}), "77");
  ASSERT_TRUE(a->save_update(late, false));
  ASSERT_TRUE(a->flush());
  EXPECT_EQ(redis.command({"HGET", "tether:{on-a}:reg", "lifetime"}), "77");
  ASSERT_TRUE(c->remove_registration("on-a"));
  ASSERT_TRUE(c->flush());
  EXPECT_EQ(redis.command({"EXISTS", "tether:{on-a}:reg", "tether:{on-a}:obs"}), "0");
  EXPECT_EQ(redis.command({"HGET", "tether:ids", "id-on-a"}), "(nil)");
  // A Register again under a new ID drops the old one from the index.
  auto again = minimal_registration("on-b");
  again.id = "id-2";
  ASSERT_TRUE(b->save_registration(again));
  ASSERT_TRUE(b->flush());
  EXPECT_EQ(redis.command({"HKEYS", "tether:ids"}), "id-2");
}

// A device that registers anew through another node (the load balancer moved it, or it
// rebooted): the node that held its registration is named, to be told to let its copy go;
// a Register replacing this node's own registration names nobody.
TEST(RedisStore, ARegisterThroughAnotherNodeNamesTheNodeItReplaced) {
  RedisServer redis;
  auto a = open_store(redis.url(), "a");
  auto b = open_store(redis.url(), "b");
  ASSERT_TRUE(a && b);
  std::vector<std::string> told;
  b->set_replaced_handler(
      [&told](const std::string& ep, const std::string& id, const std::string& owner) {
        told.push_back(ep + " " + id + " " + owner);
      });
  ASSERT_TRUE(a->save_registration(minimal_registration("dev")));
  ASSERT_TRUE(a->flush());
  auto anew = minimal_registration("dev");
  anew.id = "id-anew";
  ASSERT_TRUE(b->save_registration(anew));
  ASSERT_TRUE(b->flush());
  EXPECT_EQ(told, std::vector<std::string>{"dev id-dev a"});
  EXPECT_EQ(redis.command({"HGET", "tether:{dev}:reg", "owner"}), "b");
  EXPECT_EQ(redis.command({"HKEYS", "tether:ids"}), "id-anew");
  auto again = minimal_registration("dev");
  again.id = "id-again";
  ASSERT_TRUE(b->save_registration(again));
  ASSERT_TRUE(b->flush());
  EXPECT_EQ(told.size(), 1u);
}

// A node whose heartbeat ended leaves its registrations to the running nodes: each goes
// to exactly one of them, with its observations, and the dead node is swept once.
// RFC 8613 B.1.1 across nodes: two nodes serving one OSCORE device in turn (or at once)
// reserve windows of sequence numbers that never overlap, and a credentials write (an
// operator's PUT through either node) keeps what was reserved.
TEST(RedisStore, NodesReserveOscoreSequenceNumbersThatNeverOverlap) {
  RedisServer redis;
  auto a = open_store(redis.url(), "a");
  auto b = open_store(redis.url(), "b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->save_credentials(oscore("dev")));  // bound 640
  ASSERT_TRUE(a->flush());
  std::vector<std::uint64_t> starts_a, starts_b;
  std::thread on_b([&] {
    std::uint64_t next = 640;  // where B's copy of the context stands
    for (int i = 0; i < 40; ++i) {
      auto start = b->reserve_sequences("dev", next, 64);
      ASSERT_TRUE(start) << start.error().reason;
      starts_b.push_back(*start);
      next = *start + 64;
    }
  });
  std::uint64_t next = 640;
  for (int i = 0; i < 40; ++i) {
    auto start = a->reserve_sequences("dev", next, 64);
    ASSERT_TRUE(start) << start.error().reason;
    starts_a.push_back(*start);
    next = *start + 64;
  }
  on_b.join();
  std::vector<std::uint64_t> all = starts_a;
  all.insert(all.end(), starts_b.begin(), starts_b.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i], all[i - 1] + 64);
  const std::uint64_t reserved = all.back() + 64;
  EXPECT_EQ(redis.command({"HGET", "tether:{dev}:cred", "sequence_bound"}),
            std::to_string(reserved));
  // The operator writes the credentials again through B, from what B knew.
  ASSERT_TRUE(b->save_credentials(oscore("dev")));
  ASSERT_TRUE(b->flush());
  auto read = a->load_credentials_of("dev");
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->oscore.sequence_bound, reserved);
  EXPECT_EQ(*a->reserve_sequences("dev", 0, 64), reserved);
}

TEST(RedisStore, ADeadNodesRegistrationsAreClaimedByOneRunningNode) {
  RedisServer redis;
  auto a = open_store(redis.url(), "a");
  auto b = open_store(redis.url(), "b");
  auto c = open_store(redis.url(), "c");
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(a->save_registration(minimal_registration("x")));
  ASSERT_TRUE(a->save_registration(minimal_registration("y")));
  ASSERT_TRUE(a->save_observation(observation("o1", "y")));
  ASSERT_TRUE(a->flush());
  ASSERT_TRUE(c->save_registration(minimal_registration("z")));
  ASSERT_TRUE(c->flush());
  auto none = b->claim_orphans();  // everyone is alive
  ASSERT_TRUE(none) << none.error().reason;
  EXPECT_TRUE(none->empty());

  a.reset();  // flushes once more, then nothing refreshes its heartbeat
  ASSERT_EQ(redis.command({"DEL", "tether:node:{a}:alive"}), "1");
  auto claimed = b->claim_orphans();
  ASSERT_TRUE(claimed) << claimed.error().reason;
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].registration.endpoint == "x" ? (*claimed)[1].observations
                                                       : (*claimed)[0].observations,
            std::vector<ObservationRecord>{observation("o1", "y")});
  auto again = c->claim_orphans();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(redis.command({"HGET", "tether:{x}:reg", "owner"}), "b");
  EXPECT_EQ(redis.command({"HGET", "tether:{y}:reg", "owner"}), "b");
  EXPECT_EQ(redis.command({"HGET", "tether:{z}:reg", "owner"}), "c");
  EXPECT_EQ(redis.command({"SISMEMBER", "tether:nodes", "a"}), "0");
}

// A large takeover goes in slices (claiming() says there is more), so that one call does
// not stall the loop; the dead node leaves tether:nodes after the last slice, and a node
// that comes back meanwhile keeps what was not claimed yet.
TEST(RedisStore, ClaimsADeadNodesRegistrationsInSlices) {
  RedisServer redis;
  auto a = open_store(redis.url(), "a");
  auto d = open_store(redis.url(), "d");
  ASSERT_TRUE(a && d);
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(a->save_registration(minimal_registration("a-" + std::to_string(i))));
    ASSERT_TRUE(d->save_registration(minimal_registration("d-" + std::to_string(i))));
  }
  ASSERT_TRUE(a->flush());
  ASSERT_TRUE(d->flush());
  auto address = RedisStore::parse_url(redis.url());
  ASSERT_TRUE(address);
  RedisStore::Options options;
  options.node = "b";
  options.alive_for = std::chrono::seconds(120);
  options.claim_after = std::chrono::milliseconds(0);
  options.claim_slice = 10;
  options.claim_budget = std::chrono::milliseconds(0);  // one slice per call
  auto b = RedisStore::open(*address, options);
  ASSERT_TRUE(b);
  a.reset();
  ASSERT_EQ(redis.command({"DEL", "tether:node:{a}:alive"}), "1");
  std::size_t taken = 0;
  int calls = 0;
  do {
    auto some = (*b)->claim_orphans();
    ASSERT_TRUE(some) << some.error().reason;
    EXPECT_LE(some->size(), 10U);
    taken += some->size();
    ++calls;
  } while ((*b)->claiming() && calls < 20);
  EXPECT_EQ(taken, 25U);
  EXPECT_EQ(calls, 5);  // 50 endpoints, 10 a call
  EXPECT_EQ(redis.command({"SISMEMBER", "tether:nodes", "a"}), "0");
  EXPECT_EQ(redis.command({"HGET", "tether:{a-7}:reg", "owner"}), "b");
  EXPECT_EQ(redis.command({"HGET", "tether:{d-7}:reg", "owner"}), "d");

  // D dies; after the first slice it is back: the rest stays D's.
  d.reset();
  ASSERT_EQ(redis.command({"DEL", "tether:node:{d}:alive"}), "1");
  auto first = (*b)->claim_orphans();
  ASSERT_TRUE(first);
  ASSERT_TRUE((*b)->claiming());
  auto back = open_store(redis.url(), "d");
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->flush());  // its heartbeat
  auto rest = (*b)->claim_orphans();
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->empty());
  EXPECT_FALSE((*b)->claiming());
  EXPECT_LT(first->size(), 25U);
  int still_d = 0;
  for (int i = 0; i < 25; ++i) {
    still_d += redis.command({"HGET", "tether:{d-" + std::to_string(i) + "}:reg", "owner"}) == "d";
  }
  EXPECT_EQ(static_cast<std::size_t>(still_d), 25U - first->size());
}

TEST(RedisStore, LogsInWithThePasswordAndIsRefusedWithout) {
  RedisServer redis(false, {"--requirepass", "s3cret"});
  const std::string host = "127.0.0.1:" + std::to_string(redis.port());
  auto address = RedisStore::parse_url("redis://" + host);
  ASSERT_TRUE(address);
  auto refused = RedisStore::open(*address);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().reason.find("NOAUTH"), std::string::npos) << refused.error().reason;
  auto wrong = RedisStore::parse_url("redis://:not-it@" + host);
  ASSERT_TRUE(wrong);
  auto refused_wrong = RedisStore::open(*wrong);
  ASSERT_FALSE(refused_wrong);
  // The error says why, never what was tried.
  EXPECT_EQ(refused_wrong.error().reason.find("not-it"), std::string::npos)
      << refused_wrong.error().reason;
  auto store = open_store("redis://:s3cret@" + host + "/2");
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_registration(minimal_registration("dev")));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(registrations(*store).size(), 1U);
}

TEST(RedisStore, AnUnreachableRedisFailsToOpenNamingIt) {
  const auto port = testing::free_tcp_port();  // nothing listens there
  auto address = RedisStore::parse_url("redis://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(address);
  RedisStore::Options options;
  options.timeout = std::chrono::milliseconds(500);
  auto store = RedisStore::open(*address, options);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().reason.find("connecting"), std::string::npos) << store.error().reason;
}

// Schema version 1 (stop 40) kept each index in one set; a node of version 3 splits them by
// slot at start, and what version 1 wrote loads unchanged. Version 2 (the split without the
// list of slots in use) gets that list.
TEST(RedisStore, SplitsTheIndexesOfSchemaVersion1BySlot) {
  RedisServer redis;
  {
    auto store = open_store(redis.url(), "a");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(minimal_registration("dev")));
    ASSERT_TRUE(store->save_observation(observation("o1", "dev")));
    ASSERT_TRUE(store->save_credentials(psk("dev")));
    ASSERT_TRUE(store->flush());
  }
  // Made back into version 1's layout, as a node of stop 40 left it.
  for (const char* index : {":registrations", ":observed", ":credentials"}) {
    const std::string split = key_in_slot_of("{dev}", "tether:", index);
    ASSERT_EQ(redis.command({"RENAME", split, std::string("tether") + index}), "OK");
  }
  ASSERT_EQ(redis.command({"SET", "tether:schema", "1"}), "OK");
  ASSERT_EQ(redis.command({"DEL", "tether:index-slots"}), "1");
  auto store = open_store(redis.url(), "a");
  ASSERT_TRUE(store);
  EXPECT_EQ(redis.command({"GET", "tether:schema"}), "3");
  EXPECT_EQ(redis.command({"SMEMBERS", "tether:index-slots"}), std::to_string(key_slot("dev")));
  EXPECT_EQ(
      redis.command({"EXISTS", "tether:registrations", "tether:observed", "tether:credentials"}),
      "0");
  EXPECT_EQ(registrations(*store), std::vector<Registration>{minimal_registration("dev")});
  EXPECT_EQ(credentials(*store), std::vector<Credentials>{psk("dev")});
  auto observations = store->load_observations();
  ASSERT_TRUE(observations);
  EXPECT_EQ(observations->size(), 1U);

  // Version 2: the parts are there, the list of slots is not.
  ASSERT_TRUE(store->save_registration(minimal_registration("other")));
  ASSERT_TRUE(store->flush());
  store.reset();
  ASSERT_EQ(redis.command({"DEL", "tether:index-slots"}), "1");
  ASSERT_EQ(redis.command({"SET", "tether:schema", "2"}), "OK");
  auto again = open_store(redis.url(), "a");
  ASSERT_TRUE(again);
  EXPECT_EQ(redis.command({"GET", "tether:schema"}), "3");
  EXPECT_EQ(registrations(*again).size(), 2U);
  EXPECT_EQ(credentials(*again), std::vector<Credentials>{psk("dev")});
}

// A Redis Cluster resharded under a running store. Half-way through a slot's move, a
// write of one key goes where Redis says (ASK), and a script over keys not all moved waits
// for a later flush (Redis says TRYAGAIN); once moved, writes follow the MOVED. Nothing is
// lost and everything loads.
TEST(RedisStore, FollowsAClusterWhoseSlotsMove) {
  testing::RedisCluster cluster;
  auto store = open_store(cluster.url(), "a");
  ASSERT_TRUE(store);
  for (const char* ep : {"x", "y"}) {
    ASSERT_TRUE(store->save_registration(minimal_registration(ep)));
  }
  ASSERT_TRUE(store->flush());

  const std::uint16_t fresh = key_slot("w");  // nothing stored there yet
  ASSERT_NE(fresh, key_slot("x"));
  ASSERT_NE(fresh, key_slot("y"));
  const int to_w = (cluster.owner_of(fresh) + 1) % testing::RedisCluster::kNodes;
  cluster.move_slot(fresh, to_w, /*finish=*/false);
  ASSERT_TRUE(store->save_observation(observation("o-w", "w")));
  auto flushed = store->flush();
  ASSERT_TRUE(flushed) << flushed.error().reason;
  // The record and its index entry, on the importing primary.
  const std::string count_w = std::to_string(fresh);
  EXPECT_EQ(cluster.node(to_w).command({"CLUSTER", "COUNTKEYSINSLOT", count_w}), "2");
  EXPECT_EQ(cluster.node(cluster.owner_of(fresh)).command({"CLUSTER", "COUNTKEYSINSLOT", count_w}),
            "0");
  ASSERT_TRUE(store->save_registration(minimal_registration("w")));
  flushed = store->flush();
  ASSERT_FALSE(flushed);
  EXPECT_NE(flushed.error().reason.find("TRYAGAIN"), std::string::npos) << flushed.error().reason;
  cluster.move_slot(fresh, to_w);
  flushed = store->flush();
  ASSERT_TRUE(flushed) << flushed.error().reason;
  EXPECT_EQ(cluster.node(to_w).command({"EXISTS", "tether:{w}:reg"}), "1");

  // x's slot moved with its keys: an Update of x and a new endpoint beside it ("{x}2"
  // shares its slot) follow the MOVED to the new primary.
  const std::uint16_t slot = key_slot("x");
  const int to = (cluster.owner_of(slot) + 1) % testing::RedisCluster::kNodes;
  cluster.move_slot(slot, to);
  auto updated = minimal_registration("x");
  updated.lifetime = 77;
  ASSERT_TRUE(store->save_update(updated, false));
  auto beside = minimal_registration("x}2");
  ASSERT_EQ(key_slot("tether:{x}2}:reg"), slot);
  ASSERT_TRUE(store->save_registration(beside));
  flushed = store->flush();
  ASSERT_TRUE(flushed) << flushed.error().reason;
  EXPECT_EQ(cluster.node(to).command({"HGET", "tether:{x}:reg", "lifetime"}), "77");
  EXPECT_EQ(cluster.node(to).command({"EXISTS", "tether:{x}2}:reg"}), "1");
  auto loaded = registrations(*store);
  ASSERT_EQ(loaded.size(), 4U);
  EXPECT_EQ(loaded[0].endpoint, "w");
  EXPECT_EQ(loaded[1], updated);
  EXPECT_EQ(loaded[2], beside);
  EXPECT_EQ(loaded[3].endpoint, "y");
  auto observations = store->load_observations();
  ASSERT_TRUE(observations);
  EXPECT_EQ(observations->size(), 1U);

  // A name starting with '}' would leave its keys' hash tag empty: they still share a
  // slot, so its removal (one script over its keys) is allowed.
  ASSERT_TRUE(store->save_registration(minimal_registration("}odd")));
  ASSERT_TRUE(store->save_observation(observation("o-odd", "}odd")));
  flushed = store->flush();
  ASSERT_TRUE(flushed) << flushed.error().reason;
  ASSERT_TRUE(store->remove_registration("}odd"));
  flushed = store->flush();
  ASSERT_TRUE(flushed) << flushed.error().reason;
  EXPECT_EQ(registrations(*store).size(), 4U);
}

TEST(RedisStore, RefusesANewerSchemaAndRecordsThatDoNotParse) {
  RedisServer redis;
  ASSERT_EQ(redis.command({"SET", "tether:schema", "4"}), "OK");
  auto address = RedisStore::parse_url(redis.url());
  ASSERT_TRUE(address);
  auto newer = RedisStore::open(*address);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().reason.find("newer"), std::string::npos) << newer.error().reason;

  ASSERT_EQ(redis.command({"SET", "tether:schema", "3"}), "OK");
  auto store = open_store(redis.url());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->save_registration(minimal_registration("dev")));
  ASSERT_TRUE(store->save_observation(observation("o1", "dev")));
  ASSERT_TRUE(store->flush());
  ASSERT_EQ(redis.command({"HSET", "tether:{dev}:reg", "lifetime", "soon"}), "0");
  auto loaded = store->load_registrations();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().reason.find("tether:{dev}:reg: field lifetime"), std::string::npos)
      << loaded.error().reason;
  ASSERT_EQ(redis.command({"HSET", "tether:{dev}:obs", "o1", "[1]"}), "0");
  auto observed = store->load_observations();
  ASSERT_FALSE(observed);
  EXPECT_NE(observed.error().reason.find("'o1'"), std::string::npos) << observed.error().reason;
}

}  // namespace
}  // namespace tether::server
