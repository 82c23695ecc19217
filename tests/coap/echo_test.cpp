// RFC 9175 Echo: a server demands proof of freshness, the client endpoint supplies it.
#include <gtest/gtest.h>

#include "coap/endpoint.hpp"
#include "sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClient = 1;
constexpr PeerId kServer = 2;

EndpointConfig echo_for_post(Duration freshness = Duration{60'000}) {
  EndpointConfig c;
  c.echo_freshness = freshness;
  c.require_echo = [](PeerId, const Message& m, Instant) { return m.code == codes::kPost; };
  return c;
}

struct EchoFixture {
  explicit EchoFixture(EndpointConfig server_config = echo_for_post())
      : client({}, 1), server(std::move(server_config), 2) {
    net.set_latency(Duration{20});
    net.add(kClient, client);
    net.add(kServer, server);
    server.endpoint.set_request_handler([this](PeerId, const Message& req, Responder r) {
      ++calls;
      seen.push_back(req);
      r.respond(make_response(req, req.code == codes::kPost ? codes::kChanged : codes::kContent),
                net.now());
    });
  }
  Recorder post(Message m = make_request(codes::kPost, "/1/0/8")) {
    Recorder rec;
    client.endpoint.request(kServer, std::move(m), rec.handler(), net.now());
    net.run_for(Duration{10'000});
    return rec;
  }
  std::vector<Message> posts() const {
    std::vector<Message> out;
    for (const auto& p :
         net.sent(kClient, [](const Packet& p) { return sim::is_code(p, codes::kPost); })) {
      out.push_back(*p.message);
    }
    return out;
  }

  SimNetwork net;
  Node client;
  Node server;
  int calls = 0;
  std::vector<Message> seen;
};

TEST(Echo, ChallengedRequestIsRepeatedWithTheEchoAndHandledOnce) {
  EchoFixture f;
  Recorder rec = f.post();
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().code, codes::kChanged);
  EXPECT_EQ(f.calls, 1);

  auto challenges =
      f.net.sent(kServer, [](const Packet& p) { return sim::is_code(p, codes::kUnauthorized); });
  ASSERT_EQ(challenges.size(), 1u);
  const Option* echo = challenges[0].message->options.find(option::kEcho);
  ASSERT_NE(echo, nullptr);
  EXPECT_GE(echo->value.size(), 1u);
  EXPECT_LE(echo->value.size(), 40u);

  auto posts = f.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_FALSE(posts[0].options.has(option::kEcho));
  ASSERT_TRUE(posts[1].options.has(option::kEcho));
  EXPECT_EQ(posts[1].options.find(option::kEcho)->value, echo->value);
  EXPECT_EQ(posts[1].token, posts[0].token);
  EXPECT_NE(posts[1].message_id, posts[0].message_id);
  // Requests that need no freshness are not challenged.
  Recorder get = f.post(sim::get("/3/0"));
  ASSERT_EQ(get.size(), 1u);
  EXPECT_EQ(get.message().code, codes::kContent);
  EXPECT_EQ(
      f.net.count(kServer, [](const Packet& p) { return sim::is_code(p, codes::kUnauthorized); }),
      1u);
}

TEST(Echo, FreshEchoIsAcceptedAndStaleEchoIsChallengedAgain) {
  EchoFixture f;
  ASSERT_TRUE(f.post().ok());
  const Bytes value = f.posts().at(1).options.find(option::kEcho)->value.bytes();

  // Within echo_freshness the same value is accepted without a new challenge.
  Message again = make_request(codes::kPost, "/1/0/8");
  again.options.set(option::kEcho, value);
  Recorder fresh = f.post(again);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh.message().code, codes::kChanged);
  EXPECT_EQ(f.calls, 2);
  EXPECT_EQ(f.posts().size(), 3u);

  // After echo_freshness it is stale: a new challenge with a new value, then success.
  f.net.run_for(Duration{61'000});
  Recorder stale = f.post(again);
  ASSERT_EQ(stale.size(), 1u);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale.message().code, codes::kChanged);
  EXPECT_EQ(f.calls, 3);
  auto posts = f.posts();
  ASSERT_EQ(posts.size(), 5u);
  EXPECT_EQ(posts[3].options.find(option::kEcho)->value, value);
  ASSERT_TRUE(posts[4].options.has(option::kEcho));
  EXPECT_NE(posts[4].options.find(option::kEcho)->value, value);
}

TEST(Echo, SecondChallengeIsReportedInsteadOfLooping) {
  // Freshness so short that the repeated request always arrives stale.
  EchoFixture f(echo_for_post(Duration{1}));
  Recorder rec = f.post();
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().code, codes::kUnauthorized);
  EXPECT_EQ(f.calls, 0);
  EXPECT_EQ(f.posts().size(), 2u);
}

TEST(Echo, ConcurrentChallengedRequestsBothSucceed) {
  EchoFixture f;
  Recorder a, b;
  f.client.endpoint.request(kServer, make_request(codes::kPost, "/a"), a.handler(), f.net.now());
  f.client.endpoint.request(kServer, make_request(codes::kPost, "/b"), b.handler(), f.net.now());
  f.net.run_for(Duration{10'000});
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a.message().code, codes::kChanged);
  EXPECT_EQ(b.message().code, codes::kChanged);
  EXPECT_EQ(f.calls, 2);
}

TEST(Echo, BlockWiseRequestProvesFreshnessOnce) {
  EchoFixture f;
  Message m = make_request(codes::kPost, "/big");
  m.payload = sim::pattern(5000);
  Recorder rec = f.post(m);
  ASSERT_EQ(rec.size(), 1u);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.message().code, codes::kChanged);
  EXPECT_EQ(f.calls, 1);
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].payload, m.payload);
}

TEST(Echo, ChallengeIsPerPeer) {
  EchoFixture f;
  Node other({}, 3);
  constexpr PeerId kOther = 3;
  f.net.add(kOther, other);
  ASSERT_TRUE(f.post().ok());
  // Another peer replaying the first client's Echo value is challenged itself.
  const Bytes value = f.posts().at(1).options.find(option::kEcho)->value.bytes();
  Message m = make_request(codes::kPost, "/1/0/8");
  m.options.set(option::kEcho, value);
  Recorder rec;
  other.endpoint.request(kServer, m, rec.handler(), f.net.now());
  f.net.run_for(Duration{10'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().code, codes::kChanged);
  EXPECT_EQ(f.net.count(kOther, [](const Packet& p) { return sim::is_code(p, codes::kPost); }), 2u);
}

}  // namespace
}  // namespace tether::coap
