// Several bootstrap server nodes on one store (docs/redis.md): the Redis store keeps the
// configurations as docs/bootstrap.md's JSON and leaves out what does not parse; a node reads
// again what another changed (one endpoint, or all after its bus was away), including the
// credentials its (D)TLS server checks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bootstrap/bootstrap_config_json.hpp"
#include "bootstrap/bootstrap_server.hpp"
#include "bootstrap/store/memory/memory_bootstrap_store.hpp"
#include "bootstrap/store/redis/redis_bootstrap_store.hpp"
#include "server/server_fixture.hpp"
#include "server/store/redis/redis_slots.hpp"
#include "support/redis_server.hpp"

namespace tether::bootstrap {
namespace {

using server::testing::VirtualClock;

constexpr const char* kConfig = R"({
  "credentials": {"mode": "psk", "identity": "dev1-id", "key": "00112233"},
  "security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": false, "mode": "nosec",
                     "shortServerId": 101}},
  "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}
})";

struct SharedConfigTest : ::testing::Test {
  BootstrapConfig config(const std::string& ep, const std::string& identity = "dev1-id") {
    auto j = nlohmann::json::parse(kConfig);
    j["credentials"]["identity"] = identity;
    auto c = config_from_json(ep, j, models);
    EXPECT_TRUE(c) << (c ? "" : c.error().reason);
    return c ? *c : BootstrapConfig{};
  }

  coap::sim::SimNetwork net;
  VirtualClock clock{net};
  lwm2m::model::ObjectRegistry models = lwm2m::model::ObjectRegistry::with_builtin();
  MemoryBootstrapStore store;  // what both nodes share
  BootstrapServer x{BootstrapServerConfig{}, clock, store, models};
  BootstrapServer y{BootstrapServerConfig{}, clock, store, models};
};

TEST_F(SharedConfigTest, ANodeReadsAgainWhatAnotherChanged) {
  ASSERT_TRUE(x.put_config(config("dev1")));
  EXPECT_EQ(y.config("dev1"), nullptr);
  EXPECT_FALSE(y.psk_key_for(to_bytes("dev1-id")));
  ASSERT_TRUE(y.reload_config("dev1"));
  ASSERT_NE(y.config("dev1"), nullptr);
  // Its (D)TLS server now knows the device's key.
  EXPECT_EQ(y.psk_key_for(to_bytes("dev1-id")), std::optional<Bytes>(from_hex("00112233").value()));

  // Another identity through X: Y drops the old one as it takes the new.
  ASSERT_TRUE(x.put_config(config("dev1", "dev1-new")));
  ASSERT_TRUE(y.reload_config("dev1"));
  EXPECT_FALSE(y.psk_key_for(to_bytes("dev1-id")));
  EXPECT_TRUE(y.psk_key_for(to_bytes("dev1-new")));

  // Removed through X: gone from Y, key and all.
  ASSERT_TRUE(x.remove_config("dev1"));
  ASSERT_TRUE(y.reload_config("dev1"));
  EXPECT_EQ(y.config("dev1"), nullptr);
  EXPECT_FALSE(y.psk_key_for(to_bytes("dev1-new")));
}

TEST_F(SharedConfigTest, AfterAnOutageANodeReadsEverythingAgain) {
  ASSERT_TRUE(y.put_config(config("old", "old-id")));
  ASSERT_TRUE(x.reload_configs());
  ASSERT_TRUE(x.remove_config("old"));  // Y's bus was away: it heard of neither change
  ASSERT_TRUE(x.put_config(config("new", "new-id")));
  ASSERT_TRUE(y.reload_configs());
  EXPECT_EQ(y.config("old"), nullptr);
  EXPECT_FALSE(y.psk_key_for(to_bytes("old-id")));
  ASSERT_NE(y.config("new"), nullptr);
  EXPECT_EQ(y.config_count(), 1U);
}

