#pragma once
// The REST API across server nodes that share a store (docs/redis.md, "Several nodes"): a
// call about a device another node serves is handed to that node over the node bus, run
// there as the same caller, and its answer comes back; events are shared, so every node's
// /api/events shows what happens on all of them; and a node that changes credentials tells
// the others, which read them again from the store.
//
// The node that took the call has already checked who is calling; the node that runs it
// trusts that (the bus is the store's Redis, which only the nodes may reach). A forwarded
// call is never forwarded again. Every wait for another node is bounded.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/http_service.hpp"
#include "common/result.hpp"
#include "server/node_bus.hpp"
#include "transport/event_loop.hpp"

namespace tether::api {

struct NodeRoutingMetrics {
  std::uint64_t forwarded = 0;       // calls handed to another node
  std::uint64_t served = 0;          // calls another node handed here
  std::uint64_t unreachable = 0;     // the owner did not listen, or the bus failed
  std::uint64_t timed_out = 0;       // no answer from the owner in time
  std::uint64_t events_in = 0;       // events from other nodes
  std::uint64_t events_dropped = 0;  // events not sent: too many waiting for the bus
  std::uint64_t credentials_in = 0;  // credential changes other nodes made
  std::uint64_t taken_in = 0;        // registrations other nodes took over from this one
  std::uint64_t malformed = 0;       // bus messages that were not ours or not whole
};

class NodeRouting {
 public:
  // Which node the store says serves `endpoint` (nullopt: none).
  using OwnerLookup =
      std::function<Result<std::optional<std::string>>(const std::string& endpoint)>;
  // Runs a call another node handed here, as `caller`, answering through the responder.
  using LocalDispatch = std::function<void(const http::Request&, ApiCaller, Responder)>;
  // Hands an event from another node to this node's streams (its JSON, one line).
  using EventSink =
      std::function<void(std::string_view kind, const std::string& endpoint, const std::string&)>;

