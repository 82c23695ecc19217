#pragma once
// The REST API (docs/api.md): JSON over HTTP on cpp-httplib, default port 8080.
//
// httplib serves each connection on a worker thread; the LwM2M server is single-threaded
// and lives on the event loop. Every handler therefore posts its work to the loop
// (EventLoop::post) and waits for the answer; nothing here touches server state directly.
// Server-sent events fan out from the loop thread to one queue per /api/events stream.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "server/lwm2m_server.hpp"
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

class HttpApi {
 public:
  HttpApi(ApiConfig config, transport::EventLoop& loop, server::Lwm2mServer& server);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds and starts serving on a thread of its own.
  Result<Ok> start();
  void stop();
  std::uint16_t port() const { return port_; }

  // Loop thread: hands a server event to every /api/events stream.
  void publish(const server::ServerEvent& event);
  // Extra text for /metrics, gathered on the loop thread (transport and process figures).
  void set_extra_metrics(std::function<std::string()> f) { extra_metrics_ = std::move(f); }

 private:
  struct Subscriber;
  void routes();
  // Runs `f` on the loop thread and waits for it.
  void on_loop(const std::function<void()>& f);
  void downlink(const std::string& endpoint, lwm2m::DownlinkRequest request,
                const httplib::Request& http, httplib::Response& res);
  std::string metrics_text();

  ApiConfig config_;
  transport::EventLoop& loop_;
  server::Lwm2mServer& server_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex subscribers_mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::function<std::string()> extra_metrics_;
};

}  // namespace tether::api
