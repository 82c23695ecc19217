// The REST API across server nodes (api/node_routing): a call handed to the node that serves
// the client comes back with that node's answer; a node that does not listen or answer gives
// 503 or 504; events are shared except those each device message makes; and what arrives on
// the bus that is not whole is dropped and counted. Two routings talk over an in-memory bus
// here; the Redis bus is tested against a real redis-server below.
#include "api/node_routing.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/store/redis/redis_node_bus.hpp"
#include "support/redis_server.hpp"

namespace tether::api {
namespace {

// Nodes on one in-memory bus: a message is delivered on the loop, as a subscription would.
class MemoryBus;
struct MemoryNetwork {
  transport::EventLoop* loop = nullptr;
  std::map<std::string, MemoryBus*> nodes;
};

class MemoryBus final : public server::NodeBus {
 public:
  MemoryBus(MemoryNetwork& net, std::string name) : net_(net), name_(std::move(name)) {
    net_.nodes[name_] = this;
  }
  ~MemoryBus() override { net_.nodes.erase(name_); }
  const std::string& node() const override { return name_; }
  Result<bool> send(const std::string& node, std::string_view message) override {
    if (net_.nodes.count(node) == 0) return false;
    deliver(node, std::string(message));
    return true;
  }
  Result<Ok> broadcast(std::string_view message) override {
    for (const auto& [name, bus] : net_.nodes) deliver(name, std::string(message));
    return Ok{};
  }
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void receive(std::string_view message) {
    if (handler_) handler_(message);
  }

 private:
  void deliver(const std::string& node, std::string message) {
    net_.loop->schedule(net_.loop->now(), [net = &net_, node, message] {
      if (auto it = net->nodes.find(node); it != net->nodes.end()) it->second->receive(message);
    });
  }
  MemoryNetwork& net_;
  std::string name_;
  Handler handler_;
};

struct Answer {
  std::optional<http::Response> response;
};

// Runs the loop until `done` or a bounded number of turns.
template <typename Done>
void run_until(transport::EventLoop& loop, Done done) {
  for (int i = 0; i < 200 && !done(); ++i) loop.run_once(Duration{10});
}

class NodeRoutingTest : public ::testing::Test {
 protected:
  NodeRoutingTest() {
    net.loop = &loop;
    a.set_local([this](const http::Request& request, ApiCaller caller, Responder to) {
      served.push_back(request);
      callers.push_back(caller);
      if (silent) return;
      http::Response r =
          http::Response::text(200, "answer to " + request.target, "application/json");
      r.headers.set("Retry-After", "7");
      to.respond(std::move(r));
    });
    b.set_event_sink([this](std::string_view kind, const std::string& ep, const std::string& d) {
      events.push_back(std::string(kind) + " " + ep + " " + d);
    });
  }

