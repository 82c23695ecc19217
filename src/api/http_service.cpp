#include "api/http_service.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "api/json_mapping.hpp"
#include "api/model_json.hpp"
#include "common/text.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::api {

namespace {
constexpr const char* kJson = "application/json";
constexpr Duration kKeepAliveInterval{15'000};
// API bodies are configurations and values, never deep: deeper JSON is refused unread.
constexpr int kMaxBodyNesting = 32;

bool reads_only(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

// A stream follows at most this many endpoints by name (a console's visible rows).
constexpr std::size_t kMaxStreamEndpoints = 200;

bool is_event_kind(std::string_view name) {
  using Kind = server::ServerEvent::Kind;
  for (auto k = static_cast<int>(Kind::kRegistered); k <= static_cast<int>(Kind::kRefused); ++k) {
    if (name == server::event_kind_name(static_cast<Kind>(k))) return true;
  }
  return name == "request";  // the API's own (HttpApi's request log)
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}
}  // namespace

std::string json_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {
http::Response json_response(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.headers.set("Content-Type", kJson);
  // Answers are live state: never from a cache, never taken for another type.
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.body = json_text(body);
  return r;
}
}  // namespace

void reply(const Responder& to, int status, const json& body) {
  to.respond(json_response(status, body));
}

void error(const Responder& to, int status, const std::string& code, const std::string& message) {
  reply(to, status, json{{"code", code}, {"message", message}});
}

void busy(const Responder& to, const std::string& message, std::uint32_t retry_after_s) {
  http::Response r = json_response(503, json{{"code", "5.03"}, {"message", message}});
  r.headers.set("Retry-After", std::to_string(retry_after_s));
  to.respond(std::move(r));
}

void error(const Responder& to, const Error& e, lwm2m::Status fallback) {
  const lwm2m::Status code = lwm2m::status_of(e, fallback);
  error(to, http_status_for(code), code.to_string(), e.reason);
}

int http_status_for(lwm2m::Status code) {
  if (code == lwm2m::status::kCreated) return 201;
  if (code.is_success()) return 200;
  const int status = code.code_class() * 100 + code.detail();
  return (status >= 400 && status <= 599) ? status : 502;
}

// --- Call -----------------------------------------------------------------------------

bool Call::has_param(std::string_view name) const {
  return std::any_of(query_.begin(), query_.end(),
                     [&](const http::QueryParam& p) { return p.name == name; });
}

std::string Call::param(std::string_view name) const {
  for (const auto& p : query_) {
    if (p.name == name) return p.value;
  }
  return {};
}

Result<json> Call::json_body(const json& empty) const {
  if (body().empty()) return empty;
  if (!lwm2m::format::json_nesting_within(body(), kMaxBodyNesting)) {
    return fail("the body nests deeper than " + std::to_string(kMaxBodyNesting) + " levels");
  }
  json j = json::parse(body(), nullptr, false);
  if (j.is_discarded()) return fail("the body is not JSON");
  return j;
}

void Call::no_content() const {
  http::Response r;
  r.status = 204;
  responder_.respond(std::move(r));
}

// --- the service ------------------------------------------------------------------------

HttpService::HttpService(ApiConfig config, transport::EventLoop& loop, std::string service)
    : config_(std::move(config)),
      service_(std::move(service)),
      loop_(loop),
      auth_(config_.auth, config_.nonce_secret) {
  transport::HttpServerOptions options;
  options.host = config_.host;
  options.port = config_.port;
  options.tls = config_.tls;
  options.limits = config_.limits;
  options.max_connections = config_.max_connections;
  server_ = std::make_unique<transport::HttpServer>(
      loop_, options,
      [this](const http::Request& request, Responder responder) { handle(request, responder); });
  common_routes();
}

HttpService::~HttpService() {
  stop();
}

Result<Ok> HttpService::start() {
  if (auto ok = server_->start(); !ok) return ok;
  keep_streams_alive();
  return Ok{};
}

void HttpService::stop() {
  if (keepalive_timer_ != 0) loop_.cancel(keepalive_timer_);
  keepalive_timer_ = 0;
  // The connections close with the server; nothing runs a handler from here on.
  streams_.clear();
  server_->stop();
}

void HttpService::set_error_sink(std::function<void(const std::string&)> sink) {
  server_->set_error_sink(std::move(sink));
}

void HttpService::route(const char* method, std::string_view pattern, Handler handler) {
  const std::size_t index = router_.add(method, pattern);
  if (handlers_.size() <= index) handlers_.resize(index + 1);
  handlers_[index] = std::move(handler);
}

std::optional<ApiCaller> HttpService::admitted(const http::Request& request,
                                               const Responder& responder) {
  if (request.path == "/api/health") return ApiCaller{};
  if (console_ && reads_only(request.method) &&
      (request.path == "/" || request.path.starts_with("/console/"))) {
    return ApiCaller{};  // the console's page and assets: no data in them
  }
  const auto peer = responder.peer();
  http::RequestSource source{peer.address, std::nullopt};
  if (peer.identity.kind == tls::PeerIdentity::Kind::kCertificate) {
    source.certificate_name = peer.identity.common_name;
  }
  const ApiUsers& users = config_.users;
  auto verdict = auth_.authenticate(
      request, source, [&](std::string_view name) { return users.password_of(name); },
      [&](std::string_view token) { return users.user_of_token(token); }, loop_.now());
  std::optional<Role> role;
  if (verdict.caller) {
    if (verdict.caller->method == http::Caller::Method::kNone) {
      // Nobody to be: an API without users is open (to whoever reaches its address).
      if (users.empty()) role = Role::kOperator;
    } else if (const ApiUser* user = users.find(verdict.caller->name)) {
      role = user->role;
    } else if (users.empty()) {
      role = Role::kOperator;  // a proxy or certificate vouched, and no users are listed
    }
    if (!role) verdict = auth_.refusal(loop_.now(), "not a user of this API");
  }
  if (!role) {
    ++unauthorized_;
    const std::string code = verdict.status == 401 ? "4.01" : "4.03";
    responder.respond(http::InterfaceAuth::respond(
        verdict, json_text(json{{"code", code}, {"message", verdict.reason}}), kJson));
    return std::nullopt;
  }
  if (*role == Role::kRead && !reads_only(request.method)) {
    ++forbidden_;
    error(responder, 403, "4.03", "user " + verdict.caller->name + " may only read");
    return std::nullopt;
  }
  ApiCaller caller;
  caller.role = *role;
  if (verdict.caller->method != http::Caller::Method::kNone) caller.user = verdict.caller->name;
  return caller;
}

void HttpService::handle(const http::Request& request, Responder responder) {
  auto caller = admitted(request, responder);
  if (!caller) return;
  dispatch(request, std::move(responder), std::move(*caller));
}

void HttpService::serve_forwarded(const http::Request& request, ApiCaller caller,
                                  Responder responder) {
  caller.forwarded = true;
  dispatch(request, std::move(responder), std::move(caller));
}

void HttpService::dispatch(const http::Request& request, Responder responder, ApiCaller caller) {
  auto found = router_.find(request.method, request.path);
  if (found.status != 200) {
    const std::string code = found.status == 405 ? "4.05" : found.status == 400 ? "4.00" : "4.04";
    return error(responder, found.status, code, found.message);
  }
  auto query = http::parse_query(request.query);
  if (!query) return error(responder, 400, "4.00", "query: " + query.error().reason);
  for (const auto& p : *query) {
    if (auto ok = check_text(p.name, "a query parameter name", 256); !ok) {
      return error(responder, 400, "4.00", ok.error().reason);
    }
    if (auto ok = check_text(p.value, "the value of " + printable(p.name, 32), 4096); !ok) {
      return error(responder, 400, "4.00", ok.error().reason);
    }
  }
  Call call(request, std::move(found.captures), std::move(*query), std::move(responder),
            std::move(caller));
  handlers_.at(found.index)(call);
}

bool HttpService::EventStream::wants(std::string_view kind, std::string_view endpoint) const {
  return (endpoints.empty() || endpoints.count(endpoint) != 0) &&
         (kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end());
}

void HttpService::broadcast(std::string_view kind, const std::string& endpoint,
                            const std::string& text) {
  std::erase_if(streams_, [&](const EventStream& s) {
    if (!s.wants(kind, endpoint)) return !s.stream.alive();
    return !s.stream.write(text);
  });
}

std::vector<std::string> HttpService::wanted_kinds() const {
  std::set<std::string> kinds;
  for (const auto& s : streams_) {
    if (!s.stream.alive()) continue;
    if (s.kinds.empty()) return {"*"};
    kinds.insert(s.kinds.begin(), s.kinds.end());
  }
  return {kinds.begin(), kinds.end()};
}

bool HttpService::anyone_wants(std::string_view kind, std::string_view endpoint) const {
  return std::any_of(streams_.begin(), streams_.end(),
                     [&](const EventStream& s) { return s.wants(kind, endpoint); });
}

void HttpService::publish(const server::ServerEvent& event) {
  publish_built(server::event_kind_name(event.kind), event.endpoint,
                [&] { return event_json(event, event_model_); });
}

void HttpService::publish_json(std::string_view kind, const std::string& endpoint,
                               const json& data) {
  publish_built(kind, endpoint, [&] { return data; });
}

void HttpService::publish_built(std::string_view kind, const std::string& endpoint,
                                const std::function<json()>& build) {
  const bool here = anyone_wants(kind, endpoint);
  const bool relayed = relay_ && shared_(kind);
  if (!here && !relayed) return;  // nobody listens for it: no JSON built
  json data = build();
  if (!node_.empty()) data["node"] = node_;
  const std::string text = json_text(data);
  if (here) broadcast(kind, endpoint, "event: " + std::string(kind) + "\ndata: " + text + "\n\n");
  if (relayed) relay_(kind, endpoint, text);
}

void HttpService::publish_text(std::string_view kind, const std::string& endpoint,
                               const std::string& data) {
  if (anyone_wants(kind, endpoint)) {
    broadcast(kind, endpoint, "event: " + std::string(kind) + "\ndata: " + data + "\n\n");
  }
}

void HttpService::keep_streams_alive() {
  // A comment line now and then: proxies keep the stream open, and a dead peer shows.
  std::erase_if(streams_, [](const EventStream& s) { return !s.stream.write(": keep-alive\n\n"); });
  keepalive_timer_ =
      loop_.schedule(loop_.now() + kKeepAliveInterval, [this] { keep_streams_alive(); });
}

void HttpService::serve_metrics(std::function<std::string()> engine_metrics) {
  route("GET", "/metrics", [this, engine_metrics = std::move(engine_metrics)](Call& call) {
    std::string text = engine_metrics() + api_metrics();
    if (extra_metrics_) text += extra_metrics_();
    if (metrics_gather_ && !call.caller().forwarded && metrics_gather_(call, text)) return;
    call.responder().respond(
        http::Response::text(200, std::move(text), "text/plain; version=0.0.4"));
  });
}

void HttpService::serve_models(const lwm2m::model::ObjectRegistry& models) {
  // Every definition held, one entry per object version, by id then version.
  route("GET", "/api/models", [&models](Call& call) {
    json list = json::array();
    for (const auto* o : models.all()) list.push_back(object_summary_json(*o));
    call.reply(200, list);
  });
  // One object: ?version=1.1 for that object version, ?lwm2m=1.1 for the one a client of
  // that LwM2M version uses, else the newest.
  route("GET", "/api/models/{id}", [&models](Call& call) {
    const std::string& text = call.capture(0);
    unsigned id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || end != text.data() + text.size() || id > 65535) {
      return call.error(400, "4.00", "an object id is a number from 0 to 65535");
    }
    const auto object_id = static_cast<std::uint16_t>(id);
    const lwm2m::model::ObjectDefinition* o =
        call.has_param("version") ? models.find(object_id, call.param("version"))
        : call.has_param("lwm2m") ? models.newest_for(object_id, call.param("lwm2m"))
                                  : models.object(object_id);
    if (o == nullptr) return call.error(404, "4.04", "no model of object " + text);
    call.reply(200, object_json(*o));
  });
}

namespace {
// Whether the caller takes gzip (RFC 9110 12.5.3), short of refusing it with q=0.
bool accepts_gzip(const http::Request& request) {
  const auto accept = request.headers.get("Accept-Encoding");
  if (!accept) return false;
  std::string text(*accept);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
  const auto at = text.find("gzip");
  if (at == std::string::npos) return false;
  const std::string params = text.substr(at + 4, text.find(',', at) - at - 4);
  if (params.empty()) return true;
  // "gzip;q=0" (or 0.0, 0.000) refuses it; any other weight takes it.
  if (!params.starts_with(";q=")) return false;
  return params.find_first_not_of("0.", 3) != std::string::npos;
}

// Whether an If-None-Match list ("a", W/"b", or *) names `etag` (weak comparison, RFC 9110
// 13.1.2).
bool if_none_match_hits(std::string_view header, std::string_view etag) {
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view tag = header.substr(start, end - start);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    start = end + 1;
  }
  return false;
}
}  // namespace

