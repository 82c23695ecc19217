// The LoRaWAN AT dialogue (RUI3) on virtual time: our driver (lorawan/at_modem) against the
// simulator's modem (lorawan/modem_emulator) on a device MAC and the network server, and
// against a modem that misbehaves.
#include "lorawan/at_modem.hpp"

#include <gtest/gtest.h>

#include "lorawan/chirpstack.hpp"
#include "lorawan/modem_emulator.hpp"
#include "lorawan/network_server.hpp"

namespace tether::lorawan {
namespace {

namespace cs = chirpstack;

class StepRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = static_cast<std::uint8_t>(++n_ * 37);
  }

 private:
  std::uint8_t n_ = 0;
};

struct Bench {
  Bench() : ns(ns_config(), random), mac(mac_config()), emulator(mac), modem(AtModemConfig{}) {
    ns.add_device(0x70b3d57ed0000001, DeviceClass::kA, 3);
  }
  static NetworkServerConfig ns_config() {
    NetworkServerConfig c;
    c.application = "app";
    c.region = Region::kUs915;
    return c;
  }
  static DeviceMacConfig mac_config() {
    DeviceMacConfig c;
    c.dev_eui = 0x70b3d57ed0000001;
    c.region = Region::kUs915;
    c.dr = 3;
    return c;
  }
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      if (auto out = modem.take_output(); !out.empty()) {
        moved = true;
        emulator.receive(out, now);
      }
      while (auto u = mac.poll_transmit()) {
        moved = true;
        ns.on_uplink(*u, now);
      }
      while (auto d = ns.poll_air()) {
        moved = true;
        mac.receive(*d, now);
      }
      while (auto e = mac.poll_event()) {
        moved = true;
        emulator.on_mac_event(*e);
      }
      if (auto out = emulator.take_output(); !out.empty()) {
        moved = true;
        modem.receive(out, now);
      }
      while (auto e = modem.poll_event()) {
        moved = true;
        events.push_back(std::move(*e));
      }
      while (auto p = ns.poll_publication()) publications.push_back(std::move(*p));
    }
  }
  void run(Duration span) {
    const Instant end = now + span;
    for (int i = 0; i < 10'000; ++i) {
      pump();
      std::optional<Instant> next;
      for (auto at : {ns.next_deadline(), mac.next_deadline(), modem.next_deadline()}) {
        if (at && (!next || *at < *next)) next = at;
      }
      if (!next || *next > end) break;
      now = std::max(now, *next);
      ns.on_timer(now);
      mac.on_timer(now);
      modem.on_timer(now);
    }
    now = end;
    pump();
  }
  std::size_t count(AtModemEvent::Kind kind) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == kind;
    return n;
  }
  StepRandom random;
  Instant now{};
  NetworkServer ns;
  DeviceMac mac;
  ModemEmulator emulator;
  AtModem modem;
  std::vector<AtModemEvent> events;
  std::vector<Publication> publications;
};

TEST(LorawanAtModem, StartsSendsConfirmedAndUnconfirmedAndHearsDownlinks) {
  Bench b;
  b.modem.start(b.now);
  b.run(Duration{1000});
  ASSERT_TRUE(b.modem.ready());
  EXPECT_EQ(b.modem.dev_eui(), 0x70b3d57ed0000001u);
  EXPECT_EQ(b.modem.max_payload(), 242u);  // US915 DR3
  EXPECT_EQ(b.count(AtModemEvent::Kind::kReady), 1u);

  // A downlink waiting at the network rides the first uplink's window.
  cs::DownlinkCommand c;
  c.dev_eui = 0x70b3d57ed0000001;
  c.f_port = 2;
  c.data = {0x40, 0x01, 0x00, 0x07};
  b.ns.on_command(cs::command_topic("app", c.dev_eui), to_bytes(cs::to_json(c)), b.now);
  auto first = b.modem.send(2, {1, 2, 3}, false, b.now);
  auto second = b.modem.send(2, {4}, true, b.now);  // waits its turn (AT_BUSY_ERROR, retried)
  ASSERT_TRUE(first && second);
  b.run(Duration{30'000});
  EXPECT_EQ(b.count(AtModemEvent::Kind::kSent), 2u);
  ASSERT_EQ(b.count(AtModemEvent::Kind::kReceived), 1u);
  for (const auto& e : b.events) {
    if (e.kind == AtModemEvent::Kind::kReceived) {
      EXPECT_EQ(e.payload, c.data);
    }
  }
  EXPECT_EQ(b.ns.counters().uplinks, 2u);
  EXPECT_EQ(b.emulator.bad_commands(), 0u);
}

TEST(LorawanAtModem, ATooLongFrameFailsAndTheNextOneGoes) {
  Bench b;
  b.modem.start(b.now);
  b.run(Duration{1000});
  auto big = b.modem.send(2, Bytes(243, 0), false, b.now);  // over DR3's 242
  auto small = b.modem.send(2, Bytes(3, 0), false, b.now);
  ASSERT_TRUE(big && small);
  b.run(Duration{30'000});
  ASSERT_GE(b.events.size(), 3u);
  EXPECT_EQ(b.count(AtModemEvent::Kind::kFailed), 1u);
  EXPECT_EQ(b.count(AtModemEvent::Kind::kSent), 1u);
}

TEST(LorawanAtModem, ASilentModemIsStartedAgainAndGarbageIsCounted) {
  AtModem modem(AtModemConfig{});
  Instant now{};
  modem.start(now);
  EXPECT_EQ(to_string(modem.take_output()), "AT\r\n");
  now += Duration{5'000};
  modem.on_timer(now);
  auto e = modem.poll_event();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, AtModemEvent::Kind::kRestarting);
  now += Duration{5'000};
  modem.on_timer(now);
  EXPECT_EQ(to_string(modem.take_output()), "AT\r\n");  // from the start
  modem.receive(to_bytes("+EVT:RX_1:-60:9:UNICAST:2:XYZ\r\n"), now);
  modem.receive(to_bytes(std::string(2000, 'A') + "\r\n"), now);
  modem.receive(to_bytes("+EVT:RX_1:-60:9:UNICAST:0:00\r\n"), now);
  std::size_t malformed = 0;
  while (auto m = modem.poll_event()) malformed += m->kind == AtModemEvent::Kind::kMalformed;
  EXPECT_EQ(malformed, 3u);
  EXPECT_FALSE(modem.ready());
}

TEST(LorawanModemEmulator, RefusesCommandsItDoesNotKnow) {
  DeviceMac mac(Bench::mac_config());
  ModemEmulator emulator(mac);
  emulator.receive(to_bytes("AT+SEND=0:00\r\nAT+SEND=2:0\r\nAT+SEND=2:zz\r\nATZ\r\n"), Instant{});
  EXPECT_EQ(to_string(emulator.take_output()),
            "AT_PARAM_ERROR\r\nAT_PARAM_ERROR\r\nAT_PARAM_ERROR\r\nAT_COMMAND_NOT_FOUND\r\n");
  EXPECT_EQ(emulator.bad_commands(), 4u);
}

}  // namespace
}  // namespace tether::lorawan
