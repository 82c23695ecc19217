// The TS 27.007 non-IP dialogue on virtual time: our driver (nidd/nidd_modem) against the
// SCEF simulator's modem (nidd/nidd_modem_emulator), and against lines a modem should not send.
#include "nidd/nidd_modem.hpp"

#include <gtest/gtest.h>

#include "nidd/nidd_modem_emulator.hpp"
#include "nidd/psm_timers.hpp"

namespace tether::nidd {
namespace {

struct Line {
  explicit Line(NiddModemConfig c = {}) : modem(std::move(c)) {}
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      if (auto out = modem.take_output(); !out.empty()) {
        moved = true;
        emulator.receive(out);
      }
      if (auto out = emulator.take_output(); !out.empty()) {
        moved = true;
        modem.receive(out, now);
      }
    }
    while (auto e = modem.poll_event()) events.push_back(std::move(*e));
  }
  void run(Duration span) {
    const Instant end = now + span;
    for (int i = 0; i < 1000; ++i) {
      pump();
      auto next = modem.next_deadline();
      if (!next || *next > end) break;
      now = std::max(now, *next);
      modem.on_timer(now);
    }
    now = end;
    pump();
  }
  Instant now{};
  NiddModem modem;
  NiddModemEmulator emulator;
  std::vector<NiddModemEvent> events;
};

TEST(NiddModem, StartsSetsPsmSendsWithReleaseAssistanceAndHearsPackets) {
  NiddModemConfig c;
  c.psm_t3412 = *encode_t3412(Duration{3'600'000});
  c.psm_t3324 = *encode_t3324(Duration{60'000});
  Line l(c);
  l.emulator.set_attached(false);
  l.modem.start(l.now);
  l.run(Duration{10'000});
  EXPECT_FALSE(l.modem.ready());  // not attached yet: it keeps asking
  l.emulator.set_attached(true);
  l.run(Duration{5'000});
  ASSERT_TRUE(l.modem.ready());
  EXPECT_EQ(l.emulator.periodic_tau(), Duration{3'600'000});
  EXPECT_EQ(l.emulator.active_time(), Duration{60'000});

  auto h = l.modem.send({0x40, 0x02, 0x00, 0x01}, ReleaseAssistance::kOneDownlink, l.now);
  ASSERT_TRUE(h);
  l.run(Duration{1'000});
  auto up = l.emulator.poll_uplink();
  ASSERT_TRUE(up);
  EXPECT_EQ(up->first, (Bytes{0x40, 0x02, 0x00, 0x01}));
  EXPECT_EQ(up->second, ReleaseAssistance::kOneDownlink);
  l.emulator.deliver({0x60, 0x44, 0x00, 0x01});
  l.pump();
  std::size_t sent = 0, received = 0;
  for (const auto& e : l.events) {
    sent += e.kind == NiddModemEvent::Kind::kSent && e.handle == *h;
    received += e.kind == NiddModemEvent::Kind::kReceived;
  }
  EXPECT_EQ(sent, 1u);
  EXPECT_EQ(received, 1u);
  EXPECT_FALSE(l.modem.send(Bytes(1359, 0), ReleaseAssistance::kNone, l.now));
}

TEST(NiddModem, ReadsOnlyWellFormedPacketsAndStartsOverWhenSilent) {
  NiddModem modem{NiddModemConfig{}};
  Instant now{};
  modem.start(now);
  EXPECT_EQ(to_string(modem.take_output()), "AT\r\n");
  modem.receive(to_bytes("+CRTDCP: 1,3,\"0102\"\r\n"), now);      // length disagrees
  modem.receive(to_bytes("+CRTDCP: 1,2,\"01ZZ\"\r\n"), now);      // not hex
  modem.receive(to_bytes("+CRTDCP: 1,0,\"\"\r\n"), now);          // empty
  modem.receive(to_bytes(std::string(5000, '9') + "\r\n"), now);  // too long
  std::size_t malformed = 0;
  while (auto e = modem.poll_event()) malformed += e->kind == NiddModemEvent::Kind::kMalformed;
  EXPECT_EQ(malformed, 4u);
  now += Duration{5'000};
  modem.on_timer(now);
  auto e = modem.poll_event();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, NiddModemEvent::Kind::kRestarting);
}

TEST(NiddModemEmulator, RefusesBadCommands) {
  NiddModemEmulator emulator;
  emulator.receive(
      to_bytes("AT+CSODCP=2,1,\"01\"\r\nAT+CSODCP=1,2,\"01\"\r\n"
               "AT+CSODCP=1,1,\"01\",7\r\nAT+CPSMS=1,,,\"x\",\"y\"\r\nATD123\r\n"));
  EXPECT_EQ(emulator.bad_commands(), 5u);
  EXPECT_FALSE(emulator.poll_uplink());
}

}  // namespace
}  // namespace tether::nidd