  // `margin`: how much longer than the device's own wait a forwarded call waits for the
  // other node (its queue, the bus both ways).
  NodeRouting(transport::EventLoop& loop, server::NodeBus& bus, OwnerLookup owner,
              Duration margin = Duration{5'000});
  ~NodeRouting();
  NodeRouting(const NodeRouting&) = delete;
  NodeRouting& operator=(const NodeRouting&) = delete;

  void set_local(LocalDispatch dispatch) { local_ = std::move(dispatch); }
  void set_event_sink(EventSink sink) { events_ = std::move(sink); }
  // Told the endpoint whose credentials another node changed in the shared store.
  void set_credentials_sink(std::function<void(const std::string& endpoint)> sink) {
    credentials_ = std::move(sink);
  }
  const std::string& node() const { return bus_.node(); }

  // The other node that serves `endpoint`; nullopt when none does, or this one.
  Result<std::optional<std::string>> elsewhere(const std::string& endpoint);
  // Hands the call to `node` and answers it with that node's answer: 503 when the node does
  // not listen, 504 when it does not answer within `wait` and the margin.
  void forward(const std::string& node, const http::Request& request, const ApiCaller& caller,
               Duration wait, Responder responder);

  // `tether server --workers N`: the other workers, whose lists a list call gathers
  // (between nodes on Redis there are none: a node lists what it serves).
  void set_siblings(std::vector<std::string> nodes) { siblings_ = std::move(nodes); }
  const std::vector<std::string>& siblings() const { return siblings_; }
  // `--workers N` on Redis: each worker is a node on the bus, and these are the other
  // workers of the same process. Between them every kind of event crosses (to them alone,
  // not to the other nodes), and they may ask for the list of clients and /metrics.
  void set_group(std::vector<std::string> nodes) { group_ = std::move(nodes); }
  // Forwards the call to every sibling and hands their answers, in siblings' order, to
  // `done` once all came (an error answer for one that did not listen or answer in time).
  void gather(const http::Request& request, const ApiCaller& caller, Duration wait,
              std::function<void(std::vector<http::Response>)> done);

  // Which events may go to the other nodes: those a device's every message makes (updated,
  // awake, sleeping, refused) stay on the node that saw them (docs/redis.md).
  static bool shares(std::string_view kind);
  // --workers: the bus joins the workers of one process (LocalNodeHub), not nodes on
  // Redis. Every kind of event is shared (a message costs a post, not a round trip), so a
  // stream sees every worker's Updates; the list of clients and /metrics may be asked of
  // another worker (between nodes a call must name a client); a message may be as large as
  // a whole list.
  void serve_as_worker() { worker_ = true; }
  // Whether a stream on another node asks for this kind now (each node says what its
  // streams want when one opens and every few seconds; unsaid for 15 s is forgotten).
  bool wanted_elsewhere(std::string_view kind);
  // Queues an event for the other nodes; the queue goes out once per loop turn, in one
  // round trip. Beyond kMaxOutbox waiting, events are dropped and counted.
  void share_event(std::string_view kind, const std::string& endpoint, const std::string& data);
  // What this node's streams want (HttpService::wanted_kinds); told to the others now and
  // every few seconds while any stream is open.
  void set_wants_source(std::function<std::vector<std::string>()> source);
  void tell_wants();

  // Tells the other nodes that this one changed or removed an endpoint's credentials.
  void share_credentials_change(const std::string& endpoint);
  // Tells node `from` that this one took registration `id` of `endpoint` over, so that it
  // lets its copy go (Lwm2mServer::release_taken); the handler runs on the node told.
  void tell_taken(const std::string& from, const std::string& endpoint, const std::string& id);
  void set_taken_sink(
      std::function<void(const std::string& endpoint, const std::string& id)> sink) {
    taken_ = std::move(sink);
  }

  const NodeRoutingMetrics& metrics() const { return metrics_; }
  std::string metrics_text() const;

 private:
  // forward() without counting; false when the node could not be reached (answered).
  bool hand(const std::string& node, const http::Request& request, const ApiCaller& caller,
            Duration wait, Responder responder);
  void on_message(std::string_view message);
  void serve(const nlohmann::json& message);
  void answered(const nlohmann::json& message);
  void reply_to(const std::string& node, std::uint64_t id, const http::Response& response);
  void heard_wants(const std::string& from, const nlohmann::json& message);
  void flush_outbox();

  transport::EventLoop& loop_;
  server::NodeBus& bus_;
  OwnerLookup owner_;
  Duration margin_;
  LocalDispatch local_;
  EventSink events_;
  std::function<void(const std::string&)> credentials_;
  std::function<void(const std::string&, const std::string&)> taken_;
  struct Pending {
    Responder responder;
    std::string node;  // whose answer it waits for
    transport::EventLoop::TimerId timer = 0;
  };
  std::unordered_map<std::uint64_t, Pending> pending_;
  // Starts at random: an answer meant for a call made before a restart never matches one
  // made after.
  std::uint64_t next_id_ = 0;
  std::function<std::vector<std::string>()> wants_source_;
  transport::EventLoop::TimerId wants_timer_ = 0;
  struct RemoteWants {
    std::vector<std::string> kinds;  // {"*"}: every kind
    Instant until{};
  };
  std::unordered_map<std::string, RemoteWants> remote_wants_;
  std::vector<std::string> outbox_;
  transport::EventLoop::TimerId outbox_timer_ = 0;
  NodeRoutingMetrics metrics_;
  std::vector<std::string> siblings_;
  std::vector<std::string> group_;
  // Events waiting to go to the group's nodes that want them, every kind: (node, message).
  std::vector<std::pair<std::string, std::string>> group_outbox_;
  bool worker_ = false;
  bool in_group(std::string_view node) const;
  bool shared(std::string_view kind) const { return worker_ || shares(kind); }
  // Whether an event of `kind` crosses between this node and `node`.
  bool crosses(std::string_view kind, std::string_view node) const {
    return shared(kind) || in_group(node);
  }
  void schedule_outbox();
  // `message` as sent to the group's nodes (marked, so that each drops the broadcast copy).
  static std::string group_copy(nlohmann::json message);
  // Sends the group's copy of `message` to each node of the group.
  void tell_group(nlohmann::json message);
  // Answers can come after this is gone (shutdown): they do nothing then.
  std::shared_ptr<NodeRouting*> self_ = std::make_shared<NodeRouting*>(this);
};

}  // namespace tether::api
