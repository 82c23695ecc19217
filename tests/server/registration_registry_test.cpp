// The registry's ordered view and fleet counts, which the REST API pages and the console's
// counters are built on: pages follow endpoint order whatever comes and goes between them,
// and the counts match the registrations through every way in and out.
#include "server/registration_registry.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lwm2m/operation/status.hpp"

namespace tether::server {
namespace {

PeerIdentity plain(std::string transport = "udp") {
  PeerIdentity p;
  p.transport = std::move(transport);
  p.address = "127.0.0.1:5000";
  return p;
}

lwm2m::RegisterRequest register_request(std::string ep, std::string binding = "U",
                                        std::string version = "1.1", bool queue = false) {
  lwm2m::RegisterRequest r;
  r.params.endpoint = std::move(ep);
  r.params.binding = std::move(binding);
  r.params.version = std::move(version);
  r.params.queue_mode = queue;
  r.params.lifetime = 60;
  return r;
}

class RegistryTest : public ::testing::Test {
 protected:
  std::string add(std::string ep, std::string binding = "U", std::string version = "1.1",
                  bool queue = false, PeerIdentity peer = plain()) {
    auto r = registry.register_client(
        register_request(std::move(ep), std::move(binding), std::move(version), queue), peer,
        1'000);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
    return r.ok() ? r->registration.id : std::string{};
  }
  std::vector<std::string> page(std::string_view after, std::string_view prefix,
                                std::size_t limit = 100) {
    std::vector<std::string> out;
    registry.walk(after, prefix, [&](const Registration& r) {
      out.push_back(r.endpoint);
      return out.size() < limit;
    });
    return out;
  }

  SeededRandom random{3};
  RegistrationRegistry registry{RegistryConfig{}, random};
};

// A wave of registrations due together is handed out in bounded batches, earliest first,
// and an Update moves a registration out of the wave.
TEST_F(RegistryTest, ExpiryHandsOutAtMostTheAskedNumberEarliestFirst) {
  for (const char* ep : {"a", "b", "c", "d", "e"}) add(ep);  // all due at 61 s (lt 60 at 1 s)
  lwm2m::UpdateRequest update;
  update.location = registry.find("c")->id;
  ASSERT_TRUE(registry.update(update, plain(), 30'000));  // c now due at 90 s
  EXPECT_EQ(registry.next_expiry().value_or(0), 61'000);
  auto first = registry.expire(70'000, 3);
  auto second = registry.expire(70'000, 3);
  EXPECT_EQ(first.size(), 3u);
  EXPECT_EQ(second.size(), 1u);
  EXPECT_TRUE(registry.expire(70'000, 3).empty());
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_NE(registry.find("c"), nullptr);
  EXPECT_LE(registry.next_expiry().value_or(0), 90'000);
  EXPECT_EQ(registry.expire(90'000).size(), 1u);
  EXPECT_FALSE(registry.next_expiry());
}

// A registration past its deadline that a wave has not reached yet takes no Update: the
// client gets 4.04 and registers again.
TEST_F(RegistryTest, AnUpdateAfterTheDeadlineIsRefusedBeforeExpiryRemovesIt) {
  add("late");  // lt 60 at 1 s: due at 61 s
  lwm2m::UpdateRequest update;
  update.location = registry.find("late")->id;
  auto refused = registry.update(update, plain(), 61'000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(lwm2m::status_of(refused.error()), coap::codes::kNotFound);
  EXPECT_EQ(registry.expire(61'000).size(), 1u);
}

TEST_F(RegistryTest, PagesFollowEndpointOrderAndACursorSurvivesRemovals) {
  for (const char* ep : {"dev10", "dev2", "alpha", "dev1", "zulu"}) add(ep);
  EXPECT_EQ(page("", "", 2), (std::vector<std::string>{"alpha", "dev1"}));
  // The cursor is the last name seen: removing it, or rows before it, shifts nothing.
  ASSERT_TRUE(registry.remove("dev1"));
  ASSERT_TRUE(registry.remove("alpha"));
  EXPECT_EQ(page("dev1", "", 2), (std::vector<std::string>{"dev10", "dev2"}));
  add("dev11");  // a name registered behind the cursor shows on the next page
  EXPECT_EQ(page("dev10", ""), (std::vector<std::string>{"dev11", "dev2", "zulu"}));
  EXPECT_EQ(page("", "dev1"), (std::vector<std::string>{"dev10", "dev11"}));
  EXPECT_EQ(page("dev10", "dev1"), (std::vector<std::string>{"dev11"}));
  EXPECT_EQ(page("a", "dev"), (std::vector<std::string>{"dev10", "dev11", "dev2"}));
  EXPECT_TRUE(page("zz", "").empty());
  EXPECT_TRUE(page("", "nobody").empty());
}

TEST_F(RegistryTest, ReRegisteringKeepsOneRowInOrder) {
  add("b");
  add("a");
  add("b", "UQ", "1.0");
  EXPECT_EQ(page("", ""), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(registry.counts().binding, (std::map<std::string, std::size_t>{{"U", 2}}));
  EXPECT_EQ(registry.counts().version,
            (std::map<std::string, std::size_t>{{"1.0", 1}, {"1.1", 1}}));
  EXPECT_EQ(registry.counts().queue_mode, 1u);
}

TEST_F(RegistryTest, CountsFollowEveryWayInAndOut) {
  PeerIdentity psk = plain("dtls");
  psk.psk_identity = "dev-psk";
  add("a", "U", "1.1");
  const std::string b = add("b", "UQ", "1.0");
  add("c", "T", "1.2", true, plain("tcp"));
  add("d", "U", "1.2", false, psk);
  const FleetCounts& c = registry.counts();
  EXPECT_EQ(c.binding, (std::map<std::string, std::size_t>{{"T", 1}, {"U", 3}}));
  EXPECT_EQ(c.version, (std::map<std::string, std::size_t>{{"1.0", 1}, {"1.1", 1}, {"1.2", 2}}));
  EXPECT_EQ(c.transport, (std::map<std::string, std::size_t>{{"dtls", 1}, {"tcp", 1}, {"udp", 2}}));
  EXPECT_EQ(c.security, (std::map<std::string, std::size_t>{{"none", 3}, {"psk", 1}}));
  EXPECT_EQ(c.queue_mode, 2u);  // 1.0's UQ and 1.2's Q

  // An Update that changes the binding moves the client between counts.
  lwm2m::UpdateRequest update;
  update.location = b;
  update.params.binding = "US";
  ASSERT_TRUE(registry.update(update, plain(), 2'000).ok());
  EXPECT_EQ(c.binding, (std::map<std::string, std::size_t>{{"T", 1}, {"U", 2}, {"US", 1}}));
  EXPECT_EQ(c.queue_mode, 1u);

  lwm2m::DeregisterRequest bye;
  bye.location = b;
  ASSERT_TRUE(registry.deregister(bye, plain()).ok());
  EXPECT_EQ(c.binding, (std::map<std::string, std::size_t>{{"T", 1}, {"U", 2}}));
  EXPECT_EQ(c.version, (std::map<std::string, std::size_t>{{"1.1", 1}, {"1.2", 2}}));

  // Lifetime 60 s from t=1 s: all three are gone at t=62 s.
  EXPECT_EQ(registry.expire(62'000).size(), 3u);
  EXPECT_EQ(c, FleetCounts{});

  Registration stored;
  stored.id = "r1";
  stored.endpoint = "restored";
  stored.binding = "U";
  stored.version = "1.2";
  stored.transport = "udp";
  stored.queue_mode = true;
  registry.restore(stored);
  registry.restore(stored);  // restoring it twice counts it once
  EXPECT_EQ(c.binding, (std::map<std::string, std::size_t>{{"U", 1}}));
  EXPECT_EQ(c.queue_mode, 1u);
  EXPECT_EQ(page("", ""), (std::vector<std::string>{"restored"}));
  ASSERT_TRUE(registry.remove("restored"));
  EXPECT_EQ(c, FleetCounts{});
  EXPECT_TRUE(page("", "").empty());
}

}  // namespace
}  // namespace tether::server
