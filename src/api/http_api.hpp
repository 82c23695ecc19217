#pragma once
// The LwM2M server's REST API (docs/api.md): JSON over HTTP, default port 8080 on loopback.
// Clients, their resources, observations, credentials and metrics; the plumbing it shares with the
// bootstrap server's API is in HttpService.
#include <functional>
#include <string>

#include "api/http_service.hpp"
#include "api/node_routing.hpp"
#include "api/request_log.hpp"
#include "server/lwm2m_server.hpp"

namespace tether::api {

class HttpApi final : public HttpService {
 public:
  HttpApi(ApiConfig config, transport::EventLoop& loop, server::Lwm2mServer& server);
  // Stops serving before the routes' state goes.
  ~HttpApi() override {
    *self_ = nullptr;
    stop();
  }

  // Transport TS 6.6: wakes a client over SMS (a Registration Update or Bootstrap-Request
  // Trigger); returns where it went ("sms:+4915550001") or why it could not. Unset: the
  // server has no SMS binding, and POST /api/clients/{ep}/wake answers 409.
  using Waker = std::function<Result<std::string>(const server::Registration&, bool bootstrap)>;
  void set_waker(Waker w) { waker_ = std::move(w); }
  // Several nodes: calls about a client another node serves go to that node, events are
  // shared (api/node_routing). Call before start(); `nodes` outlives the API.
  void set_nodes(NodeRouting* nodes);

 private:
  void routes();
  // A route under /api/clients/{ep}: when another node serves the client, the call is
  // handed to it.
  void device_route(const char* method, std::string_view pattern, Handler handler);
  // How long the call may wait for the client (?timeout=, else the default).
  Result<Duration> timeout_of(const Call& call) const;
  // Sends the request to the client named by the route and answers the call when the
  // client does (or the request times out).
  void downlink(Call& call, lwm2m::DownlinkRequest request);
  static Result<Ok> attributes_from_query(const Call& call, lwm2m::DownlinkRequest& r);
  std::string metrics_text();
  // The whole fleet by binding, version, transport, security and state (?counts=true).
  nlohmann::json fleet_counts_json() const;
  // --workers: GET /api/clients answered by every worker and merged.
  void gather_clients(Call& call);

  // Logs a finished request and publishes it as a `request` event.
  void log_request(const std::string& endpoint, nlohmann::json entry);

  server::Lwm2mServer& server_;
  Waker waker_;
  RequestLog requests_;
  NodeRouting* nodes_ = nullptr;
  // Answers can come after the API is gone (at shutdown): they log only while this is set.
  std::shared_ptr<HttpApi*> self_ = std::make_shared<HttpApi*>(this);
};

}  // namespace tether::api
