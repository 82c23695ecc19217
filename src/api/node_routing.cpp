#include "api/node_routing.hpp"

#include <algorithm>
#include <sstream>
#include <utility>

#include "common/base64.hpp"
#include "common/text.hpp"

namespace tether::api {
namespace {

// Bounds on what the bus carries: a call's body is capped by the API's own limits, so
// anything near this is not ours.
constexpr std::size_t kMaxMessage = 8 * 1024 * 1024;
constexpr std::size_t kMaxName = 256;
constexpr std::size_t kMaxTarget = 8 * 1024;

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

// A string field that is clean text within `max` bytes.
const std::string* clean(const json& message, const char* name, std::size_t max) {
  const auto it = message.find(name);
  if (it == message.end() || !it->is_string()) return nullptr;
  const auto& s = it->get_ref<const std::string&>();
  return check_text(s, name, max) ? &s : nullptr;
}

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
  bus_.set_handler([this](std::string_view message) { on_message(message); });
}

NodeRouting::~NodeRouting() {
  *self_ = nullptr;
  bus_.set_handler(nullptr);
  for (auto& [id, p] : pending_) loop_.cancel(p.timer);
}

Result<std::optional<std::string>> NodeRouting::elsewhere(const std::string& endpoint) {
  auto owner = owner_(endpoint);
  if (!owner) return owner.error();
  if (!*owner || **owner == bus_.node()) return std::optional<std::string>{};
  return owner;
}

void NodeRouting::forward(const std::string& node, const http::Request& request,
                          const ApiCaller& caller, Duration wait, Responder responder) {
  const std::uint64_t id = next_id_++;
  json message{{"type", "request"},
               {"id", id},
               {"from", bus_.node()},
               {"method", request.method},
               {"target", request.target},
               {"body", text_of(request.body)},
               {"user", caller.user ? json(*caller.user) : json(nullptr)},
               {"role", role_name(caller.role)}};
  auto sent = bus_.send(node, json_text(message));
  if (!sent || !*sent) {
    ++metrics_.unreachable;
    const std::string why = sent ? "does not listen (it may be down: its devices move to "
                                   "another node with their next message)"
                                 : "cannot be reached: " + sent.error().reason;
    return busy(responder, "node " + node + ", which serves this client, " + why, 5);
  }
  ++metrics_.forwarded;
  const Duration limit = wait + margin_;
  Pending p{std::move(responder), 0};
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
}

bool NodeRouting::shares(std::string_view kind) {
  return kind != "updated" && kind != "awake" && kind != "sleeping" && kind != "refused";
}

void NodeRouting::share_event(std::string_view kind, const std::string& endpoint,
                              const std::string& data) {
  if (!shares(kind)) return;
  json message{{"type", "event"},
               {"from", bus_.node()},
               {"kind", kind},
               {"endpoint", endpoint},
               {"data", data}};
  (void)bus_.broadcast(json_text(message));  // events are best effort, as a stream is
}

void NodeRouting::share_credentials_change(const std::string& endpoint) {
  json message{{"type", "credentials"}, {"from", bus_.node()}, {"endpoint", endpoint}};
  // Lost (the bus is down): the other nodes keep what they had until they restart.
  (void)bus_.broadcast(json_text(message));
}

void NodeRouting::on_message(std::string_view text) {
  if (text.size() > kMaxMessage) {
    ++metrics_.malformed;
    return;
  }
  json message = json::parse(text, nullptr, false);
  const std::string* type = message.is_object() ? clean(message, "type", 16) : nullptr;
  const std::string* from = type ? clean(message, "from", kMaxName) : nullptr;
  if (type == nullptr) {
    ++metrics_.malformed;
  } else if (*type == "request") {
    serve(message);
  } else if (*type == "response") {
    answered(message);
  } else if (*type == "event" && from != nullptr) {
    if (*from == bus_.node()) return;  // this node's own, already on its streams
    const std::string* kind = clean(message, "kind", 64);
    const std::string* endpoint = clean(message, "endpoint", kMaxName);
    // One JSON object without a control character: one line of the stream, so nothing can
    // be slipped into it between events.
    const std::string* data = clean(message, "data", kMaxMessage);
    const bool whole =
        kind && endpoint && data && shares(*kind) && data->starts_with('{') && json::accept(*data);
    if (!whole) {
      ++metrics_.malformed;
      return;
    }
    ++metrics_.events_in;
    if (events_) events_(*kind, *endpoint, *data);
  } else if (*type == "credentials" && from != nullptr) {
    if (*from == bus_.node()) return;
    const std::string* endpoint = clean(message, "endpoint", kMaxName);
    if (endpoint == nullptr) {
      ++metrics_.malformed;
      return;
    }
    ++metrics_.credentials_in;
    if (credentials_) credentials_(*endpoint);
  } else {
    ++metrics_.malformed;
  }
}

void NodeRouting::serve(const json& message) {
  const std::string* from = clean(message, "from", kMaxName);
  const std::string* method = clean(message, "method", 16);
  const std::string* target = clean(message, "target", kMaxTarget);
  const std::string* role = clean(message, "role", 16);
  const auto id = message.find("id");
  const auto user = message.find("user");
  auto body = message.contains("body") ? bytes_of(message["body"]) : std::nullopt;
  const bool user_ok =
      user != message.end() &&
      (user->is_null() ||
       (user->is_string() && check_text(user->get<std::string>(), "user", kMaxName)));
  if (!from || !method || !known_method(*method) || !target || !target->starts_with("/api/") ||
      !role || (*role != "read" && *role != "operator") || id == message.end() ||
      !id->is_number_unsigned() || !body || !user_ok || local_ == nullptr) {
    ++metrics_.malformed;
    return;
  }
  http::Request request;
  request.method = *method;
  request.target = *target;
  const auto q = target->find('?');
  request.path = target->substr(0, q);
  if (q != std::string::npos) request.query = target->substr(q + 1);
  request.body = std::move(*body);
  ApiCaller caller;
  if (user->is_string()) caller.user = user->get<std::string>();
  caller.role = *role == "operator" ? Role::kOperator : Role::kRead;
  caller.forwarded = true;
  ++metrics_.served;
  const std::uint64_t number = id->get<std::uint64_t>();
  local_(request, std::move(caller),
         Responder::to([self = std::weak_ptr<NodeRouting*>(self_), node = *from,
                        number](http::Response response) {
           if (auto s = self.lock(); s && *s != nullptr) (*s)->reply_to(node, number, response);
         }));
}

void NodeRouting::reply_to(const std::string& node, std::uint64_t id,
                           const http::Response& response) {
  json message{{"type", "response"},
               {"id", id},
               {"from", bus_.node()},
               {"status", response.status},
               {"body", text_of(response.body)}};
  if (auto type = response.headers.get("Content-Type")) message["contentType"] = *type;
  if (auto retry = response.headers.get("Retry-After")) message["retryAfter"] = *retry;
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
  if (it == pending_.end()) return;  // answered late: the caller already had a 504
  http::Response response;
  response.status = status->get<int>();
  response.body = std::move(*body);
  for (const auto& [field, header] :
       {std::pair{"contentType", "Content-Type"}, std::pair{"retryAfter", "Retry-After"}}) {
    if (const std::string* value = clean(message, field, kMaxName); value && header_safe(*value)) {
      response.headers.set(header, *value);
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
  line("tether_node_credential_changes_received_total",
       "credential changes other nodes made, read again here", metrics_.credentials_in);
  line("tether_node_messages_malformed_total", "node bus messages dropped as malformed",
       metrics_.malformed);
  return out.str();
}

}  // namespace tether::api
