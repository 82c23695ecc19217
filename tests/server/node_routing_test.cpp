// The REST API across server nodes (api/node_routing): a call handed to the node that serves
// the client comes back with that node's answer; a node that does not listen or answer gives
// 503 or 504; events are shared except those each device message makes; and what arrives on
// the bus that is not whole is dropped and counted. Two routings talk over an in-memory bus
// here; the Redis bus is tested against a real redis-server below.
#include "api/node_routing.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
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
    sent.emplace_back(message);
    if (net_.nodes.count(node) == 0) return false;
    deliver(node, std::string(message));
    return true;
  }
  Result<Ok> broadcast(std::string_view message) override {
    sent.emplace_back(message);
    for (const auto& [name, bus] : net_.nodes) deliver(name, std::string(message));
    return Ok{};
  }
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void receive(std::string_view message) {
    if (handler_) handler_(message);
  }
  // The ID of the last call this node handed over.
  std::uint64_t last_request_id() const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      auto j = nlohmann::json::parse(*it);
      if (j["type"] == "request") return j["id"].get<std::uint64_t>();
    }
    return 0;
  }
  std::vector<std::string> sent;

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
  int count = 0;
};

// Runs the loop until `done` or a bounded number of turns.
template <typename Done>
void run_until(transport::EventLoop& loop, Done done) {
  for (int i = 0; i < 200 && !done(); ++i) loop.run_once(Duration{10});
}
// Long enough for everything the loop has to deliver now (messages go out at once).
void settle(transport::EventLoop& loop) {
  for (int i = 0; i < 20; ++i) loop.run_once(Duration{5});
}

class NodeRoutingTest : public ::testing::Test {
 protected:
  NodeRoutingTest() {
    net.loop = &loop;
    a.set_local([this](const http::Request& request, ApiCaller caller, Responder to) {
      served.push_back(request);
      callers.push_back(caller);
      if (behaviour == Behaviour::kSilent) return;
      if (behaviour == Behaviour::kThrows) throw std::runtime_error("boom");
      http::Response r =
          http::Response::text(200, "answer to " + request.target, "application/json");
      r.headers.set("Retry-After", "7");
      r.headers.set("Cache-Control", "no-store");
      r.headers.set("Set-Cookie", "x=1");  // not one the API sends: not carried
      to.respond(std::move(r));
    });
    b.set_event_sink([this](std::string_view kind, const std::string& ep, const std::string& d) {
      events.push_back(std::string(kind) + " " + ep + " " + d);
    });
  }

