#pragma once
// The bootstrap server's REST API (docs/bootstrap.md), default port 8081: per-endpoint
// configurations, server-initiated bootstrap, session reports, events and metrics.
#include <string>

#include "api/http_service.hpp"
#include "bootstrap/bootstrap_server.hpp"

namespace tether::api {

class BootstrapApi final : public HttpService {
 public:
  BootstrapApi(ApiConfig config, transport::EventLoop& loop, bootstrap::BootstrapServer& server);
  ~BootstrapApi() override { stop(); }

 private:
  void routes();
  std::string metrics_text();

  bootstrap::BootstrapServer& server_;
};

nlohmann::json session_json(const bootstrap::BootstrapSession& s);

}  // namespace tether::api
