#pragma once
// What every Tether HTTP API shares (the LwM2M server's and the bootstrap server's): an
// HTTP/1.1 server on the engines' own event loop (transport::HttpServer), routing, who may
// call (seed 004: users and roles, api/api_users), the server-sent event stream
// /api/events, /api/health and /metrics.
//
// Handlers run on the loop thread, next to the engines, and answer now or later through
// their Call's responder; nothing blocks and no thread waits for another. A slow or silent
// HTTP peer holds a connection slot for a bounded time (http::ConnectionLimits), never a
// worker, so /api/health keeps answering.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_users.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "http/interface_auth.hpp"
#include "http/router.hpp"
#include "http/uri.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/operation/status.hpp"
#include "server/server_event.hpp"
#include "transport/event_loop.hpp"
#include "transport/http/http_server.hpp"

namespace tether::api {

using nlohmann::json;
using Responder = transport::HttpServer::Responder;

struct ApiConfig {
  // Loopback unless the operator says otherwise (--api-bind).
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (tests)
  // How long a request waits for the client when the caller gives no ?timeout= (seconds).
  Duration default_timeout{30'000};
  http::ConnectionLimits limits;  // header and body caps, read and idle timeouts
  std::size_t max_connections = 512;
  std::size_t max_event_streams = 64;  // more /api/events streams get 503
  // Seed 004: who may call, and how they prove it. No users: anyone who reaches the port
  // (loopback by default) is an operator. With users, every route but /api/health needs
  // one of them; `read` users may only GET.
  ApiUsers users;
  http::InterfaceAuthConfig auth;  // default: anonymous requests pass (no users)
  Bytes nonce_secret;              // keys Digest nonces
  tls::Backend* tls = nullptr;     // HTTPS with this server backend (owned by the caller)
  std::string software_version;    // shown by GET /api/me
};

// One file of the web console: the bytes, and the same gzipped when there is such a twin.
struct ConsoleFile {
  std::string content_type;
  std::string etag;  // quoted, as the header carries it
  std::string body;
  std::string gzip;  // empty: none
};
// Where the console's files come from, by name ("index.html", "app-5E2F.js"): compiled
// into the binary, or a folder during front-end work (apps/tether/console_source).
using ConsoleSource = std::function<std::optional<ConsoleFile>(std::string_view name)>;

// Who an admitted request comes from: the user it proved (none when the API has no users
// and the caller named nobody) and what that user may do.
struct ApiCaller {
  std::optional<std::string> user;
  Role role = Role::kRead;
  // Handed over by another server node, which checked the caller (api/node_routing): it is
  // answered here, never handed on again.
  bool forwarded = false;
};

// JSON text that never throws: text that is not UTF-8 (it should not get this far) becomes
// U+FFFD instead of an exception.
std::string json_text(const json& j);
void reply(const Responder& to, int status, const json& body);
// Errors carry the LwM2M code they stand for and a message (docs/api.md).
void error(const Responder& to, int status, const std::string& code, const std::string& message);
// An engine's error, under the code its reason starts with (else `fallback`).
void error(const Responder& to, const Error& e, lwm2m::Status fallback);
// 503 with Retry-After: the request may work later (a client's full queue).
void busy(const Responder& to, const std::string& message, std::uint32_t retry_after_s);
// HTTP status for an LwM2M code: 2.xx -> 200 (201 for Created), 4.xx/5.xx keep their
// numbers (4.04 -> 404), as the HTTP binding of Transport TS 7 does.
int http_status_for(lwm2m::Status code);

// One API request: the request, what its route captured (decoded, clean text) and its
// query, and the responder that answers it, now or later.
class Call {
 public:
  Call(const http::Request& request, std::vector<std::string> captures,
       std::vector<http::QueryParam> query, Responder responder, ApiCaller caller = {})
      : request_(request),
        captures_(std::move(captures)),
        query_(std::move(query)),
        responder_(std::move(responder)),
        caller_(std::move(caller)) {}

  const http::Request& request() const { return request_; }
  const std::string& body() const { return request_.body; }
  const std::string& capture(std::size_t i) const { return captures_.at(i); }
  const std::vector<http::QueryParam>& params() const { return query_; }
  bool has_param(std::string_view name) const;
  std::string param(std::string_view name) const;  // "" when absent
  // The body as JSON, whatever the Content-Type says (an empty body is `empty`).
  Result<json> json_body(const json& empty = json::object()) const;
  const Responder& responder() const { return responder_; }
  const ApiCaller& caller() const { return caller_; }

  void reply(int status, const json& body) const { api::reply(responder_, status, body); }
  void error(int status, const std::string& code, const std::string& message) const {
    api::error(responder_, status, code, message);
  }
  void error(const Error& e, lwm2m::Status fallback) const { api::error(responder_, e, fallback); }
  void no_content() const;

 private:
  const http::Request& request_;
  std::vector<std::string> captures_;
  std::vector<http::QueryParam> query_;
  Responder responder_;
  ApiCaller caller_;
};

class HttpService {
 public:
  // `service` names it in GET /api/me ("server", "bootstrap").
  HttpService(ApiConfig config, transport::EventLoop& loop, std::string service);
  virtual ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds and starts serving; fails when the address is taken.
  Result<Ok> start();
  void stop();
  std::uint16_t port() const { return server_->port(); }

