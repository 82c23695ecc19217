#include "api/node_routing.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <sstream>
#include <utility>

#include "common/base64.hpp"
#include "common/text.hpp"
#include "server/bus_message.hpp"

namespace tether::api {
namespace {

// Bounds on what the bus carries: a call's body is capped by the API's own limits, so
// anything near this is not ours. Between the workers of one process, a whole list of
// clients (up to kWholeListMax rows) crosses too.
constexpr std::size_t kMaxMessage = 8 * 1024 * 1024;
constexpr std::size_t kMaxWorkerMessage = 256 * 1024 * 1024;
constexpr std::size_t kMaxName = 256;
constexpr std::size_t kMaxTarget = 8 * 1024;
// Events waiting for the bus beyond this are dropped (a Redis that is away must not make
// the queue grow without bound).
constexpr std::size_t kMaxOutbox = 10'000;
// Each node says what its streams want this often, and forgets what another said after
// kWantsLife unsaid.
constexpr Duration kWantsEvery{5'000};
constexpr Duration kWantsLife{15'000};
// Nodes whose wants are kept at once.
constexpr std::size_t kMaxNodes = 256;
// The answers' header fields that cross the bus: what the API's own answers carry.
constexpr std::array<const char*, 5> kCarriedHeaders = {
    "Content-Type", "Retry-After", "Cache-Control", "X-Content-Type-Options", "Location"};

std::string text_of(std::string_view bytes) {
  return base64_encode(ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                       Base64Alphabet::kStandard);
}

std::optional<std::string> bytes_of(const json& field) {
  if (!field.is_string()) return std::nullopt;
  auto decoded = base64_decode(field.get_ref<const std::string&>(), Base64Alphabet::kStandard);
  if (!decoded) return std::nullopt;
  return std::string(decoded->begin(), decoded->end());
}

using server::clean_field;

// A header value fit to write back as it is: printable ASCII.
bool header_safe(const std::string& value) {
  return value.size() <= kMaxName &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

bool known_method(const std::string& m) {
  return m == "GET" || m == "PUT" || m == "POST" || m == "DELETE" || m == "PATCH";
}

}  // namespace

NodeRouting::NodeRouting(transport::EventLoop& loop, server::NodeBus& bus, OwnerLookup owner,
                         Duration margin)
    : loop_(loop), bus_(bus), owner_(std::move(owner)), margin_(margin) {
  std::random_device seed;
  next_id_ = (std::uint64_t{seed()} << 32) ^ seed();
  bus_.set_handler([this](std::string_view message) { on_message(message); });
}

NodeRouting::~NodeRouting() {
  *self_ = nullptr;
  bus_.set_handler(nullptr);
  for (auto& [id, p] : pending_) loop_.cancel(p.timer);
  for (auto timer : {wants_timer_, outbox_timer_}) {
    if (timer != 0) loop_.cancel(timer);
  }
}

Result<std::optional<std::string>> NodeRouting::elsewhere(const std::string& endpoint) {
  auto owner = owner_(endpoint);
  if (!owner) return owner.error();
  if (!*owner || **owner == bus_.node()) return std::optional<std::string>{};
  return owner;
}

void NodeRouting::forward(const std::string& node, const http::Request& request,
                          const ApiCaller& caller, Duration wait, Responder responder) {
  if (hand(node, request, caller, wait, std::move(responder))) ++metrics_.forwarded;
}

bool NodeRouting::hand(const std::string& node, const http::Request& request,
                       const ApiCaller& caller, Duration wait, Responder responder) {
  const std::uint64_t id = next_id_++;
  json message{{"type", "request"},
               {"id", id},
               {"from", bus_.node()},
               {"method", request.method},
               {"path", request.path},
               {"query", request.query},
               {"body", text_of(request.body)},
               {"user", caller.user ? json(*caller.user) : json(nullptr)},
               {"role", role_name(caller.role)}};
  auto sent = bus_.send(node, json_text(message));
  if (!sent || !*sent) {
    ++metrics_.unreachable;
    const std::string why = sent ? "does not listen (it may be down: its devices move to "
                                   "another node with their next message)"
                                 : "cannot be reached: " + sent.error().reason;
    busy(responder, "node " + node + ", which serves this client, " + why, 5);
    return false;
  }
  const Duration limit = wait + margin_;
  Pending p{std::move(responder), node, 0};
  p.timer = loop_.schedule(loop_.now() + limit, [this, id, node, limit] {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    Responder to = std::move(it->second.responder);
    pending_.erase(it);
    ++metrics_.timed_out;
    error(to, 504, "5.04",
          "node " + node + " did not answer within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) +
              " s");
  });
  pending_.emplace(id, std::move(p));
  return true;
}

void NodeRouting::gather(const http::Request& request, const ApiCaller& caller, Duration wait,
                         std::function<void(std::vector<http::Response>)> done) {
  struct Gathering {
    std::vector<http::Response> answers;
    std::size_t missing = 0;
    std::function<void(std::vector<http::Response>)> done;
  };
  auto g = std::make_shared<Gathering>();
  g->answers.resize(siblings_.size());
  g->missing = siblings_.size();
  g->done = std::move(done);
  if (g->missing == 0) return g->done({});
  for (std::size_t i = 0; i < siblings_.size(); ++i) {
    // Not counted as calls handed over: the list and /metrics ask every worker.
    hand(siblings_[i], request, caller, wait, Responder::to([g, i](http::Response r) {
           g->answers[i] = std::move(r);
           if (--g->missing == 0) g->done(std::move(g->answers));
         }));
  }
}

bool NodeRouting::shares(std::string_view kind) {
  return kind != "updated" && kind != "awake" && kind != "sleeping" && kind != "refused";
}

bool NodeRouting::in_group(std::string_view node) const {
  return std::find(group_.begin(), group_.end(), node) != group_.end();
}

bool NodeRouting::wanted_elsewhere(std::string_view kind) {
  if (!shared(kind) && group_.empty()) return false;
  const Instant now = loop_.now();
  bool wanted = false;
  std::erase_if(remote_wants_, [&](const auto& entry) {
    if (entry.second.until < now) return true;
    if (!crosses(kind, entry.first)) return false;
    for (const auto& k : entry.second.kinds) wanted = wanted || k == "*" || k == kind;
    return false;
  });
  return wanted;
}

void NodeRouting::share_event(std::string_view kind, const std::string& endpoint,
                              const std::string& data) {
  if (!wanted_elsewhere(kind)) return;
  if (outbox_.size() + group_outbox_.size() >= kMaxOutbox) {
    ++metrics_.events_dropped;
    return;
  }
  json message{{"type", "event"},
               {"from", bus_.node()},
               {"kind", kind},
               {"endpoint", endpoint},
               {"data", data}};
  // The workers of this process that want it get it straight (in order, every kind); the
  // other nodes by broadcast, only the kinds they take.
  bool to_nodes = false;
  std::vector<std::string> to_group;
  for (const auto& [node, wants] : remote_wants_) {
    if (std::none_of(wants.kinds.begin(), wants.kinds.end(),
                     [&](const auto& k) { return k == "*" || k == kind; })) {
      continue;
    }
    if (in_group(node)) {
      to_group.push_back(node);
    } else {
      to_nodes = to_nodes || shared(kind);
    }
  }
  if (to_nodes) outbox_.push_back(json_text(message));
  if (!to_group.empty()) {
    const std::string text = group_copy(std::move(message));
    for (auto& node : to_group) group_outbox_.emplace_back(std::move(node), text);
  }
  schedule_outbox();
}

void NodeRouting::schedule_outbox() {
  if (outbox_timer_ != 0) return;
  outbox_timer_ = loop_.schedule(loop_.now(), [this] {
    outbox_timer_ = 0;
    flush_outbox();
  });
}

void NodeRouting::flush_outbox() {
  std::vector<std::string> batch;
  batch.swap(outbox_);
  // Events are best effort, as a stream is: a failed round trip loses this batch.
  if (!batch.empty()) {
    if (auto sent = bus_.broadcast_all(batch); !sent) metrics_.events_dropped += batch.size();
  }
  std::vector<std::pair<std::string, std::string>> to_group;
  to_group.swap(group_outbox_);
  for (const auto& [node, message] : to_group) {
    if (auto sent = bus_.send(node, message); !sent || !*sent) ++metrics_.events_dropped;
  }
}

void NodeRouting::set_wants_source(std::function<std::vector<std::string>()> source) {
  wants_source_ = std::move(source);
  tell_wants();
}

void NodeRouting::tell_wants() {
  if (wants_timer_ != 0) loop_.cancel(wants_timer_);
  wants_timer_ = loop_.schedule(loop_.now() + kWantsEvery, [this] {
    wants_timer_ = 0;
    tell_wants();
  });
  if (!wants_source_) return;
  const std::vector<std::string> kinds = wants_source_();
  if (kinds.empty()) return;  // no stream here: the others forget this node by themselves
  json message{{"type", "wants"}, {"from", bus_.node()}, {"kinds", kinds}};
  (void)bus_.broadcast(json_text(message));
  tell_group(std::move(message));
}

void NodeRouting::heard_wants(const std::string& from, const json& message) {
  const auto kinds = message.find("kinds");
  if (kinds == message.end() || !kinds->is_array() || kinds->size() > 64) {
    ++metrics_.malformed;
    return;
  }
  RemoteWants wants;
  for (const auto& k : *kinds) {
    if (!k.is_string() || !check_text(k.get_ref<const std::string&>(), "kind", 64)) {
      ++metrics_.malformed;
      return;
    }
    wants.kinds.push_back(k.get<std::string>());
  }
  wants.until = loop_.now() + kWantsLife;
  // Bounded: names come from whoever reaches Redis, and a spray of them must not grow it.
  if (remote_wants_.size() >= kMaxNodes && remote_wants_.count(from) == 0) {
    ++metrics_.malformed;
    return;
  }
  remote_wants_[from] = std::move(wants);
}

void NodeRouting::share_credentials_change(const std::string& endpoint) {
  json message{{"type", "credentials"}, {"from", bus_.node()}, {"endpoint", endpoint}};
  // Lost (the bus is down): the other nodes keep what they had until they restart.
  (void)bus_.broadcast(json_text(message));
  tell_group(std::move(message));
}

std::string NodeRouting::group_copy(json message) {
  message["group"] = true;
  return json_text(message);
}

void NodeRouting::tell_group(json message) {
  // The workers of this process hear it straight, also while the broadcast fails.
  if (group_.empty()) return;
  const std::string text = group_copy(std::move(message));
  for (const auto& node : group_) (void)bus_.send(node, text);
}

void NodeRouting::tell_taken(const std::string& from, const std::string& endpoint,
                             const std::string& id) {
  if (from == bus_.node()) return;
  json message{{"type", "taken"}, {"from", bus_.node()}, {"endpoint", endpoint}, {"id", id}};
  // Lost (the bus is down, or that node is): its copy stays until its lifetime ends, and no
  // write of it reaches the store (only the owner's do).
  (void)bus_.send(from, json_text(message));
}

void NodeRouting::on_message(std::string_view text) {
  // A worker's whole list crosses to the first (on Redis, through the hub: what comes over
  // Redis is bounded by its own limit on a subscriber's buffer, 32 MB by default).
  if (text.size() > (worker_ || !group_.empty() ? kMaxWorkerMessage : kMaxMessage)) {
    ++metrics_.malformed;
    return;
  }
  json message = json::parse(text, nullptr, false);
  const std::string* type = message.is_object() ? clean_field(message, "type", 16) : nullptr;
  const std::string* from = type ? clean_field(message, "from", kMaxName) : nullptr;
  // A broadcast from a worker of this process: the copy meant for this one came straight.
  if (from != nullptr && in_group(*from) && *type != "request" && *type != "response" &&
      *type != "taken") {
    const auto group = message.find("group");
    if (group == message.end() || !group->is_boolean() || !group->get<bool>()) return;
  }
  if (type == nullptr) {
    ++metrics_.malformed;
  } else if (*type == "request") {
    serve(message);
  } else if (*type == "response") {
    answered(message);
  } else if (*type == "event" && from != nullptr) {
    if (*from == bus_.node()) return;  // this node's own, already on its streams
    const std::string* kind = clean_field(message, "kind", 64);
    const std::string* endpoint = clean_field(message, "endpoint", kMaxName);
    // One JSON object without a control character: one line of the stream, so nothing can
    // be slipped into it between events.
    const std::string* data = clean_field(message, "data", kMaxMessage);
    const bool whole = kind && endpoint && data && crosses(*kind, *from) &&
                       data->starts_with('{') && json::accept(*data);
    if (!whole) {
      ++metrics_.malformed;
      return;
    }
    ++metrics_.events_in;
    if (events_) events_(*kind, *endpoint, *data);
  } else if (*type == "wants" && from != nullptr) {
    if (*from != bus_.node()) heard_wants(*from, message);
  } else if (*type == "credentials" && from != nullptr) {
    if (*from == bus_.node()) return;
    const std::string* endpoint = clean_field(message, "endpoint", kMaxName);
    if (endpoint == nullptr) {
      ++metrics_.malformed;
      return;
    }
    ++metrics_.credentials_in;
    if (credentials_) credentials_(*endpoint);
  } else if (*type == "taken" && from != nullptr) {
    const std::string* endpoint = clean_field(message, "endpoint", kMaxName);
    const std::string* id = clean_field(message, "id", kMaxName);
    if (endpoint == nullptr || id == nullptr || *from == bus_.node()) {
      ++metrics_.malformed;
      return;
    }
    ++metrics_.taken_in;
    if (taken_) taken_(*endpoint, *id);
  } else {
    ++metrics_.malformed;
  }
}

void NodeRouting::serve(const json& message) {
  const std::string* from = clean_field(message, "from", kMaxName);
  const std::string* method = clean_field(message, "method", 16);
  const std::string* path = clean_field(message, "path", kMaxTarget);
  const std::string* query = clean_field(message, "query", kMaxTarget);
  const std::string* role = clean_field(message, "role", 16);
  const auto id = message.find("id");
  const auto user = message.find("user");
  auto body = message.contains("body") ? bytes_of(message["body"]) : std::nullopt;
  const bool user_ok =
      user != message.end() &&
      (user->is_null() ||
       (user->is_string() && check_text(user->get<std::string>(), "user", kMaxName)));
  // Only what the calling node hands over: calls about one client (and between workers the
  // list of clients and /metrics, which the first gathers), and a reader's only GETs (the
  // calling node checked the role; a forged message cannot widen it).
  const bool list = (worker_ || (from != nullptr && in_group(*from))) && path != nullptr &&
                    (*path == "/api/clients" || *path == "/metrics") && method && *method == "GET";
  const bool in_scope = path != nullptr && (path->starts_with("/api/clients/") || list) &&
                        path->find_first_of("?#") == std::string::npos &&
                        (role == nullptr || *role == "operator" || (method && *method == "GET"));
  if (!from || !method || !known_method(*method) || !in_scope || !query || !role ||
      (*role != "read" && *role != "operator") || id == message.end() ||
      !id->is_number_unsigned() || !body || !user_ok || local_ == nullptr) {
    ++metrics_.malformed;
    return;
  }
  http::Request request;
  request.method = *method;
  request.path = *path;
  request.query = *query;
  request.target = query->empty() ? *path : *path + "?" + *query;
  request.body = std::move(*body);
  ApiCaller caller;
  if (user->is_string()) caller.user = user->get<std::string>();
  caller.role = *role == "operator" ? Role::kOperator : Role::kRead;
  caller.forwarded = true;
  if (!list) ++metrics_.served;
  const std::uint64_t number = id->get<std::uint64_t>();
  Responder to = Responder::to(
      [self = std::weak_ptr<NodeRouting*>(self_), node = *from, number](http::Response response) {
        if (auto s = self.lock(); s && *s != nullptr) (*s)->reply_to(node, number, response);
      });
  try {
    local_(request, std::move(caller), to);
  } catch (const std::exception& e) {
    // The calling node is told at once, not after its wait (nothing is sent if the
    // handler answered before it threw).
    error(to, 500, "5.00", std::string("the node serving the client failed: ") + e.what());
  }
}

void NodeRouting::reply_to(const std::string& node, std::uint64_t id,
                           const http::Response& response) {
  json message{{"type", "response"},
               {"id", id},
               {"from", bus_.node()},
               {"status", response.status},
               {"body", text_of(response.body)}};
  json headers = json::object();
  for (const char* name : kCarriedHeaders) {
    if (auto value = response.headers.get(name)) headers[name] = *value;
  }
  message["headers"] = std::move(headers);
  (void)bus_.send(node, json_text(message));  // lost: the caller's node answers 504
}

void NodeRouting::answered(const json& message) {
  const auto id = message.find("id");
  const auto status = message.find("status");
  auto body = message.contains("body") ? bytes_of(message["body"]) : std::nullopt;
  if (id == message.end() || !id->is_number_unsigned() || status == message.end() ||
      !status->is_number_integer() || *status < 200 || *status > 599 || !body) {
    ++metrics_.malformed;
    return;
  }
  auto it = pending_.find(id->get<std::uint64_t>());
  const std::string* from = clean_field(message, "from", kMaxName);
  // Answered late (the caller already had a 504), or by a node it was not asked of.
  if (it == pending_.end() || from == nullptr || *from != it->second.node) return;
  http::Response response;
  response.status = status->get<int>();
  response.body = std::move(*body);
  if (const auto headers = message.find("headers");
      headers != message.end() && headers->is_object()) {
    for (const char* name : kCarriedHeaders) {
      if (const std::string* value = clean_field(*headers, name, kMaxName);
          value && header_safe(*value)) {
        response.headers.set(name, *value);
      }
    }
  }
  Responder to = std::move(it->second.responder);
  loop_.cancel(it->second.timer);
  pending_.erase(it);
  to.respond(std::move(response));
}

std::string NodeRouting::metrics_text() const {
  std::ostringstream out;
  const auto line = [&out](const char* name, const char* help, std::uint64_t value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n"
        << name << ' ' << value << '\n';
  };
  line("tether_node_calls_forwarded_total", "API calls handed to the node serving the client",
       metrics_.forwarded);
  line("tether_node_calls_served_total", "API calls another node handed to this one",
       metrics_.served);
  line("tether_node_calls_unreachable_total",
       "API calls whose node did not listen or could not be reached", metrics_.unreachable);
  line("tether_node_calls_timed_out_total", "API calls another node did not answer in time",
       metrics_.timed_out);
  line("tether_node_events_received_total", "events from other nodes", metrics_.events_in);
  line("tether_node_events_dropped_total",
       "events not sent to the other nodes (queue full, or the bus failed)",
       metrics_.events_dropped);
  line("tether_node_credential_changes_received_total",
       "credential changes other nodes made, read again here", metrics_.credentials_in);
  line("tether_node_registrations_taken_total",
       "registrations another node took over from this one, let go here", metrics_.taken_in);
  line("tether_node_messages_malformed_total", "node bus messages dropped as malformed",
       metrics_.malformed);
  return out.str();
}

}  // namespace tether::api
