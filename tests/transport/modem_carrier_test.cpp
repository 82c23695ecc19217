// The client's modem carrier on a real pseudo-terminal: a modem that answers the start-up
// dialogue, and one that goes away (the other side hangs up, as an unplugged USB modem does).
#include "transport/sms/modem_carrier.hpp"

#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace tether::transport {
namespace {

struct Pty {
  Pty() {
    if (::openpty(&master, &slave, name, nullptr, nullptr) != 0) master = slave = -1;
  }
  ~Pty() {
    if (master >= 0) ::close(master);
    if (slave >= 0) ::close(slave);
  }
  int master = -1;
  int slave = -1;
  char name[256] = {};
};

TEST(ModemCarrier, AModemThatHangsUpIsClosedNotSpunOn) {
  Pty pty;
  ASSERT_GE(pty.master, 0);
  EventLoop loop;
  ModemOptions o;
  o.device = pty.name;
  o.modem.own_number = "+15550001";
  ModemCarrier carrier(loop, o);
  std::vector<std::string> events;
  carrier.set_reporter([&](const std::string& e, const std::string&) { events.push_back(e); });
  loop.run_once(Duration{10});
  // The other side goes away: reads now fail with EIO and the descriptor stays readable.
  ::close(pty.master);
  pty.master = -1;
  ::close(pty.slave);
  pty.slave = -1;
  int turns = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) {
    loop.run_once(Duration{20});
    ++turns;
  }
  EXPECT_EQ(std::count(events.begin(), events.end(), "modem-lost"), 1);
  // Waiting, not spinning: each turn sleeps until its 20 ms pass (a spinning loop turns
  // thousands of times).
  EXPECT_LT(turns, 100);
  // What is sent meanwhile waits in the modem's queue instead of failing.
  sms::ShortMessage m;
  m.to = "+15559999";
  m.data = Bytes{1, 2, 3};
  carrier.send(m);
  EXPECT_EQ(carrier.counters().send_failures, 0u);
}

}  // namespace
}  // namespace tether::transport
