// The device MAC and the network server simulator alone: duty cycle, receive windows,
// confirmed repeats, frame counters, payload limits and unknown devices.
#include <gtest/gtest.h>

#include "lorawan/chirpstack.hpp"
#include "lorawan/device_mac.hpp"
#include "lorawan/network_server.hpp"

namespace tether::lorawan {
namespace {

namespace cs = chirpstack;

class FixedRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = static_cast<std::uint8_t>(++n_);
  }

 private:
  std::uint8_t n_ = 0;
};

DeviceMacConfig device(std::uint8_t dr = 5) {
  DeviceMacConfig c;
  c.dev_eui = 0x42;
  c.dr = dr;
  return c;
}

TEST(DeviceMac, WaitsOutTheDutyCycleBetweenUplinks) {
  DeviceMac mac(device(0));  // SF12: a 10-octet frame is about 1.3 s on the air
  Instant now{};
  ASSERT_TRUE(mac.send(1, Bytes(10, 1), false, now));
  ASSERT_TRUE(mac.send(1, Bytes(10, 2), false, now));
  ASSERT_TRUE(mac.poll_transmit());
  EXPECT_FALSE(mac.poll_transmit());
  const Duration airtime = time_on_air(*data_rate(Region::kEu868, 0), 10);
  // Windows close, then the second frame waits for 100 times the first one's airtime.
  while (auto at = mac.next_deadline()) {
    now = *at;
    mac.on_timer(now);
    if (mac.poll_transmit()) break;
  }
  EXPECT_GE(now - Instant{}, airtime * 100);
  EXPECT_EQ(mac.poll_event()->kind, MacEvent::Kind::kSent);
  EXPECT_FALSE(mac.send(1, Bytes(52, 0), false, now));  // over DR0's 51
  EXPECT_FALSE(mac.send(0, Bytes(1, 0), false, now));   // FPort 0 is the MAC's
}

TEST(DeviceMac, RepeatsAnUnacknowledgedConfirmedUplinkEightTimesWithOneCounter) {
  DeviceMac mac(device());
  Instant now{};
  auto handle = mac.send(3, Bytes{1}, true, now);
  ASSERT_TRUE(handle);
  std::vector<std::uint32_t> counters;
  std::optional<MacEvent> outcome;
  for (int i = 0; i < 1000 && !outcome; ++i) {
    while (auto u = mac.poll_transmit()) counters.push_back(u->f_cnt);
    outcome = mac.poll_event();
    if (auto at = mac.next_deadline()) now = *at;
    mac.on_timer(now);
  }
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->kind, MacEvent::Kind::kFailed);
  EXPECT_EQ(outcome->handle, *handle);
  EXPECT_EQ(counters, std::vector<std::uint32_t>(8, 0));
}

TEST(DeviceMac, AClassADeviceHearsOnlyInItsWindowsAndAnswersFPending) {
  DeviceMac mac(device());
  Instant now{};
  Downlink d;
  d.dev_eui = 0x42;
  d.f_port = 1;
  d.payload = {9};
  mac.receive(d, now);
  EXPECT_EQ(mac.counters().missed_downlinks, 1u);
  EXPECT_FALSE(mac.poll_event());
  ASSERT_TRUE(mac.send(1, Bytes{1}, false, now));
  ASSERT_TRUE(mac.poll_transmit());
  d.f_cnt = 1;
  d.pending = true;
  mac.receive(d, now + Duration{1000});
  auto e = mac.poll_event();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, MacEvent::Kind::kReceived);
  EXPECT_EQ(e->payload, Bytes{9});
  // FPending: an empty uplink opens the next window once the duty cycle allows.
  std::optional<Uplink> empty;
  for (int i = 0; i < 10 && !empty; ++i) {
    if (auto at = mac.next_deadline()) now = *at;
    mac.on_timer(now);
    empty = mac.poll_transmit();
  }
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->f_port);
  EXPECT_TRUE(empty->payload.empty());
}

