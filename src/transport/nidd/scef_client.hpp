#pragma once
// The server's NIDD carrier (Transport TS Appendix D.3): the LwM2M server as an SCS/AS on
// an SCEF's T8 API (TS 29.122 5.6, nidd/t8). At start it asks for a NIDD configuration per
// UE it serves, naming our callback URL; mobile-terminated packets go as downlink data
// deliveries on a UE's configuration; the SCEF calls back with mobile-originated data and
// with the fate of deliveries it buffered (D.6). An SCEF that is away is asked again every
// `retry_delay`.
//
// The callback URL carries a token (`callback_token`, or a random one): the callback's
// address alone does not say the caller is the SCEF. Configuration requests go a few at a
// time (a server with many UEs does not flood the SCEF), and are repeated with jitter.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "nidd/t8.hpp"
#include "transport/event_loop.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"
#include "transport/nidd/nidd_carrier.hpp"

namespace tether::transport {

struct ScefClientOptions {
  std::string scef_url = "http://127.0.0.1:8090";  // the T8 API root (origin and path)
  std::string scs_as_id = "tether";
  std::vector<nidd::UeId> ues;              // the UEs we serve: a configuration each
  std::string callback_host = "127.0.0.1";  // an address the SCEF reaches, not 0.0.0.0
  std::uint16_t callback_port = 0;          // 0: any free port (tests)
  std::string callback_path = "/nidd";
  std::string callback_token;  // empty: a random one
  Duration request_timeout{30'000};
  Duration retry_delay{5'000};       // plus up to as much again, at random
  std::size_t max_configuring = 16;  // configuration requests in flight
  // How long the SCEF may buffer a delivery (D.6): within CoAP's MAX_TRANSMIT_WAIT (93 s),
  // after which the server gave up on the request and a late delivery would run it anyway.
  std::uint32_t maximum_latency_s = 90;
  std::size_t max_in_flight = 100'000;  // deliveries awaiting their outcome
};

// "http://127.0.0.1:8090/scef" -> origin "http://127.0.0.1:8090", root "/scef". Fails for
// anything but http:// with an IP literal host (T8 over HTTPS is not built yet).
struct ScefUrl {
  std::string origin;
  std::string root;
};
Result<ScefUrl> parse_scef_url(const std::string& url);

class ScefClient final : public NiddCarrier {
 public:
  // Throws std::invalid_argument for a URL or id it cannot use (start-up configuration).
  ScefClient(EventLoop& loop, ScefClientOptions options);
  ~ScefClient() override;

  // Listens for callbacks and asks for the configurations; fails when the port is taken.
  Result<Ok> start();
  std::uint16_t callback_port() const { return server_->port(); }
  // Whether the SCEF has answered a UE's configuration (its packets can flow).
  bool configured(const std::string& ue) const;

  std::uint64_t send(const NiddPacket& packet) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  void set_problem_handler(Problem p) override { problem_ = std::move(p); }
  std::size_t max_packet(const std::string& ue) const override;
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;
  std::string describe() const override;

 private:
  struct Ue {
    nidd::UeId id;
    std::string self;  // the configuration's URL, once the SCEF answered
    std::size_t max_packet = nidd::kMaxPacket;
    bool asking = false;  // queued or sent
    EventLoop::TimerId retry = 0;
  };
  struct InFlight {
    std::uint64_t handle = 0;
    Instant expires{};
  };
  void configure(Ue& ue);  // queues it; configure_next() sends
  void configure_next();
  void on_configured(const std::string& key, Result<http::Response> r);
  void retry_later(Ue& ue);
  void buffer(const std::string& url, std::uint64_t handle);
  void settle(std::uint64_t handle, const std::string& status);
  void on_callback(const http::Request& request, HttpServer::Responder responder);
  void on_notification(const nidd::Notification& n);
  void report(std::uint64_t handle, Outcome outcome);
  void problem(const std::string& event, const std::string& detail);
  void expire_in_flight();
  http::Request post(const std::string& path, std::string json) const;
  std::string path_of(const std::string& url) const;  // "" unless under our SCEF's origin

  EventLoop& loop_;
  ScefClientOptions options_;
  ScefUrl url_;
  HttpClient client_;
  std::unique_ptr<HttpServer> server_;
  std::unordered_map<std::string, Ue> ues_;             // by UeId::key()
  std::unordered_map<std::string, InFlight> buffered_;  // by the delivery's URL
  std::deque<std::string> to_configure_;                // UeId keys
  std::size_t configuring_ = 0;
  // Final statuses that came before the SCEF's answer to the delivery (another connection
  // may overtake it), by the delivery's URL; the oldest go first.
  std::unordered_map<std::string, std::string> early_statuses_;
  std::deque<std::string> early_order_;
  std::string destination_;  // our callback URL, as the SCEF is told
  EventLoop::TimerId expiry_timer_ = 0;
  std::uint64_t next_handle_ = 1;
  Receiver receiver_;
  Reporter reporter_;
  Problem problem_;
  std::uint64_t sent_ = 0;
  std::uint64_t buffered_count_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t refused_ = 0;
  std::uint64_t unknown_ue_ = 0;
  std::uint64_t config_failed_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::transport
