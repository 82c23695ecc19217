// One OSCORE context held by two workers (`tether server --workers N`): each worker's
// keyring keeps a copy, so a device whose datagrams move to another worker goes on there.
// The copies reserve their Sender Sequence Numbers from one bound, so no nonce is sent
// twice, and a copy acts on a request only after proving freshness again (Echo, RFC 9175)
// when the other copy acted last, so a request one worker accepted cannot be replayed to
// the other.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "coap/endpoint.hpp"
#include "coap/sim_network.hpp"
#include "oscore/context_pair.hpp"
#include "oscore/keyring.hpp"
#include "oscore/protection.hpp"

namespace tether::oscore {
namespace {

using coap::Message;
using coap::PeerId;
namespace codes = coap::codes;

using fixture::kClient;
using fixture::side;

constexpr PeerId kWorkerA = 2;
constexpr PeerId kWorkerB = 3;
constexpr std::uint64_t kStep = 8;

// The store's one bound that every worker reserves from (WorkerStore::reserve_sequences).
struct SharedBound {
  std::uint64_t bound = 0;
  int reservations = 0;
  std::optional<std::uint64_t> reserve(std::uint64_t from, std::uint64_t step) {
    const std::uint64_t start = std::max(from, bound);
    bound = start + step;
    ++reservations;
    return start;
  }
};

struct Worker {
  Worker(std::uint32_t index, ContextHolders& holders, SharedBound& store,
         coap::sim::SimNetwork& net) {
    ring.share_holding(holders, index);
    ring.reserve_sequences(kStep,
                           [&store](const std::string&, std::uint64_t from, std::uint64_t step) {
                             return store.reserve(from, step);
                           });
    EXPECT_TRUE(ring.put("dev", side(0x5e, 0xc1)));
    coap::EndpointConfig config;
    config.decorator = std::make_shared<OscoreDecorator>(ring.peers("udp"));
    node = std::make_unique<coap::sim::Node>(std::move(config), index + 10);
    node->endpoint.set_request_handler([this, &net](PeerId, const Message& req, coap::Responder r) {
      ++handled;
      r.respond(coap::make_response(req, codes::kContent), net.now());
    });
  }
  Keyring ring;
  std::unique_ptr<coap::sim::Node> node;
  int handled = 0;
};

struct TwoWorkers {
  TwoWorkers() : a(0, holders, store, net), b(1, holders, store, net) {
    net.add(kWorkerA, *a.node);
    net.add(kWorkerB, *b.node);
    net.add_raw(kClient);
  }
  // The device's request, protected with its next sequence number.
  ProtectedRequest request(const Bytes& echo = {}) {
    Message m = coap::make_request(codes::kPost, "/rd/x");
    m.message_id = next_mid;
    m.token = {0x42, static_cast<std::uint8_t>(next_mid)};
    ++next_mid;
    if (!echo.empty()) m.options.set(coap::option::kEcho, echo);
    auto p = protect_request(*device, m);
    EXPECT_TRUE(p);
    return std::move(*p);
  }
  // Sends `p` (again, under a new message ID: a replay) to a worker; its verified answer.
  std::optional<Message> send(PeerId to, const ProtectedRequest& p) {
    Message m = p.message;
    m.message_id = next_mid++;
    const std::size_t before = net.raw_inbox(kClient).size();
    net.send_raw(kClient, to, m);
    net.run_for(Duration{1'000});
    if (net.raw_inbox(kClient).size() == before) return std::nullopt;
    auto answer = unprotect_response(*device, p.binding, *net.raw_inbox(kClient).back().message);
    if (!answer) return std::nullopt;
    return std::move(*answer);
  }
  // The device's request to `to`, answering an Echo challenge once: the final answer.
  std::optional<Message> ask(PeerId to, int* challenges) {
    auto answer = send(to, request());
    if (answer && answer->code == codes::kUnauthorized) {
      const coap::Option* echo = answer->options.find(coap::option::kEcho);
      if (echo == nullptr) return answer;
      ++*challenges;
      answer = send(to, request(echo->value.bytes()));
    }
    return answer;
  }

  coap::sim::SimNetwork net;
  ContextHolders holders;
  SharedBound store;
  Worker a;
  Worker b;
  SharedContext device =
      std::make_shared<SecurityContext>(*SecurityContext::derive(side(0xc1, 0x5e)));
  std::uint16_t next_mid = 100;
};

TEST(SharedOscoreContext, ARequestOneWorkerTookCannotBeReplayedToTheOther) {
  TwoWorkers t;
  int challenges = 0;
  // The device starts on worker B: a context fresh from the start asks for Echo once.
  auto first = t.ask(kWorkerB, &challenges);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->code, codes::kContent);
  EXPECT_EQ(challenges, 1);
  ASSERT_EQ(t.ask(kWorkerB, &challenges)->code, codes::kContent);
  EXPECT_EQ(challenges, 1);
  EXPECT_EQ(t.b.handled, 2);

  // Its NAT rebinds and its datagrams reach worker A: Echo first there too.
  ASSERT_EQ(t.ask(kWorkerA, &challenges)->code, codes::kContent);
  EXPECT_EQ(challenges, 2);
  const ProtectedRequest taken = t.request();
  ASSERT_EQ(t.send(kWorkerA, taken)->code, codes::kContent);
  EXPECT_EQ(t.a.handled, 2);

  // An onlooker replays what worker A took to worker B, whose own window never saw it:
  // B acted on nothing since A did, so it only asks for Echo, and acts on nothing.
  auto replayed = t.send(kWorkerB, taken);
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->code, codes::kUnauthorized);
  EXPECT_NE(replayed->options.find(coap::option::kEcho), nullptr);
  EXPECT_EQ(t.b.handled, 2);
  // And to A itself it is a replay, refused outright.
  const std::size_t before = t.net.raw_inbox(kClient).size();
  Message again = taken.message;
  again.message_id = 999;
  t.net.send_raw(kClient, kWorkerA, again);
  t.net.run_for(Duration{1'000});
  ASSERT_GT(t.net.raw_inbox(kClient).size(), before);
  EXPECT_EQ(to_string(t.net.raw_inbox(kClient).back().message->payload), "Replay detected");
  EXPECT_EQ(t.a.handled, 2);

  // The device moves back to B: one Echo, then B serves it.
  ASSERT_EQ(t.ask(kWorkerB, &challenges)->code, codes::kContent);
  EXPECT_EQ(challenges, 3);
  EXPECT_EQ(t.b.handled, 3);
}

TEST(SharedOscoreContext, CopiesNeverSendTheSameSequenceNumber) {
  TwoWorkers t;
  SharedContext a = t.a.ring.find("dev");
  SharedContext b = t.b.ring.find("dev");
  ASSERT_NE(a, b);  // each worker's own copy
  std::set<std::uint64_t> sent;
  std::uint64_t last_a = 0;
  std::uint64_t last_b = 0;
  // Uneven turns, so that each copy runs past its window while the other is inside its own.
  for (int i = 0; i < 60; ++i) {
    const bool on_a = i % 3 != 0;
    auto n = (on_a ? a : b)->next_sequence();
    ASSERT_TRUE(n);
    EXPECT_TRUE(sent.insert(*n).second) << "sequence number " << *n << " sent twice";
    std::uint64_t& last = on_a ? last_a : last_b;
    if (last != 0) {
      EXPECT_GT(*n, last);  // each copy's numbers only grow
    }
    last = *n;
    EXPECT_LT(*n, t.store.bound);  // nothing goes out past what is stored
  }
  EXPECT_EQ(t.store.reservations, 5 + 3);  // 40 numbers on A and 20 on B, in windows of 8
  a->mark_held();
  EXPECT_FALSE(a->held_elsewhere());
  EXPECT_TRUE(b->held_elsewhere());
  // A context derived from a copy (RFC 8613 B.2) is held as that copy is.
  SharedContext derived = t.b.ring.peers("udp").derive_with(b, Bytes{1, 2, 3});
  ASSERT_NE(derived, nullptr);
  EXPECT_TRUE(derived->held_elsewhere());
  derived->mark_held();
  EXPECT_FALSE(b->held_elsewhere());
  EXPECT_TRUE(a->held_elsewhere());
}

// A mark per context name, however many there are; those no copy holds any longer go.
TEST(SharedOscoreContext, HoldersKeepAMarkPerNameAndForgetUnheldOnes) {
  ContextHolders holders;
  std::vector<SecurityContext::LastHolder> held;
  for (int i = 0; i < 1000; ++i) {
    held.push_back(holders.of("dev-" + std::to_string(i)));
    ASSERT_NE(held.back(), nullptr);
    EXPECT_EQ(held.back()->load(), ContextHolders::kNobody);
  }
  EXPECT_EQ(holders.of("dev-7"), held[7]);  // the same mark for the same name
  held[7]->store(3);
  held.resize(10);  // the copies of dev-10 and above were removed
  // The map is swept each time it doubles: by then the unheld marks are gone.
  for (int i = 0; i < 1100; ++i) (void)holders.of("new-" + std::to_string(i));
  EXPECT_EQ(holders.of("dev-7")->load(), 3U);
  EXPECT_LT(holders.size(), 200U);
}

}  // namespace
}  // namespace tether::oscore
