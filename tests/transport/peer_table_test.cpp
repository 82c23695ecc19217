// The UDP transport's address table on virtual time: unheld addresses are forgotten when
// idle or over the cap, held ones never, and a forgotten PeerId never names another peer.
#include "transport/udp/peer_table.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <set>

namespace tether::transport {
namespace {

using namespace std::chrono_literals;

const Instant kStart = Instant{} + 1000s;

SocketAddress at_port(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&a), sizeof(a));
}

const auto kNeverBusy = [](coap::PeerId) { return false; };

TEST(PeerTable, AnAddressKeepsItsIdUntilItIsForgottenWhenIdle) {
  PeerTable t(PeerTableLimits{60s, 1000});
  const auto a = t.id_of(at_port(1), kStart);
  const auto b = t.id_of(at_port(2), kStart + 30s);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.id_of(at_port(1), kStart + 10s), a);
  ASSERT_NE(t.address_of(a), nullptr);
  EXPECT_EQ(t.address_of(a)->port(), 1);
  // Not idle long enough yet: nothing goes.
  EXPECT_TRUE(t.sweep(kStart + 65s, kNeverBusy, 100).empty());
  // b was last active at +30 s; a at +10 s, which puts it back in line behind b: it goes
  // at most one idle limit late, with b.
  EXPECT_TRUE(t.sweep(kStart + 71s, kNeverBusy, 100).empty());
  EXPECT_EQ(t.sweep(kStart + 90s, kNeverBusy, 100), (std::vector<coap::PeerId>{b, a}));
  EXPECT_EQ(t.address_of(a), nullptr);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.next_sweep());
  // Heard again: a new id, even though it takes the same slot.
  const auto again = t.id_of(at_port(1), kStart + 100s);
  EXPECT_NE(again, a);
  EXPECT_NE(again, b);
  EXPECT_EQ(t.address_of(b), nullptr);
}

TEST(PeerTable, SendingToAPeerKeepsItAsMuchAsHearingFromIt) {
  PeerTable t(PeerTableLimits{60s, 1000});
  const auto a = t.id_of(at_port(1), kStart);
  ASSERT_NE(t.address_for_send(a, kStart + 50s), nullptr);
  EXPECT_TRUE(t.sweep(kStart + 100s, kNeverBusy, 100).empty());
  EXPECT_EQ(t.next_sweep(), kStart + 110s);
  EXPECT_EQ(t.sweep(kStart + 110s, kNeverBusy, 100).size(), 1u);
}

TEST(PeerTable, AHeldPeerStaysUntilReleasedThenIdlesFromTheRelease) {
  PeerTable t(PeerTableLimits{60s, 1000});
  const auto a = t.id_of(at_port(1), kStart);
  EXPECT_TRUE(t.hold(a));
  EXPECT_TRUE(t.hold(a));
  EXPECT_EQ(t.loose(), 0u);
  EXPECT_TRUE(t.sweep(kStart + 3600s, kNeverBusy, 100).empty());
  t.release(a, kStart + 4000s);
  EXPECT_TRUE(t.sweep(kStart + 5000s, kNeverBusy, 100).empty()) << "still held once";
  t.release(a, kStart + 5000s);
  EXPECT_TRUE(t.sweep(kStart + 5059s, kNeverBusy, 100).empty());
  EXPECT_EQ(t.sweep(kStart + 5060s, kNeverBusy, 100), std::vector<coap::PeerId>{a});
  // Releasing or holding a forgotten id does nothing; the holder is told.
  t.release(a, kStart + 5060s);
  EXPECT_FALSE(t.hold(a));
  EXPECT_EQ(t.size(), 0u);
}

TEST(PeerTable, ABusyPeerIsKeptAndAskedAgainLater) {
  PeerTable t(PeerTableLimits{60s, 1000});
  const auto a = t.id_of(at_port(1), kStart);
  bool busy = true;
  const auto is_busy = [&](coap::PeerId) { return busy; };
  EXPECT_TRUE(t.sweep(kStart + 60s, is_busy, 100).empty());
  busy = false;
  EXPECT_TRUE(t.sweep(kStart + 119s, is_busy, 100).empty());
  EXPECT_EQ(t.sweep(kStart + 120s, is_busy, 100), std::vector<coap::PeerId>{a});
}

// A flood from spoofed sources: beyond the cap the longest idle go first, even before the
// idle limit, and held peers are never counted or taken.
TEST(PeerTable, OverTheCapTheLongestIdleGoFirstAndHeldOnesStay) {
  PeerTable t(PeerTableLimits{600s, 100});
  const auto registered = t.id_of(at_port(1), kStart);
  ASSERT_TRUE(t.hold(registered));
  const auto busy_one = t.id_of(at_port(2), kStart);
  const auto is_busy = [&](coap::PeerId p) { return p == busy_one; };
  std::vector<coap::PeerId> flood;
  for (std::uint16_t port = 1000; port < 1500; ++port) {
    flood.push_back(t.id_of(at_port(port), kStart + std::chrono::seconds(port - 1000)));
    if (t.over_cap()) (void)t.sweep(kStart + std::chrono::seconds(port - 1000), is_busy, 64);
  }
  EXPECT_LE(t.loose(), 100u);
  EXPECT_NE(t.address_of(registered), nullptr);
  EXPECT_NE(t.address_of(busy_one), nullptr);
  // The newest of the flood are the ones kept.
  EXPECT_NE(t.address_of(flood.back()), nullptr);
  EXPECT_EQ(t.address_of(flood.front()), nullptr);
  // Ids stay unique across reuse of slots.
  std::set<coap::PeerId> unique(flood.begin(), flood.end());
  EXPECT_EQ(unique.size(), flood.size());
  // Bounded work: one sweep forgets at most what it was asked.
  for (std::uint16_t port = 2000; port < 2300; ++port) (void)t.id_of(at_port(port), kStart + 600s);
  EXPECT_EQ(t.sweep(kStart + 600s, is_busy, 50).size(), 50u);
}

}  // namespace
}  // namespace tether::transport
