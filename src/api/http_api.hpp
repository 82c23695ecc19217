#pragma once
// The LwM2M server's REST API (docs/api.md): JSON over HTTP on cpp-httplib, default port
// 8080. Clients, their resources, observations, credentials and metrics; the plumbing it
// shares with the bootstrap server's API is in HttpService.
#include <string>

#include "api/http_service.hpp"
#include "server/lwm2m_server.hpp"

namespace tether::api {

class HttpApi final : public HttpService {
 public:
  HttpApi(ApiConfig config, transport::EventLoop& loop, server::Lwm2mServer& server);
  // Stops serving before the routes' state goes.
  ~HttpApi() override { stop(); }

 private:
  void routes();
  void downlink(const std::string& endpoint, lwm2m::DownlinkRequest request,
                const httplib::Request& http, httplib::Response& res);
  std::string metrics_text();

  server::Lwm2mServer& server_;
};

}  // namespace tether::api
