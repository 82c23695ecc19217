// `tether server --workers N` (server/workers, api/list_merge, api/metrics_sum): the bus
// between workers' loops on their own threads, the directory of who serves an endpoint,
// each worker's store (its registrations its own, credentials shared), and the API's list
// and /metrics merged from every worker's answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/list_merge.hpp"
#include "api/metrics_sum.hpp"
#include "api/node_routing.hpp"
#include "server/store/memory/memory_store.hpp"
#include "server/store/redis/redis_store.hpp"
#include "server/workers/group_node_bus.hpp"
#include "server/workers/local_node_bus.hpp"
#include "server/workers/worker_directory.hpp"
#include "server/workers/worker_store.hpp"
#include "store_samples.hpp"
#include "support/redis_server.hpp"

namespace tether::server {
namespace {

using nlohmann::json;
using namespace store_samples;

// A worker's loop on a thread of its own, as `tether server --workers` runs it.
class LoopThread {
 public:
  LoopThread() : thread_([this] { loop.run(); }) {}
  ~LoopThread() {
    loop.post([this] { loop.stop(); });
    thread_.join();
  }
  transport::EventLoop loop;

 private:
  std::thread thread_;
};

// Runs `loop` on this thread until `done` or 5 s.
void run_until(transport::EventLoop& loop, const std::function<bool()>& done) {
  const Instant end = loop.now() + Duration{5'000};
  while (!done() && loop.now() < end) loop.run_once(Duration{10});
}

// A bus that records what is sent through it, and hands on what "arrives".
class RecordingBus final : public NodeBus {
 public:
  explicit RecordingBus(std::string name) : name_(std::move(name)) {}
  const std::string& node() const override { return name_; }
  Result<bool> send(const std::string& node, std::string_view message) override {
    sent.push_back(node + " " + std::string(message));
    return true;
  }
  Result<Ok> broadcast(std::string_view message) override {
    sent.push_back("* " + std::string(message));
    return Ok{};
  }
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void arrive(std::string_view message) const {
    if (handler_) handler_(message);
  }
  std::vector<std::string> sent;

 private:
  std::string name_;
  Handler handler_;
};

// On Redis each worker is a node: a message to another worker of the process goes through
// the hub (no round trip), to any other node and to all through Redis; both deliver here.
TEST(GroupNodeBus, SendsToTheProcesssWorkersInProcessAndToEveryoneElseOutside) {
  transport::EventLoop here;
  LocalNodeHub hub({&here, &here});
  RecordingBus redis_w0("a");
  GroupNodeBus w0(redis_w0, hub.bus(0), {{"a/w1", "w1"}});
  EXPECT_EQ(w0.node(), "a");
  std::vector<std::string> heard_w0;
  std::vector<std::string> heard_w1;
  w0.set_handler([&](std::string_view m) { heard_w0.emplace_back(m); });
  hub.bus(1).set_handler([&](std::string_view m) { heard_w1.emplace_back(m); });

  ASSERT_TRUE(w0.send("a/w1", "to my second worker"));
  ASSERT_TRUE(w0.send("b", "to node b"));
  ASSERT_TRUE(w0.send("b/w1", "to b's second worker"));
  ASSERT_TRUE(w0.broadcast("to all"));
  run_until(here, [&] { return !heard_w1.empty(); });
  EXPECT_EQ(heard_w1, std::vector<std::string>{"to my second worker"});
  EXPECT_EQ(redis_w0.sent,
            (std::vector<std::string>{"b to node b", "b/w1 to b's second worker", "* to all"}));
  // What arrives either way reaches the one handler.
  redis_w0.arrive("over redis");
  ASSERT_TRUE(hub.bus(1).send("w0", "over the hub"));
  run_until(here, [&] { return heard_w0.size() == 2; });
  EXPECT_EQ(heard_w0, (std::vector<std::string>{"over redis", "over the hub"}));
}

TEST(LocalNodeHub, DeliversOnTheReceiversLoopThread) {
  transport::EventLoop here;
  LoopThread there;
  LocalNodeHub hub({&here, &there.loop});
  EXPECT_EQ(hub.bus(0).node(), "w0");
  EXPECT_EQ(hub.bus(1).node(), "w1");

  std::atomic<int> received{0};
  std::atomic<bool> on_its_thread{false};
  std::string text;
  const auto main_id = std::this_thread::get_id();
  there.loop.post([&] {
    hub.bus(1).set_handler([&](std::string_view m) {
      text = std::string(m);
      on_its_thread = std::this_thread::get_id() != main_id;
      ++received;
    });
  });
  std::vector<std::string> heard_here;
  hub.bus(0).set_handler([&](std::string_view m) { heard_here.emplace_back(m); });

  // The handler is set on w1's thread; wait for that before sending.
  std::atomic<bool> ready{false};
  there.loop.post([&] { ready = true; });
  run_until(here, [&] { return ready.load(); });

  auto sent = hub.bus(0).send("w1", "to one");
  ASSERT_TRUE(sent.ok());
  EXPECT_TRUE(*sent);
  run_until(here, [&] { return received == 1; });
  EXPECT_EQ(received, 1);
  EXPECT_TRUE(on_its_thread);

  // Nobody by that name: false, as a node that does not listen.
  auto nobody = hub.bus(0).send("w7", "lost");
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(*nobody);

  // A broadcast reaches every worker, the sender too.
  ASSERT_TRUE(hub.bus(1).broadcast("all").ok());
  run_until(here, [&] { return received == 2 && !heard_here.empty(); });
  EXPECT_EQ(received, 2);
  EXPECT_EQ(heard_here, std::vector<std::string>{"all"});
  std::atomic<bool> read{false};
  std::string last;
  there.loop.post([&] {
    last = text;
    read = true;
  });
  run_until(here, [&] { return read.load(); });
  EXPECT_EQ(last, "all");
}

TEST(WorkerDirectory, NamesWhoServesAnEndpointAndWhoServedItBefore) {
  WorkerDirectory d;
  EXPECT_EQ(d.owner("ep"), std::nullopt);
  EXPECT_EQ(d.claim("ep", 1), std::nullopt);
  EXPECT_EQ(d.claim("ep", 1), std::nullopt);  // again by the same worker: no move
  EXPECT_EQ(d.owner("ep"), 1U);
  EXPECT_EQ(d.claim("ep", 0), 1U);  // its device registered with worker 0 now
  EXPECT_EQ(d.owner("ep"), 0U);
  d.release("ep", 1);  // worker 1 letting it go changes nothing
  EXPECT_EQ(d.owner("ep"), 0U);
  d.release("ep", 0);
  EXPECT_EQ(d.owner("ep"), std::nullopt);
  EXPECT_EQ(d.size(), 0U);
}

TEST(WorkerStore, KeepsRegistrationsApartAndCredentialsShared) {
  MemoryStore first, second;
  SharedCredentials shared(first);
  WorkerDirectory directory;
  std::vector<std::pair<std::size_t, std::string>> moved;
  auto on_moved = [&](std::size_t from, const std::string& ep) { moved.emplace_back(from, ep); };
  WorkerStore w0(first, shared, directory, 0, on_moved);
  WorkerStore w1(second, shared, directory, 1, on_moved);

  ASSERT_TRUE(w0.save_registration(minimal_registration("a")).ok());
  ASSERT_TRUE(w1.save_registration(minimal_registration("b")).ok());
  EXPECT_EQ(registrations(first).size(), 1U);
  EXPECT_EQ(registrations(second).size(), 1U);
  EXPECT_EQ(*w0.owner_of("b"), std::optional<std::string>("w1"));
  EXPECT_EQ(*w1.owner_of("a"), std::optional<std::string>("w0"));
  EXPECT_EQ(*w1.owner_of("nobody"), std::nullopt);
  EXPECT_TRUE(moved.empty());

  // Credentials put through either worker are every worker's.
  ASSERT_TRUE(w1.save_credentials(psk("b")).ok());
  ASSERT_TRUE(w0.save_credentials(psk("a")).ok());
  EXPECT_EQ(credentials(w0).size(), 2U);
  EXPECT_EQ(credentials(w1).size(), 2U);
  EXPECT_EQ(credentials(second).size(), 0U);  // not in worker 1's own store
  auto of_b = w0.load_credentials_of("b");
  ASSERT_TRUE(of_b.ok());
  EXPECT_TRUE(of_b->has_value());

  // "a" registers with worker 1: worker 0 is told to let it go.
  ASSERT_TRUE(w1.save_registration(minimal_registration("a")).ok());
  ASSERT_EQ(moved.size(), 1U);
  EXPECT_EQ(moved[0], (std::pair<std::size_t, std::string>{0, "a"}));
  EXPECT_EQ(*w0.owner_of("a"), std::optional<std::string>("w1"));
  // Worker 0 removing its old record leaves worker 1 the owner.
  ASSERT_TRUE(w0.remove_registration("a").ok());
  EXPECT_EQ(*w0.owner_of("a"), std::optional<std::string>("w1"));
  EXPECT_TRUE(registrations(first).empty());

  // A restart: what each worker's store holds is claimed as it loads.
  WorkerDirectory after;
  WorkerStore r0(first, shared, after, 0, on_moved);
  WorkerStore r1(second, shared, after, 1, on_moved);
  ASSERT_TRUE(r0.load_registrations().ok());
  ASSERT_TRUE(r1.load_registrations().ok());
  EXPECT_EQ(*r0.owner_of("a"), std::optional<std::string>("w1"));
  EXPECT_EQ(*r0.owner_of("b"), std::optional<std::string>("w1"));
}

// Each worker keeps a copy of an OSCORE context; the copies reserve their sequence
// numbers from the one bound in the shared store, so no two send the same number.
// On Redis each worker is a node: the API's routing names a worker of this process by its
// node name, and asks Redis about endpoints other nodes serve. What a worker takes over or
// claims is in the directory at once; what it lets go is not.
TEST(WorkerStore, OnRedisNamesWorkersAsNodesAndAsksTheStoreAboutTheRest) {
  tether::testing::RedisServer redis;
  auto address = RedisStore::parse_url(redis.url());
  ASSERT_TRUE(address);
  auto open = [&](const std::string& node) {
    auto opened = RedisStore::open(*address, {.node = node});
    if (!opened) ADD_FAILURE() << opened.error().reason;
    return opened ? std::move(*opened) : nullptr;
  };
  auto a0 = open("a");
  auto a1 = open("a/w1");
  auto b = open("b");
  ASSERT_TRUE(a0 && a1 && b);
  SharedCredentials shared0(*a0);
  SharedCredentials shared1(*a1);
  WorkerDirectory directory;
  auto on_moved = [](std::size_t, const std::string&) {};
  WorkerStore w0(*a0, shared0, directory, 0, on_moved);
  WorkerStore w1(*a1, shared1, directory, 1, on_moved);
  const WorkerStore::Naming naming{{"a", "a/w1"}, true};
  w0.set_naming(naming);
  w1.set_naming(naming);

  ASSERT_TRUE(w1.save_registration(minimal_registration("x")).ok());
  EXPECT_EQ(*w0.owner_of("x"), std::optional<std::string>("a/w1"));  // before any flush
  ASSERT_TRUE(b->save_registration(minimal_registration("y")).ok());
  ASSERT_TRUE(b->flush().ok());
  EXPECT_EQ(*w0.owner_of("y"), std::optional<std::string>("b"));
  EXPECT_EQ(*w0.owner_of("nobody"), std::nullopt);

  // Worker 1 takes b's registration of y (its device reached it).
  auto found = w1.find_registration("id-y");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->owner, "b");
  auto taken = w1.take_registration((*found)->registration);
  ASSERT_TRUE(taken.ok() && *taken);
  EXPECT_EQ(directory.owner("y"), std::optional<std::size_t>(1));
  EXPECT_EQ(*w0.owner_of("y"), std::optional<std::string>("a/w1"));

  // Worker 1 lets x go (another worker or node serves it now): the directory forgets it,
  // the record in Redis is left to the new owner, and worker 1's pending Update of it is
  // dropped rather than written over the new owner's.
  ASSERT_TRUE(w1.flush().ok());
  Registration later = minimal_registration("x");
  later.lifetime = 12'345;
  ASSERT_TRUE(w1.save_update(later, false).ok());
  ASSERT_TRUE(w1.let_go("x").ok());
  EXPECT_EQ(directory.owner("x"), std::nullopt);
  ASSERT_TRUE(w1.flush().ok());
  EXPECT_EQ(*w0.owner_of("x"), std::optional<std::string>("a/w1"));
  auto kept = a0->find_registration("id-x");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_NE((*kept)->registration.lifetime, 12'345U);
  EXPECT_EQ(directory.size(), 1U);
}

TEST(WorkerStore, WorkersReserveOscoreSequenceNumbersFromOneBound) {
  MemoryStore first, second, third;
  SharedCredentials shared(first);
  WorkerDirectory directory;
  auto on_moved = [](std::size_t, const std::string&) {};
  WorkerStore w0(first, shared, directory, 0, on_moved);
  WorkerStore w1(second, shared, directory, 1, on_moved);
  WorkerStore w2(third, shared, directory, 2, on_moved);
  ASSERT_TRUE(w0.save_credentials(oscore("dev")).ok());  // bound 640
  // Three threads as three workers, each asking from where its own copy stands.
  std::vector<std::vector<std::uint64_t>> starts(3);
  std::vector<std::thread> threads;
  WorkerStore* stores[] = {&w0, &w1, &w2};
  for (std::size_t k = 0; k < 3; ++k) {
    threads.emplace_back([&, k] {
      std::uint64_t next = 640;
      for (int i = 0; i < 50; ++i) {
        auto start = stores[k]->reserve_sequences("dev", next, 64);
        ASSERT_TRUE(start.ok());
        starts[k].push_back(*start);
        next = *start + 64;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::uint64_t> all;
  for (const auto& s : starts) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 150U);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i], all[i - 1] + 64);
  EXPECT_EQ(all.front(), 640U);
  const std::uint64_t reserved = all.back() + 64;
  auto stored = w2.load_credentials_of("dev");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->oscore.sequence_bound, reserved);
  // The operator puts the same keys again through worker 0, whose copy knows only its own
  // windows; or removes them and puts them again: the stored bound never goes back.
  ASSERT_TRUE(w0.save_credentials(oscore("dev")).ok());  // bound 640 in the body
  stored = w1.load_credentials_of("dev");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->oscore.sequence_bound, reserved);
  ASSERT_TRUE(w0.remove_credentials("dev").ok());
  ASSERT_TRUE(w0.save_credentials(oscore("dev")).ok());
  EXPECT_EQ(*w1.reserve_sequences("dev", 640, 64), reserved);
}

http::Response json_response(const json& body) {
  return http::Response::text(200, body.dump(), "application/json");
}

json row(const std::string& ep) {
  return json{{"endpoint", ep}};
}

std::vector<std::string> endpoints(const json& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r["endpoint"].get<std::string>());
  return out;
}

TEST(ListMerge, GivesThePageOneServerWouldGive) {
  api::PageQuery q;
  q.limit = 3;
  // Worker 0 holds a, c, e, g; worker 1 holds b, d. Each answers its first three.
  std::vector<http::Response> parts{
      json_response({{"total", 4}, {"clients", {row("a"), row("c"), row("e")}}, {"next", "e"}}),
      json_response({{"total", 2}, {"clients", {row("b"), row("d")}}})};
  auto merged = api::merge_lists(parts, q, "clients", "endpoint");
  ASSERT_FALSE(merged.failed);
  ASSERT_FALSE(merged.refusal);
  EXPECT_EQ(endpoints(merged.body["clients"]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(merged.body["next"], "c");
  EXPECT_EQ(merged.body["total"], 6);

  // Past a worker's cursor its rows were not read: the page stops there.
  q.limit = 10;
  parts = {json_response({{"total", 9}, {"clients", {row("a"), row("c")}}, {"next", "c"}}),
           json_response({{"total", 2}, {"clients", {row("b"), row("d")}}})};
  merged = api::merge_lists(parts, q, "clients", "endpoint");
  EXPECT_EQ(endpoints(merged.body["clients"]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(merged.body["next"], "c");

  // The last page: no cursor; counts summed key by key; matched summed when all counted.
  q.q = "x";
  parts = {json_response({{"total", 1},
                          {"clients", {row("x1")}},
                          {"matched", 1},
                          {"counts", {{"transport", {{"udp", 1}}}}}}),
           json_response({{"total", 2},
                          {"clients", {row("x0")}},
                          {"matched", 1},
                          {"counts", {{"transport", {{"udp", 1}, {"tcp", 1}}}}}})};
  merged = api::merge_lists(parts, q, "clients", "endpoint");
  EXPECT_EQ(endpoints(merged.body["clients"]), (std::vector<std::string>{"x0", "x1"}));
  EXPECT_FALSE(merged.body.contains("next"));
  EXPECT_EQ(merged.body["matched"], 2);
  EXPECT_EQ(merged.body["counts"], (json{{"transport", {{"udp", 2}, {"tcp", 1}}}}));
}

TEST(ListMerge, WholeListsJoinInOrderUpToTheCap) {
  std::vector<http::Response> parts{json_response(json::array({row("c"), row("a")})),
                                    json_response(json::array({row("b")}))};
  auto merged = api::merge_lists(parts, std::nullopt, "clients", "endpoint");
  EXPECT_EQ(endpoints(merged.body), (std::vector<std::string>{"a", "b", "c"}));

  json big = json::array();
  for (std::size_t i = 0; i < api::kWholeListMax; ++i) big.push_back(row(std::to_string(i)));
  parts = {json_response(big), json_response(json::array({row("one more")}))};
  merged = api::merge_lists(parts, std::nullopt, "clients", "endpoint");
  ASSERT_TRUE(merged.refusal);

  // A device moving between workers, listed by both for a moment: once.
  parts = {json_response(json::array({row("a"), row("m")})),
           json_response(json::array({row("m"), row("z")}))};
  merged = api::merge_lists(parts, std::nullopt, "clients", "endpoint");
  EXPECT_EQ(endpoints(merged.body), (std::vector<std::string>{"a", "m", "z"}));

  // A worker's error is the answer.
  parts = {json_response(json::array({row("a")})), http::Response::text(504, "late")};
  merged = api::merge_lists(parts, std::nullopt, "clients", "endpoint");
  ASSERT_TRUE(merged.failed);
  EXPECT_EQ(merged.failed->status, 504);
}

TEST(MetricsSum, AddsEachSeriesAndKeepsFamiliesTogether) {
  const std::string w0 =
      "# HELP a_total A.\n# TYPE a_total counter\na_total 2\n"
      "# HELP b Per label.\n# TYPE b counter\nb{x=\"1\"} 1\n"
      "# HELP lat Latency.\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_sum 0.25\n";
  const std::string w1 =
      "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n"
      "# HELP b Per label.\n# TYPE b counter\nb{x=\"1\"} 4\nb{x=\"2\"} 5\n"
      "# HELP lat Latency.\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 2\nlat_sum 0.5\n"
      "# HELP only_here Worker 1's.\n# TYPE only_here gauge\nonly_here 7\n";
  EXPECT_EQ(api::sum_metrics({w0, w1}),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 5\n"
            "# HELP b Per label.\n# TYPE b counter\nb{x=\"1\"} 5\nb{x=\"2\"} 5\n"
            "# HELP lat Latency.\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 3\nlat_sum 0.75\n"
            "# HELP only_here Worker 1's.\n# TYPE only_here gauge\nonly_here 7\n");
}

// The sums hide an uneven spread; one sample per worker shows it.
TEST(MetricsSum, ShowsEachWorkersShareBesideTheSum) {
  const std::string w0 =
      "# HELP tether_registrations R.\n# TYPE tether_registrations gauge\n"
      "tether_registrations 70\ntether_updates_total 700\n";
  const std::string w1 =
      "# HELP tether_registrations R.\n# TYPE tether_registrations gauge\n"
      "tether_registrations 50\n";
  EXPECT_EQ(api::metrics_by_worker({{"w0", w0}, {"w1", w1}},
                                   {"tether_registrations", "tether_updates_total"}),
            "# HELP tether_registrations_by_worker tether_registrations of each worker "
            "(--workers).\n"
            "# TYPE tether_registrations_by_worker gauge\n"
            "tether_registrations_by_worker{worker=\"w0\"} 70\n"
            "tether_registrations_by_worker{worker=\"w1\"} 50\n"
            "# HELP tether_updates_by_worker_total tether_updates_total of each worker "
            "(--workers).\n"
            "# TYPE tether_updates_by_worker_total counter\n"
            "tether_updates_by_worker_total{worker=\"w0\"} 700\n"
            "tether_updates_by_worker_total{worker=\"w1\"} 0\n");
}

// The API's routing over the workers' bus: a list call is gathered from the other worker,
// whose answer comes back on the caller's loop.
TEST(NodeRoutingOverWorkers, GathersTheOtherWorkersList) {
  transport::EventLoop here;
  LoopThread there;
  LocalNodeHub hub({&here, &there.loop});
  auto none = [](const std::string&) -> Result<std::optional<std::string>> {
    return std::optional<std::string>{};
  };
  api::NodeRouting first(here, hub.bus(0), none);
  std::unique_ptr<api::NodeRouting> second;
  std::atomic<bool> ready{false};
  std::atomic<int> served{0};
  there.loop.post([&] {
    second = std::make_unique<api::NodeRouting>(there.loop, hub.bus(1), none);
    second->serve_as_worker();
    second->set_local([&](const http::Request& request, api::ApiCaller caller, api::Responder to) {
      ++served;
      EXPECT_TRUE(caller.forwarded);
      EXPECT_EQ(request.query, "limit=2");
      to.respond(json_response({{"total", 1}, {"clients", {row("b")}}}));
    });
    ready = true;
  });
  run_until(here, [&] { return ready.load(); });
  first.set_siblings({"w1"});

  http::Request request;
  request.method = "GET";
  request.path = "/api/clients";
  request.query = "limit=2";
  request.target = "/api/clients?limit=2";
  api::ApiCaller caller;
  caller.role = api::Role::kRead;
  std::optional<std::vector<http::Response>> answers;
  first.gather(request, caller, Duration{2'000},
               [&](std::vector<http::Response> r) { answers = std::move(r); });
  run_until(here, [&] { return answers.has_value(); });
  ASSERT_TRUE(answers);
  ASSERT_EQ(answers->size(), 1U);
  EXPECT_EQ((*answers)[0].status, 200);
  EXPECT_EQ(json::parse((*answers)[0].body)["clients"][0]["endpoint"], "b");
  EXPECT_EQ(served, 1);

  std::atomic<bool> gone{false};
  there.loop.post([&] {
    second.reset();
    gone = true;
  });
  run_until(here, [&] { return gone.load(); });
}

}  // namespace
}  // namespace tether::server
