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
  // Told the endpoint whose configuration a PUT or DELETE changed (several nodes tell the
  // others, bootstrap/config_sync).
  void set_change_listener(std::function<void(const std::string& endpoint)> f) {
    on_change_ = std::move(f);
  }

 private:
  void routes();
  std::string metrics_text();

  bootstrap::BootstrapServer& server_;
  std::function<void(const std::string&)> on_change_;
};

nlohmann::json session_json(const bootstrap::BootstrapSession& s);

}  // namespace tether::api
