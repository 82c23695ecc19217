// --workers (issue 22), on virtual time: two workers' servers, each with its own store, and
// a device whose datagrams start reaching the other worker (a NAT rebinding, a restart with
// another --workers). Its Update is held while the other worker hands the registration
// over, observations included, and then answered 2.04 instead of 4.04.
#include <gtest/gtest.h>

#include <deque>

#include "server/registration_handover.hpp"
#include "server/store/memory/memory_store.hpp"
#include "server/workers/worker_directory.hpp"
#include "server/workers/worker_store.hpp"
#include "server_fixture.hpp"

namespace tether::server::testing {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;

constexpr coap::PeerId kOtherWorker = 2;

// What WorkerGroup does between loops (the asks, and the moved notice that makes the giver
// let go once the taker has it), with its posts run from the network's timers (later, as a
// post to another thread's loop would be). Each worker's store is a WorkerStore, as in
// `tether server --workers 2`.
class TwoWorkers {
 public:
  explicit TwoWorkers(SimNetwork& net, ServerConfig config = {})
      : a(net, worker_a, config), b(net, worker_b, config, {}, kOtherWorker) {
    a.server.set_handover(&askers_[0]);
    b.server.set_handover(&askers_[1]);
    net.add_timer_source(
        [this, &net]() -> std::optional<Instant> {
          return posts_.empty() ? std::nullopt : std::optional<Instant>(net.now());
        },
        [this](Instant) {
          while (!posts_.empty()) {
            auto next = std::move(posts_.front());
            posts_.pop_front();
            next();
          }
        });
  }

  MemoryStore store_a, store_b;
  SharedCredentials credentials{store_a};
  WorkerDirectory directory;
  WorkerStore worker_a{store_a, credentials, directory, 0, moved()};
  WorkerStore worker_b{store_b, credentials, directory, 1, moved()};
  ServerHarness a, b;
  std::size_t asks = 0;
  bool mute = false;  // asks go out, answers never come (a worker whose loop stopped)

 private:
  class Asker final : public RegistrationHandover {
   public:
    Asker(TwoWorkers& w, std::size_t self) : w_(w), self_(self) {}
    std::size_t ask(std::uint64_t ask, const std::string& location,
                    const PeerIdentity& identity) override {
      ++w_.asks;
      if (w_.mute) return 1;
      w_.posts_.push_back([this, ask, location, identity] {
        auto found = w_.server(self_ == 0 ? 1 : 0).hand_over(location, identity);
        w_.posts_.push_back([this, ask, found] { w_.server(self_).handed(ask, found); });
      });
      return 1;
    }

   private:
    TwoWorkers& w_;
    std::size_t self_;
  };
  Lwm2mServer& server(std::size_t k) { return k == 0 ? a.server : b.server; }
  WorkerStore::MovedHandler moved() {
    return [this](std::size_t from, const std::string& endpoint) {
      posts_.push_back([this, from, endpoint] {
        if (directory.owner(endpoint) != from) server(from).release(endpoint);
      });
    };
  }

