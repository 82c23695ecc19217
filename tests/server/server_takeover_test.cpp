// Several server nodes on one Redis (issue 22), on virtual time with a real redis-server:
// node A registers a device and observes it, then dies; node B, already running, takes the
// registration over at the device's next Update, observation included, and only then.
#include <gtest/gtest.h>

#include "server/store/redis/redis_store.hpp"
#include "server_fixture.hpp"
#include "support/redis_server.hpp"

namespace tether::server::testing {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;

std::unique_ptr<RedisStore> node_store(const tether::testing::RedisServer& redis,
                                       const std::string& node) {
  auto address = RedisStore::parse_url(redis.url());
  // A heartbeat that outlives the test: A counts as alive throughout.
  auto store =
      address ? RedisStore::open(*address, {.node = node, .alive_for = std::chrono::seconds(120)})
              : Result<std::unique_ptr<RedisStore>>(address.error());
  if (!store) ADD_FAILURE() << store.error().reason;
  return store ? std::move(*store) : nullptr;
}

TEST(ServerTakeoverTest, ARunningNodeTakesOverADeadNodesDeviceAtItsNextUpdate) {
  tether::testing::RedisServer redis;
  SimNetwork net;
  FakeClient client(net, 100);
  client.answer = [](const Message& req) {
    Message res = text_content("1");
    if (req.observe() == 0u) res.set_observe(1);
    return res;
  };
  auto store_b = node_store(redis, "b");
  ASSERT_TRUE(store_b);
  std::string observation;
  {
    auto store_a = node_store(redis, "a");
    ASSERT_TRUE(store_a);
    ServerHarness a(net, *store_a);
    ASSERT_EQ(client.register_with({"ep=dev1", "lt=600"})->code, codes::kCreated);
    DownlinkRequest r;
    r.op = Operation::kObserve;
    r.path = Path{3, 0, 9};
    std::optional<DownlinkResult> got;
    a.server.send("dev1", r, {}, [&](DownlinkResult d) { got = std::move(d); });
    net.run_until([&] { return got.has_value(); }, Duration{10'000});
    ASSERT_TRUE(got && !got->observation_id.empty());
    observation = got->observation_id;
    ASSERT_TRUE(store_a->flush());  // as --sync-writes would have
  }
  // B was running all along (started while A was alive, it loaded none of A's).
  ServerHarness b(net, *store_b);
  ASSERT_TRUE(b.server.restore().ok());
  EXPECT_EQ(b.server.find("dev1"), nullptr);

  // A location nobody holds is still 4.04.
  Message stray = coap::make_request(codes::kPost, "/rd/not-a-registration");
  EXPECT_EQ(client.exchange(std::move(stray))->code, codes::kNotFound);
  EXPECT_EQ(b.server.metrics().takeovers, 0u);

  ASSERT_EQ(client.update({"lt=900"})->code, codes::kChanged);
  ASSERT_NE(b.server.find("dev1"), nullptr);
  EXPECT_EQ(b.server.find("dev1")->lifetime, 900u);
  EXPECT_EQ(b.server.metrics().takeovers, 1u);
  ASSERT_EQ(b.server.observations("dev1").size(), 1u);
  ASSERT_TRUE(client.notify(0, text_content("77")));
  auto notes = b.events_of(ServerEvent::Kind::kNotification);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].observation_id, observation);
  // The Update made it B's in Redis too.
  ASSERT_TRUE(store_b->flush());
  EXPECT_EQ(redis.command({"HGET", "tether:{dev1}:reg", "owner"}), "b");
  EXPECT_EQ(redis.command({"HGET", "tether:{dev1}:reg", "lifetime"}), "900");
}

// A device the load balancer moved to node B while A still runs: B takes the registration
// over and tells A (over the node bus, NodeRouting::tell_taken), which lets its copy go and
// asks the device to prove freshness before acting under its OSCORE context again: A's
// replay window missed what B took.
TEST(ServerTakeoverTest, TheNodeADeviceLeftLetsItsCopyGoWhenTold) {
  tether::testing::RedisServer redis;
  SimNetwork net;
  FakeClient client(net, 100);
  auto store_a = node_store(redis, "a");
  auto store_b = node_store(redis, "b");
  ASSERT_TRUE(store_a && store_b);
  oscore::Keyring keyring_a;  // outlives the server that points at it
  ServerHarness a(net, *store_a);
  ServerHarness b(net, *store_b, {}, {}, 2);
  a.server.use_oscore(keyring_a);
  ASSERT_EQ(client.register_with({"ep=dev1", "lt=600"})->code, codes::kCreated);
  ASSERT_TRUE(store_a->flush());
  const std::string id = a.server.find("dev1")->id;
  // Credentials with an OSCORE context, put on A after the plain Register (B has not read
  // them, so the plain Update below still passes there).
  Credentials c;
  c.endpoint = "dev1";
  c.kind = Credentials::Kind::kOscore;
  c.oscore.master_secret = Bytes(16, 0x22);
  c.oscore.sender_id = {0x01};
  c.oscore.recipient_id = {0x02};
  ASSERT_TRUE(a.server.put_credentials(c).ok());
  keyring_a.find("dev1")->prove_freshness();  // as after a request with Echo

  std::vector<std::tuple<std::string, std::string, std::string>> told;
  b.server.set_taken_handler([&](const std::string& ep, const std::string& reg,
                                 const std::string& from) { told.emplace_back(ep, reg, from); });
  client.server_address = 2;
  ASSERT_EQ(client.update({})->code, codes::kChanged);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], std::make_tuple(std::string("dev1"), id, std::string("a")));
  // A is told (the bus's part is NodeRouting's own test): only that very registration goes.
  EXPECT_FALSE(a.server.release_taken("dev1", "another-id"));
  ASSERT_NE(a.server.find("dev1"), nullptr);
  EXPECT_TRUE(a.server.release_taken("dev1", id));
  EXPECT_EQ(a.server.find("dev1"), nullptr);
  EXPECT_TRUE(a.events_of(ServerEvent::Kind::kDeregistered).empty());  // the device did not leave
  EXPECT_FALSE(keyring_a.find("dev1")->freshness_proved());
  // B's registration stays B's in Redis: A's letting go removed nothing there.
  ASSERT_TRUE(store_a->flush());
  ASSERT_TRUE(store_b->flush());
  EXPECT_EQ(redis.command({"HGET", "tether:{dev1}:reg", "owner"}), "b");
}

// Each lookup of a location this node does not hold is a round trip to Redis: a spray of
// made-up locations costs at most max_store_lookups_per_second of them.
TEST(ServerTakeoverTest, LookupsOfUnknownLocationsAreBudgeted) {
  tether::testing::RedisServer redis;
  SimNetwork net;
  FakeClient client(net, 100);
  auto store = node_store(redis, "b");
  ASSERT_TRUE(store);
  ServerConfig config;
  config.max_store_lookups_per_second = 3;
  ServerHarness b(net, *store, config);
  for (int i = 0; i < 10; ++i) {
    Message m = coap::make_request(codes::kPost, "/rd/made-up-" + std::to_string(i));
    EXPECT_EQ(client.exchange(std::move(m))->code, codes::kNotFound);
  }
  const std::string stats = redis.command({"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_hget:calls=");
  ASSERT_NE(at, std::string::npos) << stats;
  EXPECT_EQ(stats.substr(at, 21), "cmdstat_hget:calls=3,");
}

}  // namespace
}  // namespace tether::server::testing