struct Network {
  Network() : ns(config(), random) { ns.add_device(0x42, DeviceClass::kA, 5); }
  static NetworkServerConfig config() {
    NetworkServerConfig c;
    c.application = "app";
    return c;
  }
  void command(const Bytes& data, bool confirmed, const std::string& id) {
    cs::DownlinkCommand c;
    c.id = id;
    c.dev_eui = 0x42;
    c.confirmed = confirmed;
    c.data = data;
    ns.on_command(cs::command_topic("app", 0x42), to_bytes(cs::to_json(c)), now);
  }
  void uplink(std::uint32_t f_cnt, bool confirmed = false, bool ack = false) {
    Uplink u;
    u.dev_eui = 0x42;
    u.f_cnt = f_cnt;
    u.f_port = 2;
    u.confirmed = confirmed;
    u.ack = ack;
    u.dr = 5;
    u.payload = {1};
    ns.on_uplink(u, now);
    now += Duration{1000};
    ns.on_timer(now);
  }
  std::vector<std::string> kinds() {
    std::vector<std::string> out;
    while (auto p = ns.poll_publication()) out.push_back(p->topic.substr(p->topic.rfind('/') + 1));
    return out;
  }
  FixedRandom random;
  Instant now{};
  NetworkServer ns;
};

TEST(NetworkServer, SendsOneDownlinkPerUplinkWindowWithFPendingWhileMoreWait) {
  Network n;
  n.command({1}, false, "a");
  n.command({2}, false, "b");
  n.ns.on_timer(n.now + Duration{60'000});
  EXPECT_FALSE(n.ns.poll_air());  // class A: nothing before an uplink
  n.uplink(0);
  auto first = n.ns.poll_air();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, Bytes{1});
  EXPECT_TRUE(first->pending);
  EXPECT_FALSE(n.ns.poll_air());
  EXPECT_EQ(n.kinds(), (std::vector<std::string>{"up", "txack"}));
  n.uplink(1);
  auto second = n.ns.poll_air();
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->pending);
}

TEST(NetworkServer, RepeatsAConfirmedDownlinkUntilAcknowledgedThenReportsIt) {
  Network n;
  n.command({7}, true, "c");
  n.uplink(0);
  ASSERT_TRUE(n.ns.poll_air());
  n.uplink(1);  // no ACK: the same frame again
  auto again = n.ns.poll_air();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->payload, Bytes{7});
  (void)n.kinds();
  n.uplink(2, false, true);
  auto kinds = n.kinds();
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.front(), "ack");
  EXPECT_EQ(n.ns.counters().confirmed_repeats, 1u);
}

TEST(NetworkServer, DropsOversizedDownlinksRepeatedAndOldUplinksAndStrangers) {
  Network n;
  n.command(Bytes(223, 0), false, "big");  // DR5 carries 222
  n.uplink(5);
  EXPECT_FALSE(n.ns.poll_air());
  auto kinds = n.kinds();
  EXPECT_EQ(kinds, (std::vector<std::string>{"up", "log"}));
  EXPECT_EQ(n.ns.counters().oversized_downlinks, 1u);
  n.uplink(5);  // the same counter, unconfirmed: a replay
  n.uplink(4);  // older
  EXPECT_EQ(n.ns.counters().old_uplinks, 2u);
  EXPECT_TRUE(n.kinds().empty());
  n.uplink(5, true);  // a confirmed repeat: acknowledged again, not passed on
  auto ack = n.ns.poll_air();
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->ack);
  EXPECT_TRUE(n.kinds().empty());
  Uplink stranger;
  stranger.dev_eui = 0x43;
  stranger.f_port = 1;
  n.ns.on_uplink(stranger, n.now);
  EXPECT_EQ(n.ns.counters().unknown_device, 1u);
  n.ns.on_command("application/app/device/0000000000000042/command/down", to_bytes("{nope"), n.now);
  n.ns.on_command("application/other/device/0000000000000042/command/down",
                  to_bytes(R"({"fPort":1})"), n.now);
  EXPECT_EQ(n.ns.counters().bad_commands, 2u);
}

}  // namespace
}  // namespace tether::lorawan
