#include "api/http_service.hpp"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>

#include "api/json_mapping.hpp"

namespace tether::api {

namespace {
constexpr const char* kJson = "application/json";
constexpr std::size_t kMaxSubscriberBacklog = 10'000;
}  // namespace

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

// Errors carry the LwM2M code they stand for and a message (docs/api.md).
void error(httplib::Response& res, int status, const std::string& code,
           const std::string& message) {
  reply(res, status, json{{"code", code}, {"message", message}});
}

void error(httplib::Response& res, const Error& e, lwm2m::Status fallback) {
  const lwm2m::Status code = lwm2m::status_of(e, fallback);
  error(res, http_status_for(code), code.to_string(), e.reason);
}

int http_status_for(lwm2m::Status code) {
  if (code == lwm2m::status::kCreated) return 201;
  if (code.is_success()) return 200;
  const int status = code.code_class() * 100 + code.detail();
  return (status >= 400 && status <= 599) ? status : 502;
}

struct HttpService::Subscriber {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> events;
  std::string endpoint_filter;
};

HttpService::HttpService(ApiConfig config, transport::EventLoop& loop)
    : config_(std::move(config)), loop_(loop), http_(std::make_unique<httplib::Server>()) {
  const std::size_t threads = config_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  common_routes();
}

HttpService::~HttpService() {
  stop();
}

Result<Ok> HttpService::start() {
  const int port = config_.port == 0
                       ? http_->bind_to_any_port(config_.host)
                       : (http_->bind_to_port(config_.host, config_.port) ? config_.port : -1);
  if (port <= 0) {
    return fail("cannot listen for HTTP on " + config_.host + ":" + std::to_string(config_.port));
  }
  port_ = static_cast<std::uint16_t>(port);
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return Ok{};
}

void HttpService::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(subscribers_mutex_);
    for (auto& s : subscribers_) s->cv.notify_all();
  }
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpService::publish(const server::ServerEvent& event) {
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard<std::mutex> lock(subscribers_mutex_);
    if (subscribers_.empty()) return;
    subscribers = subscribers_;
  }
  const std::string text = "event: " + std::string(server::event_kind_name(event.kind)) +
                           "\ndata: " + event_json(event).dump() + "\n\n";
  for (auto& s : subscribers) {
    if (!s->endpoint_filter.empty() && s->endpoint_filter != event.endpoint) continue;
    std::lock_guard<std::mutex> lock(s->mutex);
    // A reader that stopped reading must not make the server hold events forever.
    if (s->events.size() >= kMaxSubscriberBacklog) s->events.pop_front();
    s->events.push_back(text);
    s->cv.notify_one();
  }
}

void HttpService::on_loop(const std::function<void()>& f) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  loop_.post([&f, done] {
    f();
    done->set_value();
  });
  future.wait();
}

void HttpService::serve_metrics(std::function<std::string()> engine_metrics) {
  http_->Get("/metrics", [this, engine_metrics = std::move(engine_metrics)](
                             const httplib::Request&, httplib::Response& res) {
    std::string text;
    on_loop([&] {
      text = engine_metrics();
      if (extra_metrics_) text += extra_metrics_();
    });
    res.set_content(text, "text/plain; version=0.0.4");
  });
}

void HttpService::common_routes() {
  auto& h = *http_;
  // Server-sent events; ?endpoint= narrows the stream to one client.
  h.Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) {
    auto sub = std::make_shared<Subscriber>();
    if (req.has_param("endpoint")) sub->endpoint_filter = req.get_param_value("endpoint");
    {
      std::lock_guard<std::mutex> lock(subscribers_mutex_);
      subscribers_.push_back(sub);
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, sub, first = true](std::size_t, httplib::DataSink& sink) mutable {
          if (first) {
            first = false;
            const std::string hello = ": tether events\n\n";
            return sink.write(hello.data(), hello.size());
          }
          std::unique_lock<std::mutex> lock(sub->mutex);
          sub->cv.wait_for(lock, std::chrono::seconds(15),
                           [&] { return !sub->events.empty() || stopping_.load(); });
          if (stopping_.load()) return false;
          if (sub->events.empty()) {
            const std::string ping = ": keep-alive\n\n";
            return sink.write(ping.data(), ping.size());
          }
          std::deque<std::string> batch;
          batch.swap(sub->events);
          lock.unlock();
          for (const auto& e : batch) {
            if (!sink.write(e.data(), e.size())) return false;
          }
          return true;
        },
        [this, sub](bool) {
          std::lock_guard<std::mutex> lock(subscribers_mutex_);
          std::erase(subscribers_, sub);
        });
  });

  h.Get("/api/health", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, json{{"status", "ok"}});
  });
}

}  // namespace tether::api