void HttpService::serve_console(ConsoleSource source) {
  console_ = std::move(source);
  auto send = [this](Call& call, const std::string& name, bool immutable) {
    auto file = console_(name);
    if (!file) return call.error(404, "4.04", "no console file " + name);
    http::Response r;
    // Nothing from elsewhere, nothing inline, no framing by other sites.
    r.headers.set("Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'none'");
    r.headers.set("X-Content-Type-Options", "nosniff");
    r.headers.set("Referrer-Policy", "no-referrer");
    r.headers.set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
    // Each encoding is its own representation, with its own tag (RFC 9110 8.8.3).
    const bool gzip = !file->gzip.empty() && accepts_gzip(call.request());
    const std::string etag =
        gzip ? file->etag.substr(0, file->etag.size() - 1) + "-gz\"" : file->etag;
    r.headers.set("ETag", etag);
    r.headers.set("Vary", "Accept-Encoding");
    if (const auto match = call.request().headers.get("If-None-Match");
        match && if_none_match_hits(*match, etag)) {
      r.status = 304;
      return call.responder().respond(std::move(r));
    }
    r.headers.set("Content-Type", file->content_type);
    if (gzip) {
      r.headers.set("Content-Encoding", "gzip");
      r.body = std::move(file->gzip);
    } else {
      r.body = std::move(file->body);
    }
    call.responder().respond(std::move(r));
  };
  route("GET", "/", [send](Call& call) { send(call, "index.html", false); });
  // Built names carry their content's hash, so they never change: cached for good.
  route("GET", "/console/{file}", [send](Call& call) {
    const std::string& name = call.capture(0);
    send(call, name, name.starts_with("app-"));
  });
}