  std::shared_ptr<Answer> forward_from_b(const std::string& to_node,
                                         Duration wait = Duration{1'000},
                                         const std::string& method = "GET") {
    http::Request request;
    request.method = method;
    request.target = "/api/clients/dev/3/0/0?timeout=5";
    request.path = "/api/clients/dev/3/0/0";
    request.query = "timeout=5";
    request.body = std::string("\xff\x00 bytes", 8);
    ApiCaller caller;
    caller.user = "ops";
    caller.role = Role::kRead;
    auto answer = std::make_shared<Answer>();
    b.forward(to_node, request, caller, wait, Responder::to([answer](http::Response r) {
                answer->response = std::move(r);
                ++answer->count;
              }));
    run_until(loop, [&] { return answer->response.has_value(); });
    return answer;
  }

  enum class Behaviour { kAnswers, kSilent, kThrows };
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
  Behaviour behaviour = Behaviour::kAnswers;
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
  auto answer = forward_from_b("a");
  ASSERT_TRUE(answer->response);
  EXPECT_EQ(answer->response->status, 200);
  EXPECT_EQ(answer->response->body, "answer to /api/clients/dev/3/0/0?timeout=5");
  EXPECT_EQ(answer->response->headers.get("Content-Type"), "application/json");
  EXPECT_EQ(answer->response->headers.get("Retry-After"), "7");
  EXPECT_EQ(answer->response->headers.get("Cache-Control"), "no-store");
  EXPECT_FALSE(answer->response->headers.has("Set-Cookie"));
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
  auto answer = forward_from_b("gone");
  ASSERT_TRUE(answer->response);
  EXPECT_EQ(answer->response->status, 503);
  EXPECT_TRUE(answer->response->headers.has("Retry-After"));
  EXPECT_NE(answer->response->body.find("gone"), std::string::npos);
  EXPECT_EQ(b.metrics().unreachable, 1U);
}

TEST_F(NodeRoutingTest, ANodeThatDoesNotAnswerIs504AndALateAnswerIsDropped) {
  behaviour = Behaviour::kSilent;
  auto answer = forward_from_b("a", Duration{30});
  ASSERT_TRUE(answer->response);
  EXPECT_EQ(answer->response->status, 504);
  EXPECT_EQ(b.metrics().timed_out, 1U);
  // The owner answers after all: nobody is waiting, the caller had one answer.
  const std::uint64_t id = bus_b.last_request_id();
  (void)bus_a.send("b", R"({"type":"response","id":)" + std::to_string(id) +
                            R"(,"from":"a","status":200,"body":""})");
  settle(loop);
  EXPECT_EQ(answer->count, 1);
  EXPECT_EQ(answer->response->status, 504);
}

TEST_F(NodeRoutingTest, AnAnswerCountsOnlyFromTheNodeAsked) {
  behaviour = Behaviour::kSilent;
  http::Request request;
  request.method = "GET";
  request.target = request.path = "/api/clients/dev";
  auto answer = std::make_shared<Answer>();
  b.forward("a", request, ApiCaller{}, Duration{5'000},
            Responder::to([answer](http::Response r) { answer->response = std::move(r); }));
  const std::string id = std::to_string(bus_b.last_request_id());
  bus_b.receive(R"({"type":"response","id":)" + id + R"(,"from":"c","status":200,"body":""})");
  EXPECT_FALSE(answer->response);
  bus_b.receive(
      R"({"type":"response","id":)" + id +
      R"(,"from":"a","status":404,"body":"e30=","headers":{"Content-Type":"text/html\r\nSet-Cookie: x=1"}})");
  ASSERT_TRUE(answer->response);
  EXPECT_EQ(answer->response->status, 404);
  EXPECT_EQ(answer->response->body, "{}");
  EXPECT_FALSE(answer->response->headers.has("Content-Type"));  // not printable: dropped
}

TEST_F(NodeRoutingTest, AHandlerThatThrowsIsAnswered500AtOnce) {
  behaviour = Behaviour::kThrows;
  auto answer = forward_from_b("a", Duration{60'000});
  ASSERT_TRUE(answer->response);
  EXPECT_EQ(answer->response->status, 500);
  EXPECT_NE(answer->response->body.find("boom"), std::string::npos);
}

TEST_F(NodeRoutingTest, EventsGoOnlyToNodesWhoseStreamsWantThem) {
  // Nobody wants anything yet: nothing is sent.
  a.share_event("registered", "dev", R"({"endpoint":"dev","node":"a"})");
  settle(loop);
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(bus_a.sent.empty());
  // B's streams want registrations: B says so, and A sends them (not `updated`, which stays
  // on the node that saw it whatever is wanted).
  b.set_wants_source([] { return std::vector<std::string>{"*"}; });
  settle(loop);
  EXPECT_TRUE(a.wanted_elsewhere("registered"));
  EXPECT_FALSE(a.wanted_elsewhere("updated"));
  EXPECT_FALSE(b.wanted_elsewhere("registered"));  // A's streams want nothing
  a.share_event("registered", "dev", R"({"endpoint":"dev","node":"a"})");
  a.share_event("deregistered", "dev", R"({"endpoint":"dev","node":"a"})");
  a.share_event("updated", "dev", R"({"endpoint":"dev"})");
  settle(loop);
  EXPECT_EQ(events,
            (std::vector<std::string>{R"(registered dev {"endpoint":"dev","node":"a"})",
                                      R"(deregistered dev {"endpoint":"dev","node":"a"})"}));
  EXPECT_EQ(b.metrics().events_in, 2U);
}

// `--workers` on Redis: the workers of one process are a group. Every kind of event
// crosses between them, to the member whose stream wants it alone, while the other nodes
// still get only the shared kinds; and a member may ask for the list and /metrics.
TEST_F(NodeRoutingTest, TheWorkersOfOneProcessShareEveryKindAmongThemselvesOnly) {
  MemoryBus bus_c{net, "a/w1"};
  NodeRouting c{loop, bus_c, lookup, Duration{0}};
  c.set_group({"a"});
  a.set_group({"a/w1"});
  std::vector<std::string> at_a;
  a.set_event_sink([&](std::string_view kind, const std::string& ep, const std::string&) {
    at_a.push_back(std::string(kind) + " " + ep);
  });
  // A's stream and B's stream want everything.
  a.set_wants_source([] { return std::vector<std::string>{"*"}; });
  b.set_wants_source([] { return std::vector<std::string>{"*"}; });
  settle(loop);
  EXPECT_TRUE(c.wanted_elsewhere("updated"));   // A, of its group, wants Updates
  EXPECT_FALSE(b.wanted_elsewhere("updated"));  // between nodes they stay where they are
  EXPECT_TRUE(b.wanted_elsewhere("registered"));
  const std::size_t broadcasts = bus_c.sent.size();
  c.share_event("updated", "dev", R"({"endpoint":"dev"})");
  c.share_event("registered", "dev", R"({"endpoint":"dev"})");
  settle(loop);
  // A gets both straight, in order (the broadcast's copy is dropped there).
  EXPECT_EQ(at_a, (std::vector<std::string>{"updated dev", "registered dev"}));
  // B got the registration, and never the Update.
  EXPECT_EQ(events.size(), 1U);
  EXPECT_EQ(events.front().rfind("registered dev", 0), 0U);
  EXPECT_EQ(bus_c.sent.size(), broadcasts + 3);  // two to A alone, one to all
  EXPECT_EQ(b.metrics().malformed, 0U);
  // An Update event from a node outside the group is still refused.
  bus_a.receive(R"({"type":"event","from":"b","kind":"updated","endpoint":"dev","data":"{}"})");
  EXPECT_EQ(at_a.size(), 2U);
  EXPECT_EQ(a.metrics().malformed, 1U);

  // The list: served for a member of the group, not for another node.
  std::vector<std::string> listed;
  c.set_local([&](const http::Request& request, ApiCaller, Responder to) {
    listed.push_back(request.path);
    to.respond(http::Response::text(200, "[]", "application/json"));
  });
  const std::string list_from =
      R"({"type":"request","id":1,"method":"GET","path":"/api/clients","query":"","body":"","user":null,"role":"read","from":)";
  bus_c.receive(list_from + R"("a"})");
  bus_c.receive(list_from + R"("b"})");
  EXPECT_EQ(listed, std::vector<std::string>{"/api/clients"});
  EXPECT_EQ(c.metrics().malformed, 1U);
}

TEST_F(NodeRoutingTest, WhatOtherNodesWantIsKeptForABoundedNumberOfNodes) {
  for (int i = 0; i < 300; ++i) {
    bus_a.receive(R"({"type":"wants","from":"n)" + std::to_string(i) +
                  R"(","kinds":["registered"]})");
  }
  EXPECT_TRUE(a.wanted_elsewhere("registered"));
  EXPECT_EQ(a.metrics().malformed, 300U - 256U);
}

TEST_F(NodeRoutingTest, ACredentialChangeIsToldToTheOtherNodes) {
  std::vector<std::string> reload_a;
  std::vector<std::string> reload_b;
  a.set_credentials_sink([&](const std::string& ep) { reload_a.push_back(ep); });
  b.set_credentials_sink([&](const std::string& ep) { reload_b.push_back(ep); });
  b.share_credentials_change("dev");
  settle(loop);
  EXPECT_EQ(reload_a, std::vector<std::string>{"dev"});
  EXPECT_TRUE(reload_b.empty());  // the node that changed them has them already
  bus_a.receive(R"({"type":"credentials","from":"b","endpoint":"a\u0000b"})");
  EXPECT_EQ(reload_a.size(), 1U);
  EXPECT_EQ(a.metrics().malformed, 1U);
}

// A node that took a registration over tells the one that held it, and only that one.
TEST_F(NodeRoutingTest, ATakeoverIsToldToTheNodeThatHeldTheRegistration) {
  std::vector<std::pair<std::string, std::string>> taken_a;
  std::vector<std::pair<std::string, std::string>> taken_b;
  a.set_taken_sink(
      [&](const std::string& ep, const std::string& id) { taken_a.emplace_back(ep, id); });
  b.set_taken_sink(
      [&](const std::string& ep, const std::string& id) { taken_b.emplace_back(ep, id); });
  b.tell_taken("a", "dev", "Xy12");
  b.tell_taken("b", "dev", "Xy12");  // itself: nothing to tell
  settle(loop);
  EXPECT_EQ(taken_a, (std::vector<std::pair<std::string, std::string>>{{"dev", "Xy12"}}));
  EXPECT_TRUE(taken_b.empty());
  EXPECT_EQ(a.metrics().taken_in, 1U);
  bus_a.receive(R"({"type":"taken","from":"b","endpoint":"dev"})");  // no ID
  bus_a.receive(R"({"type":"taken","from":"b","endpoint":"a\u0000b","id":"1"})");
  EXPECT_EQ(taken_a.size(), 1U);
  EXPECT_EQ(a.metrics().malformed, 2U);
}

TEST_F(NodeRoutingTest, WhatIsNotWholeIsDroppedAndCounted) {
  const std::string call =
      R"({"type":"request","id":1,"from":"b","method":"GET","path":"/api/clients/dev","query":"","body":"","user":null,"role":"read"})";
  const auto with = [&call](const std::string& field, const std::string& value) {
    auto j = nlohmann::json::parse(call);
    j[field] = nlohmann::json::parse(value);
    return j.dump();
  };
  // Whole, this call is served: each variant below differs from it in one field.
  bus_a.receive(call);
  ASSERT_EQ(served.size(), 1U);
  served.clear();

  const std::vector<std::string> bad = {
      "not json",
      "[]",
      R"({"type":"request"})",
      with("role", R"("root")"),
      with("path", R"("/api/security/clients/dev")"),  // not a call about one client
      // the list and /metrics: only between the workers of one process
      with("path", R"("/api/clients")"),
      with("path", R"("/metrics")"),
      with("path", R"("/api/clients/dev?x=1")"),
      with("method", R"("TRACE")"),
      with("method", R"("DELETE")"),  // a reader may only GET
      with("body", R"("%%")"),        // not base64
      with("user", R"("a\nb")"),
      with("query", "7"),
      with("id", "-1"),
      // an event whose data would end one event and start another, one that is not an
      // object, one of a kind that is never shared
      R"({"type":"event","from":"b","kind":"registered","endpoint":"dev","data":"{}\n\nevent: registered\ndata: {}"})",
      R"({"type":"event","from":"b","kind":"registered","endpoint":"dev","data":"42"})",
      R"({"type":"event","from":"b","kind":"updated","endpoint":"dev","data":"{}"})",
      // an answer with a status no HTTP server sends, wants that are not a list of names
      R"({"type":"response","id":1,"from":"b","status":700,"body":""})",
      R"({"type":"wants","from":"b","kinds":"registered"})",
      R"({"type":"gossip","from":"b"})",
  };
  for (const auto& message : bad) bus_a.receive(message);
  EXPECT_EQ(a.metrics().malformed, bad.size());
  EXPECT_TRUE(served.empty());
  EXPECT_TRUE(events.empty());

  // A worker of `tether server --workers` serves the list and /metrics the first one
  // gathers, by GET only.
  a.serve_as_worker();
  bus_a.receive(with("path", R"("/api/clients")"));
  bus_a.receive(with("path", R"("/metrics")"));
  EXPECT_EQ(served.size(), 2U);
  bus_a.receive(
      R"({"type":"request","id":1,"from":"b","method":"POST","path":"/api/clients","query":"","body":"","user":null,"role":"operator"})");
  bus_a.receive(
      R"({"type":"request","id":1,"from":"b","method":"DELETE","path":"/metrics","query":"","body":"","user":null,"role":"operator"})");
  EXPECT_EQ(served.size(), 2U);
  EXPECT_EQ(a.metrics().malformed, bad.size() + 2);
  EXPECT_FALSE(b.wanted_elsewhere("registered"));
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
  // And bootstrap servers are another group: neither hears the other.
  server::RedisNodeBus bootstrap_b(loop, *address, "b", "bootstrap");
  EXPECT_NE(bootstrap_b.node_channel("b"), b.node_channel("b"));
  EXPECT_NE(bootstrap_b.shared_channel(), b.shared_channel());

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