// Before stop 42 the index was one set, tether:bs:endpoints: a store opening it splits it.
TEST(RedisBootstrapStore, SplitsTheIndexOfEarlierVersionsBySlot) {
  testing::RedisServer redis;
  auto models = lwm2m::model::ObjectRegistry::with_builtin();
  auto c = config_from_json("dev1", nlohmann::json::parse(kConfig), models);
  ASSERT_TRUE(c);
  redis.command({"SET", "tether:bs:{dev1}", config_to_json(*c, server::Secrets::kInclude).dump()});
  redis.command({"SADD", "tether:bs:endpoints", "dev1"});
  auto address = server::RedisConnection::Address::parse_url(redis.url());
  ASSERT_TRUE(address);
  auto store = RedisBootstrapStore::open(*address, models);
  ASSERT_TRUE(store) << store.error().reason;
  EXPECT_EQ(redis.command({"EXISTS", "tether:bs:endpoints"}), "0");
  auto all = (*store)->load_configs();
  ASSERT_TRUE(all) << all.error().reason;
  ASSERT_EQ(all->size(), 1U);
  EXPECT_EQ(all->front().endpoint, "dev1");
}

TEST(RedisBootstrapStore, KeepsConfigurationsAsTheirJsonAndRefusesWhatDoesNotParse) {
  testing::RedisServer redis;
  auto models = lwm2m::model::ObjectRegistry::with_builtin();
  auto address = server::RedisConnection::Address::parse_url(redis.url());
  ASSERT_TRUE(address);
  auto store = RedisBootstrapStore::open(*address, models);
  ASSERT_TRUE(store) << store.error().reason;
  auto c = config_from_json("dev1", nlohmann::json::parse(kConfig), models);
  ASSERT_TRUE(c);
  ASSERT_TRUE((*store)->save_config(*c));

  // What an operator finds with redis-cli.
  // The index is split by slot, each part in the slot of the configurations it lists.
  const std::string index = server::key_in_slot_of("tether:bs:{dev1}", "tether:bs:", ":endpoints");
  EXPECT_EQ(server::key_slot(index), server::key_slot("dev1"));
  EXPECT_EQ(redis.command({"SMEMBERS", index}), "dev1");
  auto stored = nlohmann::json::parse(redis.command({"GET", "tether:bs:{dev1}"}));
  EXPECT_EQ(stored, config_to_json(*c, server::Secrets::kInclude));

  auto all = (*store)->load_configs();
  ASSERT_TRUE(all) << all.error().reason;
  ASSERT_EQ(all->size(), 1U);
  EXPECT_EQ(config_to_json(all->front(), server::Secrets::kInclude), stored);
  auto one = (*store)->load_config("dev1");
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  auto none = (*store)->load_config("dev2");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  // Written by hand and broken: left out as if absent (its old keys stop working), and
  // reported with its key; the others are still read.
  std::vector<std::string> problems;
  (*store)->set_problem_sink([&](const std::string& why) { problems.push_back(why); });
  redis.command({"SET", "tether:bs:{bad}", R"({"servers": 7})"});
  redis.command({"SADD", server::key_in_slot_of("{bad}", "tether:bs:", ":endpoints"), "bad"});
  auto some = (*store)->load_configs();
  ASSERT_TRUE(some) << some.error().reason;
  ASSERT_EQ(some->size(), 1U);
  EXPECT_EQ(some->front().endpoint, "dev1");
  auto bad = (*store)->load_config("bad");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->has_value());
  ASSERT_EQ(problems.size(), 2U);
  EXPECT_NE(problems[0].find("tether:bs:{bad}"), std::string::npos);

  ASSERT_TRUE((*store)->remove_config("bad"));
  ASSERT_TRUE((*store)->remove_config("dev1"));
  EXPECT_EQ(redis.command({"EXISTS", "tether:bs:{dev1}"}), "0");
  auto empty = (*store)->load_configs();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  // A Redis that refuses writes: the save fails with its reason, nothing is stored.
  redis.command({"CONFIG", "SET", "maxmemory", "1"});
  auto full = (*store)->save_config(*c);
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().reason.find("OOM"), std::string::npos) << full.error().reason;
  redis.command({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ(redis.command({"EXISTS", "tether:bs:{dev1}"}), "0");
}

}  // namespace
}  // namespace tether::bootstrap