  std::deque<std::function<void()>> posts_;
  std::array<Asker, 2> askers_{Asker{*this, 0}, Asker{*this, 1}};
};

std::string observe(ServerHarness& h, SimNetwork& net, const std::string& endpoint) {
  DownlinkRequest r;
  r.op = Operation::kObserve;
  r.path = Path{3, 0, 9};
  std::optional<DownlinkResult> got;
  h.server.send(endpoint, r, {}, [&](DownlinkResult d) { got = std::move(d); });
  net.run_until([&] { return got.has_value(); }, Duration{10'000});
  return got ? got->observation_id : std::string{};
}

// dev1 registered with worker A; its requests now reach worker B.
class ServerHandoverTest : public ::testing::Test {
 protected:
  void register_with_a_then_reach_b() {
    ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
    client.server_address = kOtherWorker;
  }
  SimNetwork net;
  TwoWorkers w{net};
  FakeClient client{net, 100};
};

TEST_F(ServerHandoverTest, AnUpdateReachingAnotherWorkerMovesTheRegistrationThere) {
  client.answer = [](const Message& req) {
    Message res = text_content("1");
    if (req.observe() == 0u) res.set_observe(1);
    return res;
  };
  ASSERT_EQ(client.register_with({"ep=dev1", "lt=600"})->code, codes::kCreated);
  const std::string observation = observe(w.a, net, "dev1");
  ASSERT_FALSE(observation.empty());
  const std::string location = client.location;

  // Its NAT rebinds: it speaks from a new address, which the kernel hashes to worker B.
  FakeClient moved(net, 101);
  moved.answer = client.answer;
  moved.location = location;
  moved.server_address = kOtherWorker;
  ASSERT_EQ(moved.update({"lt=900"})->code, codes::kChanged);
  net.settle();  // the moved notice reaches A
  EXPECT_EQ(w.asks, 1u);
  EXPECT_EQ(w.a.server.find("dev1"), nullptr);
  ASSERT_NE(w.b.server.find("dev1"), nullptr);
  EXPECT_EQ("/rd/" + w.b.server.find("dev1")->id, location);
  EXPECT_EQ(w.b.server.find("dev1")->lifetime, 900u);
  EXPECT_EQ(w.b.server.find("dev1")->address, "10.0.0.1:101");
  EXPECT_EQ(w.directory.owner("dev1"), 1u);
  EXPECT_EQ(w.b.server.metrics().takeovers, 1u);
  // The observation came along under its id; each store holds what its worker serves.
  ASSERT_EQ(w.b.server.observations("dev1").size(), 1u);
  EXPECT_EQ(w.b.server.observations("dev1")[0].id, observation);
  EXPECT_TRUE(w.a.server.observations("dev1").empty());
  EXPECT_TRUE(w.store_a.load_registrations()->empty());
  EXPECT_TRUE(w.store_a.load_observations()->empty());
  ASSERT_EQ(w.store_b.load_registrations()->size(), 1u);
  EXPECT_EQ(w.store_b.load_observations()->size(), 1u);
  // The client did not leave: no worker reports it gone, and B reports its Update.
  EXPECT_TRUE(w.a.events_of(ServerEvent::Kind::kDeregistered).empty());
  EXPECT_EQ(w.b.events_of(ServerEvent::Kind::kUpdated).size(), 1u);

  // B serves it from now on: the next Update costs no ask, and B reaches the client at
  // its new address.
  ASSERT_EQ(moved.update()->code, codes::kChanged);
  EXPECT_EQ(w.asks, 1u);
  std::optional<DownlinkResult> read;
  DownlinkRequest r;
  r.op = Operation::kRead;
  r.path = Path{3, 0, 0};
  w.b.server.send("dev1", r, {}, [&](DownlinkResult d) { read = std::move(d); });
  net.run_until([&] { return read.has_value(); }, Duration{10'000});
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, DownlinkResult::Status::kAnswered) << read->message;
  ASSERT_FALSE(moved.received.empty());
  EXPECT_EQ(moved.received.back().path(), "/3/0/0");
}

TEST_F(ServerHandoverTest, ADeregisterReachingAnotherWorkerEndsTheRegistrationThere) {
  register_with_a_then_reach_b();
  ASSERT_EQ(client.exchange(coap::make_request(codes::kDelete, client.location))->code,
            codes::kDeleted);
  net.settle();
  EXPECT_EQ(w.a.server.find("dev1"), nullptr);
  EXPECT_EQ(w.b.server.find("dev1"), nullptr);
  EXPECT_TRUE(w.store_a.load_registrations()->empty());
  EXPECT_TRUE(w.store_b.load_registrations()->empty());
  EXPECT_EQ(w.b.events_of(ServerEvent::Kind::kDeregistered).size(), 1u);
}

// Transport TS 5.2.6: a location is no credential. Another identity asking for it gets
// nothing, and the registration stays where it was.
TEST_F(ServerHandoverTest, OnlyTheRegistrantsIdentityMovesARegistration) {
  ASSERT_EQ(client.register_with({"ep=dev1"})->code, codes::kCreated);
  const std::string id = w.a.server.find("dev1")->id;
  PeerIdentity stranger;
  stranger.transport = "dtls";
  stranger.address = "10.0.0.9:4000";
  stranger.psk_identity = "someone-else";
  EXPECT_FALSE(w.a.server.hand_over(id, stranger));
  EXPECT_NE(w.a.server.find("dev1"), nullptr);
  EXPECT_EQ(w.store_a.load_registrations()->size(), 1u);
  PeerIdentity same;
  same.transport = "udp";
  same.address = "10.0.0.9:4000";
  auto given = w.a.server.hand_over(id, same);
  ASSERT_TRUE(given);
  EXPECT_EQ(given->registration.endpoint, "dev1");
  // A copy: A lets its own go only when the directory says B has it.
  EXPECT_NE(w.a.server.find("dev1"), nullptr);
}

// A worker whose loop stopped never answers: the Update is answered as for a location
// nobody holds once the wait runs out, and the registration is still where it was.
TEST_F(ServerHandoverTest, AnAskNobodyAnswersEndsInNotFound) {
  register_with_a_then_reach_b();
  w.mute = true;
  const Instant asked = net.now();
  EXPECT_EQ(client.update()->code, codes::kNotFound);
  EXPECT_GE(net.now() - asked, Duration{2'000});
  EXPECT_EQ(w.asks, 1u);
  EXPECT_NE(w.a.server.find("dev1"), nullptr);
  EXPECT_EQ(w.b.server.find("dev1"), nullptr);
}

// A made-up location costs one ask, then 4.04 as on one worker; over the cap of asks in
// flight it is 4.04 at once.
TEST_F(ServerHandoverTest, ALocationNoWorkerHoldsIsNotFoundAfterOneAsk) {
  register_with_a_then_reach_b();
  Message stray = coap::make_request(codes::kPost, "/rd/not-a-registration");
  EXPECT_EQ(client.exchange(std::move(stray))->code, codes::kNotFound);
  EXPECT_EQ(w.asks, 1u);
  EXPECT_NE(w.a.server.find("dev1"), nullptr);
  EXPECT_EQ(w.b.server.metrics().takeovers, 0u);

  SimNetwork net2;
  ServerConfig capped;
  capped.max_handovers_in_flight = 0;
  TwoWorkers w2(net2, capped);
  FakeClient client2(net2, 100);
  ASSERT_EQ(client2.register_with({"ep=dev1"})->code, codes::kCreated);
  client2.server_address = kOtherWorker;
  EXPECT_EQ(client2.update()->code, codes::kNotFound);
  EXPECT_EQ(w2.asks, 0u);
  EXPECT_NE(w2.a.server.find("dev1"), nullptr);
}

}  // namespace
}  // namespace tether::server::testing