  Answer forward_from_b(const std::string& to_node, Duration wait = Duration{1'000}) {
    http::Request request;
    request.method = "GET";
    request.target = "/api/clients/dev/3/0/0?timeout=5";
    request.path = "/api/clients/dev/3/0/0";
    request.query = "timeout=5";
    request.body = std::string("\xff\x00 bytes", 8);
    ApiCaller caller;
    caller.user = "ops";
    caller.role = Role::kRead;
    auto answer = std::make_shared<Answer>();
    b.forward(to_node, request, caller, wait,
              Responder::to([answer](http::Response r) { answer->response = std::move(r); }));
    run_until(loop, [&] { return answer->response.has_value(); });
    return *answer;
  }

  transport::EventLoop loop;
  MemoryNetwork net;
  MemoryBus bus_a{net, "a"};
  MemoryBus bus_b{net, "b"};
  std::map<std::string, std::string> owners{{"dev", "a"}};
  NodeRouting::OwnerLookup lookup = [this](const std::string& ep) {
    auto it = owners.find(ep);
    return Result<std::optional<std::string>>(
        it == owners.end() ? std::nullopt : std::optional<std::string>(it->second));
  };
  NodeRouting a{loop, bus_a, lookup, Duration{0}};
  NodeRouting b{loop, bus_b, lookup, Duration{0}};
  std::vector<http::Request> served;
  std::vector<ApiCaller> callers;
  std::vector<std::string> events;
  bool silent = false;
};

TEST_F(NodeRoutingTest, NamesTheOwnerOnlyWhenItIsAnotherNode) {
  auto at_b = b.elsewhere("dev");
  ASSERT_TRUE(at_b);
  EXPECT_EQ(*at_b, std::optional<std::string>("a"));
  auto at_a = a.elsewhere("dev");
  ASSERT_TRUE(at_a);
  EXPECT_FALSE(at_a->has_value());
  auto nobody = b.elsewhere("nobody");
  ASSERT_TRUE(nobody);
  EXPECT_FALSE(nobody->has_value());
}

TEST_F(NodeRoutingTest, ACallRunsOnTheOwnerAsTheSameCallerAndItsAnswerComesBack) {
  Answer answer = forward_from_b("a");
  ASSERT_TRUE(answer.response);
  EXPECT_EQ(answer.response->status, 200);
  EXPECT_EQ(answer.response->body, "answer to /api/clients/dev/3/0/0?timeout=5");
  EXPECT_EQ(answer.response->headers.get("Content-Type"), "application/json");
  EXPECT_EQ(answer.response->headers.get("Retry-After"), "7");
  ASSERT_EQ(served.size(), 1U);
  EXPECT_EQ(served[0].method, "GET");
  EXPECT_EQ(served[0].path, "/api/clients/dev/3/0/0");
  EXPECT_EQ(served[0].query, "timeout=5");
  EXPECT_EQ(served[0].body, std::string("\xff\x00 bytes", 8));  // bytes as they came
  EXPECT_EQ(callers[0].user, std::optional<std::string>("ops"));
  EXPECT_EQ(callers[0].role, Role::kRead);
  EXPECT_TRUE(callers[0].forwarded);  // so the owner never hands it on again
  EXPECT_EQ(b.metrics().forwarded, 1U);
  EXPECT_EQ(a.metrics().served, 1U);
}

TEST_F(NodeRoutingTest, ANodeThatDoesNotListenIs503WithRetryAfter) {
  Answer answer = forward_from_b("gone");
  ASSERT_TRUE(answer.response);
  EXPECT_EQ(answer.response->status, 503);
  EXPECT_TRUE(answer.response->headers.has("Retry-After"));
  EXPECT_NE(answer.response->body.find("gone"), std::string::npos);
  EXPECT_EQ(b.metrics().unreachable, 1U);
}

TEST_F(NodeRoutingTest, ANodeThatDoesNotAnswerIs504AndALateAnswerIsDropped) {
  silent = true;
  Answer answer = forward_from_b("a", Duration{30});
  ASSERT_TRUE(answer.response);
  EXPECT_EQ(answer.response->status, 504);
  EXPECT_EQ(b.metrics().timed_out, 1U);
  // The owner answers after all: nobody is waiting, nothing breaks.
  (void)bus_a.send("b", R"({"type":"response","id":1,"from":"a","status":200,"body":""})");
  run_until(loop, [] { return false; });
  EXPECT_EQ(b.metrics().malformed, 0U);
}

TEST_F(NodeRoutingTest, EventsAreSharedExceptThoseEveryDeviceMessageMakes) {
  a.share_event("registered", "dev", R"({"endpoint":"dev","node":"a"})");
  a.share_event("updated", "dev", R"({"endpoint":"dev"})");
  run_until(loop, [&] { return !events.empty(); });
  run_until(loop, [] { return false; });
  EXPECT_EQ(events, std::vector<std::string>{R"(registered dev {"endpoint":"dev","node":"a"})"});
  // A node's own events are already on its streams.
  b.share_event("deregistered", "dev", "{}");
  run_until(loop, [] { return false; });
  EXPECT_EQ(events.size(), 1U);
  EXPECT_EQ(b.metrics().events_in, 1U);
}

TEST_F(NodeRoutingTest, ACredentialChangeIsToldToTheOtherNodes) {
  std::vector<std::string> reload_a;
  std::vector<std::string> reload_b;
  a.set_credentials_sink([&](const std::string& ep) { reload_a.push_back(ep); });
  b.set_credentials_sink([&](const std::string& ep) { reload_b.push_back(ep); });
  b.share_credentials_change("dev");
  run_until(loop, [&] { return !reload_a.empty(); });
  run_until(loop, [] { return false; });
  EXPECT_EQ(reload_a, std::vector<std::string>{"dev"});
  EXPECT_TRUE(reload_b.empty());  // the node that changed them has them already
  bus_a.receive(R"({"type":"credentials","from":"b","endpoint":"a\u0000b"})");
  EXPECT_EQ(reload_a.size(), 1U);
  EXPECT_EQ(a.metrics().malformed, 1U);
}

TEST_F(NodeRoutingTest, WhatIsNotWholeIsDroppedAndCounted) {
  const std::vector<std::string> bad = {
      "not json",
      "[]",
      R"({"type":"request"})",
      // a role nobody has, a target outside the API, a method the API does not know
      R"({"type":"request","id":1,"from":"b","method":"GET","target":"/api/clients/dev","body":"","user":null,"role":"root"})",
      R"({"type":"request","id":1,"from":"b","method":"GET","target":"/etc/passwd","body":"","user":null,"role":"read"})",
      R"({"type":"request","id":1,"from":"b","method":"TRACE","target":"/api/clients/dev","body":"","user":null,"role":"read"})",
      // a body that is not base64, a user with a line break
      R"({"type":"request","id":1,"from":"b","method":"GET","target":"/api/clients/dev","body":"%%","user":null,"role":"read"})",
      R"({"type":"request","id":1,"from":"b","method":"GET","target":"/api/clients/dev","body":"","user":"a\nb","role":"read"})",
      // an event whose data would end one event and start another, one that is not an
      // object, one of a kind that is never shared
      R"({"type":"event","from":"a","kind":"registered","endpoint":"dev","data":"{}\n\nevent: registered\ndata: {}"})",
      R"({"type":"event","from":"a","kind":"registered","endpoint":"dev","data":"42"})",
      R"({"type":"event","from":"a","kind":"updated","endpoint":"dev","data":"{}"})",
      // an answer with a status no HTTP server sends
      R"({"type":"response","id":1,"from":"a","status":700,"body":""})",
      R"({"type":"gossip","from":"a"})",
  };
  for (const auto& message : bad) bus_b.receive(message);
  bus_a.receive(bad[3]);
  EXPECT_EQ(b.metrics().malformed, bad.size());
  EXPECT_EQ(a.metrics().malformed, 1U);
  EXPECT_TRUE(served.empty());
  EXPECT_TRUE(events.empty());
}

TEST_F(NodeRoutingTest, AnAnswersHeadersAreTakenOnlyWhenPrintable) {
  silent = true;
  http::Request request;
  request.method = "GET";
  request.target = request.path = "/api/clients/dev";
  auto answer = std::make_shared<Answer>();
  b.forward("a", request, ApiCaller{}, Duration{5'000},
            Responder::to([answer](http::Response r) { answer->response = std::move(r); }));
  bus_b.receive(
      R"({"type":"response","id":1,"from":"a","status":404,"body":"e30=","contentType":"text/html\r\nSet-Cookie: x=1"})");
  ASSERT_TRUE(answer->response);
  EXPECT_EQ(answer->response->status, 404);
  EXPECT_EQ(answer->response->body, "{}");
  EXPECT_FALSE(answer->response->headers.has("Content-Type"));
  EXPECT_FALSE(answer->response->headers.has("Set-Cookie"));
}

// The bus on a real redis-server: each node hears what is sent to it and what is sent to
// all; a node that is not subscribed is reported as not listening; a Redis restart is
// survived (the subscription is made again).
TEST(RedisNodeBus, CarriesMessagesBetweenNodesAndResubscribesAfterARestart) {
  testing::RedisServer redis;
  transport::EventLoop loop;
  auto address = server::RedisConnection::Address::parse_url(redis.url());
  ASSERT_TRUE(address);
  server::RedisNodeBus a(loop, *address, "a");
  server::RedisNodeBus b(loop, *address, "b");
  std::vector<std::string> heard_a;
  std::vector<std::string> heard_b;
  std::vector<std::string> status;
  a.set_handler([&](std::string_view m) { heard_a.emplace_back(m); });
  b.set_handler([&](std::string_view m) { heard_b.emplace_back(m); });
  b.set_status_handler([&](const std::string& e) { status.push_back(e.empty() ? "ok" : "lost"); });
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());

  auto sent = a.send("b", "to b");
  ASSERT_TRUE(sent);
  EXPECT_TRUE(*sent);
  ASSERT_TRUE(a.broadcast("to all"));
  run_until(loop, [&] { return heard_b.size() == 2 && heard_a.size() == 1; });
  EXPECT_EQ(heard_b, (std::vector<std::string>{"to b", "to all"}));
  EXPECT_EQ(heard_a, std::vector<std::string>{"to all"});
  auto nobody = a.send("c", "to c");
  ASSERT_TRUE(nobody);
  EXPECT_FALSE(*nobody);

  // Another database on the same Redis is another set of nodes.
  auto other_db = *address;
  other_db.database = 1;
  server::RedisNodeBus elsewhere(loop, other_db, "b");
  ASSERT_TRUE(elsewhere.start());
  EXPECT_NE(elsewhere.node_channel("b"), b.node_channel("b"));

  redis.stop();
  redis.start();
  for (int i = 0; i < 600 && !(b.subscribed() && status.size() == 2); ++i) {
    loop.run_once(Duration{10});
  }
  EXPECT_EQ(status, (std::vector<std::string>{"lost", "ok"}));
  EXPECT_GE(b.metrics().reconnects, 1U);
  heard_b.clear();
  // The publisher's connection went with the restart too: the first send makes it again.
  for (int i = 0; i < 3 && heard_b.empty(); ++i) {
    (void)a.send("b", "after");
    run_until(loop, [&] { return !heard_b.empty(); });
  }
  EXPECT_EQ(heard_b, std::vector<std::string>{"after"});
}

}  // namespace
}  // namespace tether::api