  // Hands an event to every /api/events stream (loop thread, like everything here).
  void publish(const server::ServerEvent& event);
  // An event the API itself makes (`request`): `data` is its JSON, `kind` its name.
  void publish_json(std::string_view kind, const std::string& endpoint, const json& data);
  // Several nodes (api/node_routing): events name the node that saw them, and the ones the
  // other nodes share go to `relay` as their JSON text.
  using EventRelay = std::function<void(std::string_view kind, const std::string& endpoint,
                                        const std::string& data)>;
  void set_node(std::string node, std::function<bool(std::string_view kind)> shared,
                EventRelay relay) {
    node_ = std::move(node);
    shared_ = std::move(shared);
    relay_ = std::move(relay);
  }
  // An event another node saw, as that node's JSON text: to this node's streams that want
  // it. The text must be one line of JSON (api/node_routing checks).
  void publish_text(std::string_view kind, const std::string& endpoint, const std::string& data);
  // Runs a call another node admitted, as its caller (past the checks of who may call).
  void serve_forwarded(const http::Request& request, ApiCaller caller, Responder responder);
  // The definitions that tell typed values from untyped bytes in published events.
  void set_event_model(const lwm2m::model::Model* model) { event_model_ = model; }
  // Extra text for /metrics (transport and process figures).
  void set_extra_metrics(std::function<std::string()> f) { extra_metrics_ = std::move(f); }
  // --workers: /metrics (not handed over from another worker) goes here with this worker's
  // own text, to be summed with the others' before the answer.
  using MetricsGather = std::function<bool(const Call& call, std::string own)>;
  void set_metrics_gather(MetricsGather gather) { metrics_gather_ = std::move(gather); }
  // Where a handler's unexpected failure is reported (a log line).
  void set_error_sink(std::function<void(const std::string&)> sink);

 protected:
  using Handler = std::function<void(Call&)>;
  void route(const char* method, std::string_view pattern, Handler handler);
  const ApiConfig& config() const { return config_; }
  transport::EventLoop& loop() { return loop_; }
  // Serves /metrics: the engine's figures, then the API's and the extra ones.
  void serve_metrics(std::function<std::string()> engine_metrics);
  // Serves GET /api/models and /api/models/{id} from `models` (which outlives the service).
  void serve_models(const lwm2m::model::ObjectRegistry& models);

 public:
  // Serves the web console: GET / is its page, GET /console/{file} its assets. They hold
  // no data, so they need no user (the page asks for one); everything else they do goes
  // through the documented API. Call before start().
  void serve_console(ConsoleSource source);
  // Whether an open event stream asks for this kind of event about this endpoint.
  bool anyone_wants(std::string_view kind, std::string_view endpoint) const;
  // The kinds the open streams ask for, sorted; {"*"} when one asks for every kind.
  std::vector<std::string> wanted_kinds() const;
  // Called when an event stream opens (several nodes: the others learn what to send).
  void set_new_stream_handler(std::function<void()> f) { on_new_stream_ = std::move(f); }

 protected:
 private:
  struct EventStream {
    transport::HttpServer::Stream stream;
    std::set<std::string, std::less<>> endpoints;  // ?endpoint= (repeatable); empty: all
    std::vector<std::string> kinds;                // ?events=a,b; empty: every kind
    bool wants(std::string_view kind, std::string_view endpoint) const;
  };
  // Writes one event to the streams that want it, dropping the dead ones.
  void broadcast(std::string_view kind, const std::string& endpoint, const std::string& text);
  void handle(const http::Request& request, Responder responder);
  void dispatch(const http::Request& request, Responder responder, ApiCaller caller);
  // Builds the event-stream text of an event when a stream here or another node wants it.
  void publish_built(std::string_view kind, const std::string& endpoint,
                     const std::function<json()>& build);
  // Who the caller is and whether their role allows the request; answers a refusal itself
  // (and returns nothing).
  std::optional<ApiCaller> admitted(const http::Request& request, const Responder& responder);
  void common_routes();
  void keep_streams_alive();
  std::string api_metrics() const;

  ApiConfig config_;
  std::string service_;
  transport::EventLoop& loop_;
  std::unique_ptr<transport::HttpServer> server_;
  http::Router router_;
  std::vector<Handler> handlers_;
  std::vector<EventStream> streams_;
  const lwm2m::model::Model* event_model_ = nullptr;
  transport::EventLoop::TimerId keepalive_timer_ = 0;
  http::InterfaceAuth auth_;
  std::uint64_t unauthorized_ = 0;
  std::uint64_t forbidden_ = 0;
  std::function<std::string()> extra_metrics_;
  MetricsGather metrics_gather_;
  ConsoleSource console_;
  std::function<void()> on_new_stream_;
  std::string node_;
  std::function<bool(std::string_view kind)> shared_;
  EventRelay relay_;
};

}  // namespace tether::api