std::string HttpService::api_metrics() const {
  const auto& m = server_->metrics();
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << v << '\n';
  };
  metric("tether_loop_errors_total", "counter",
         "Exceptions caught at the event loop's boundary (each logged; serving went on).",
         loop_.errors());
  metric("tether_api_requests_total", "counter", "HTTP requests to the API.", m.requests);
  metric("tether_api_handler_errors_total", "counter",
         "API requests whose handler failed unexpectedly (answered 500).", m.handler_errors);
  metric("tether_api_unauthorized_total", "counter",
         "API requests refused because the caller proved no user (401 or 403).", unauthorized_);
  metric("tether_api_forbidden_total", "counter",
         "API requests refused because the user's role does not allow them (403).", forbidden_);
  metric("tether_api_connections", "gauge", "Open API connections.", server_->connection_count());
  metric("tether_api_connections_refused_total", "counter",
         "API connections refused because the connection limit was reached.", m.refused_busy);
  metric("tether_api_event_streams", "gauge", "Open /api/events streams.", streams_.size());
  return out.str();
}

void HttpService::common_routes() {
  // Server-sent events; ?endpoint= (repeatable) narrows the stream to those clients and
  // ?events=registered,expired to those kinds.
  route("GET", "/api/events", [this](Call& call) {
    EventStream wanted;
    for (const auto& p : call.params()) {
      if (p.name == "endpoint") {
        if (wanted.endpoints.size() >= kMaxStreamEndpoints) {
          return call.error(400, "4.00",
                            "at most " + std::to_string(kMaxStreamEndpoints) + " endpoints");
        }
        wanted.endpoints.insert(p.value);
      } else if (p.name == "events") {
        for (const auto& kind : split_list(p.value)) {
          if (!is_event_kind(kind)) return call.error(400, "4.00", "no event kind " + kind);
          wanted.kinds.push_back(kind);
        }
      } else {
        return call.error(400, "4.00", "unknown parameter " + p.name);
      }
    }
    std::erase_if(streams_, [](const EventStream& s) { return !s.stream.alive(); });
    if (streams_.size() >= config_.max_event_streams) {
      return call.error(503, "5.03",
                        "too many event streams (" + std::to_string(streams_.size()) + ")");
    }
    http::Response head;
    head.headers.set("Content-Type", "text/event-stream");
    head.headers.set("Cache-Control", "no-cache");
    auto stream = call.responder().stream(std::move(head));
    if (!stream.write(": tether events\n\n")) return;
    wanted.stream = stream;
    streams_.push_back(std::move(wanted));
    if (on_new_stream_) on_new_stream_();
  });

  route("GET", "/api/health", [](Call& call) { call.reply(200, json{{"status", "ok"}}); });

  // Who the caller is to this API, so a console shows it and greys out what the role may
  // not do (the refusal still comes from the route).
  route("GET", "/api/me", [this](Call& call) {
    const ApiCaller& c = call.caller();
    call.reply(200, json{{"user", c.user ? json(*c.user) : json(nullptr)},
                         {"role", role_name(c.role)},
                         {"service", service_},
                         {"version", config_.software_version}});
  });
}

}  // namespace tether::api
