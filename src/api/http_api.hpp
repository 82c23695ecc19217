#pragma once
// The LwM2M server's REST API (docs/api.md): JSON over HTTP, default port 8080 on loopback.
// Clients, their resources, observations, credentials and metrics; the plumbing it shares with the
// bootstrap server's API is in HttpService.
#include <functional>
#include <string>

#include "api/http_service.hpp"
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

 private:
  void routes();
  // Sends the request to the client named by the route and answers the call when the
  // client does (or the request times out).
  void downlink(Call& call, lwm2m::DownlinkRequest request);
  static Result<Ok> attributes_from_query(const Call& call, lwm2m::DownlinkRequest& r);
  std::string metrics_text();
  // The whole fleet by binding, version, transport, security and state (?counts=true).
  nlohmann::json fleet_counts_json() const;

  // Logs a finished request and publishes it as a `request` event.
  void log_request(const std::string& endpoint, nlohmann::json entry);

  server::Lwm2mServer& server_;
  Waker waker_;
  RequestLog requests_;
  // Answers can come after the API is gone (at shutdown): they log only while this is set.
  std::shared_ptr<HttpApi*> self_ = std::make_shared<HttpApi*>(this);
};

}  // namespace tether::api
