#pragma once
// What every Tether HTTP API shares (the LwM2M server's and the bootstrap server's): the
// cpp-httplib server on a thread of its own, the bridge onto the event loop, the
// server-sent event stream /api/events and /api/health.
//
// httplib serves each connection on a worker thread; the engines are single-threaded and
// live on the event loop. Handlers therefore post their work to the loop (on_loop) and wait
// for the answer; nothing here touches engine state directly. Events fan out from the loop
// thread to one queue per /api/events stream.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "common/time.hpp"
#include "lwm2m/operation/status.hpp"
#include "server/server_event.hpp"
#include "transport/event_loop.hpp"

namespace httplib {
class Server;
class Request;
class Response;
}  // namespace httplib

namespace tether::api {

struct ApiConfig {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (tests)
  // How long a request waits for the client when the caller gives no ?timeout= (seconds).
  Duration default_timeout{30'000};
  std::size_t threads = 16;
};

void reply(httplib::Response& res, int status, const nlohmann::json& body);
// Errors carry the LwM2M code they stand for and a message (docs/api.md).
void error(httplib::Response& res, int status, const std::string& code, const std::string& message);
// An engine's error, under the code its reason starts with (else `fallback`).
void error(httplib::Response& res, const Error& e, lwm2m::Status fallback);
// HTTP status for an LwM2M code: 2.xx -> 200 (201 for Created), 4.xx/5.xx keep their
// numbers (4.04 -> 404), as the HTTP binding of Transport TS 7 does.
int http_status_for(lwm2m::Status code);

class HttpService {
 public:
  HttpService(ApiConfig config, transport::EventLoop& loop);
  virtual ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds and starts serving on a thread of its own.
  Result<Ok> start();
  void stop();
  std::uint16_t port() const { return port_; }

  // Loop thread: hands an event to every /api/events stream.
  void publish(const server::ServerEvent& event);
  // Extra text for /metrics, gathered on the loop thread (transport and process figures).
  void set_extra_metrics(std::function<std::string()> f) { extra_metrics_ = std::move(f); }

 protected:
  httplib::Server& http() { return *http_; }
  const ApiConfig& config() const { return config_; }
  transport::EventLoop& loop() { return loop_; }
  // Runs `f` on the loop thread and waits for it.
  void on_loop(const std::function<void()>& f);
  // Serves /metrics: `engine_metrics` runs on the loop thread, then the extra figures.
  void serve_metrics(std::function<std::string()> engine_metrics);

 private:
  struct Subscriber;
  void common_routes();

  ApiConfig config_;
  transport::EventLoop& loop_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex subscribers_mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::function<std::string()> extra_metrics_;
};

}  // namespace tether::api
