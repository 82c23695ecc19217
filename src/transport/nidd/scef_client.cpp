#include "transport/nidd/scef_client.hpp"

#include <stdexcept>

#include "common/random.hpp"
#include "common/text.hpp"
#include "http/uri.hpp"
#include "transport/socket_address.hpp"

namespace tether::transport {

namespace {
constexpr std::size_t kMaxUes = 1'000'000;
constexpr std::size_t kMaxEarlyStatuses = 1024;

HttpClientOptions client_options(const ScefClientOptions& o) {
  HttpClientOptions c;
  c.limits.response_timeout = o.request_timeout;
  c.limits.max_body_bytes = 64 * 1024;
  c.max_queued_per_origin = 4096;
  return c;
}
}  // namespace

Result<ScefUrl> parse_scef_url(const std::string& url) {
  if (url.rfind("http://", 0) != 0) return fail("the SCEF URL is http:// (no HTTPS yet)");
  const auto slash = url.find('/', 7);
  ScefUrl out;
  out.origin = url.substr(0, slash);
  out.root = slash == std::string::npos ? std::string{} : url.substr(slash);
  while (!out.root.empty() && out.root.back() == '/') out.root.pop_back();
  if (out.root.find_first_of("?#") != std::string::npos || !is_utf8(out.root) ||
      has_control(out.root)) {
    return fail("the SCEF URL's path is a plain path");
  }
  if (auto origin = parse_origin(out.origin); !origin) return origin.error();
  return out;
}

ScefClient::ScefClient(EventLoop& loop, ScefClientOptions options)
    : loop_(loop), options_(std::move(options)), client_(loop, client_options(options_)) {
  auto url = parse_scef_url(options_.scef_url);
  if (!url) throw std::invalid_argument("--nidd: " + url.error().reason);
  url_ = std::move(*url);
  if (!nidd::is_t8_id(options_.scs_as_id)) {
    throw std::invalid_argument("--nidd-scs-as: 1-64 letters, digits, - _ .");
  }
  if (options_.ues.size() > kMaxUes) throw std::invalid_argument("too many NIDD UEs");
  for (const auto& ue : options_.ues) ues_[ue.key()].id = ue;
  const std::string& host = options_.callback_host;
  if (!SocketAddress::resolve(host, 0) || host == "0.0.0.0" || host == "::" || host == "[::]") {
    throw std::invalid_argument(
        "--nidd-callback-host: the IP address the SCEF reaches us at (not 0.0.0.0 or ::)");
  }
  if (options_.callback_token.empty()) {
    // The SCEF learns the token from us alone: a random one costs nothing.
    Bytes t(16);
    SystemRandom().fill(t);
    options_.callback_token = to_hex(t);
  }
  HttpServerOptions s;
  s.host = options_.callback_host;
  s.port = options_.callback_port;
  s.limits.max_body_bytes = 8 * 1024;  // a packet of 1358 octets in base64, and its JSON
  server_ = std::make_unique<HttpServer>(
      loop_, s, [this](const http::Request& r, HttpServer::Responder done) {
        on_callback(r, std::move(done));
      });
}

ScefClient::~ScefClient() {
  *alive_ = false;
  for (auto& [key, ue] : ues_) {
    if (ue.retry != 0) loop_.cancel(ue.retry);
  }
  if (expiry_timer_ != 0) loop_.cancel(expiry_timer_);
  server_->stop();
}

Result<Ok> ScefClient::start() {
  if (auto ok = server_->start(); !ok) return ok;
  const bool v6 = options_.callback_host.find(':') != std::string::npos;
  destination_ = "http://" + (v6 ? "[" + options_.callback_host + "]" : options_.callback_host) +
                 ":" + std::to_string(server_->port()) + options_.callback_path +
                 "?token=" + percent_encode(options_.callback_token);
  for (auto& [key, ue] : ues_) configure(ue);
  return Ok{};
}

std::string ScefClient::describe() const {
  return "scef " + url_.origin + url_.root + " scs_as=" + options_.scs_as_id +
         " callback=" + options_.callback_host + ":" + std::to_string(server_->port()) +
         " ues=" + std::to_string(ues_.size());
}

bool ScefClient::configured(const std::string& ue) const {
  auto it = ues_.find(ue);
  return it != ues_.end() && !it->second.self.empty();
}

std::size_t ScefClient::max_packet(const std::string& ue) const {
  auto it = ues_.find(ue);
  return it == ues_.end() ? nidd::kMaxPacket : it->second.max_packet;
}

std::vector<std::pair<std::string, std::uint64_t>> ScefClient::counters() const {
  return {{"nidd_scef_sent", sent_},
          {"nidd_scef_buffered", buffered_count_},
          {"nidd_scef_failed", failed_},
          {"nidd_scef_received", received_},
          {"nidd_scef_malformed", malformed_},
          {"nidd_scef_callback_refused", refused_},
          {"nidd_scef_unknown_ue", unknown_ue_},
          {"nidd_scef_configuration_failed", config_failed_}};
}

void ScefClient::problem(const std::string& event, const std::string& detail) {
  if (problem_) problem_(event, detail);
}

void ScefClient::report(std::uint64_t handle, Outcome outcome) {
  if (outcome == Outcome::kFailed) ++failed_;
  if (reporter_) reporter_(handle, outcome);
}

http::Request ScefClient::post(const std::string& path, std::string json) const {
  http::Request r;
  r.method = "POST";
  r.target = path;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(json);
  return r;
}

std::string ScefClient::path_of(const std::string& url) const {
  if (url.size() <= url_.origin.size() || url.compare(0, url_.origin.size(), url_.origin) != 0 ||
      url[url_.origin.size()] != '/') {
    return {};
  }
  return url.substr(url_.origin.size());
}

void ScefClient::configure(Ue& ue) {
  if (ue.asking) return;
  ue.asking = true;
  to_configure_.push_back(ue.id.key());
  configure_next();
}

void ScefClient::configure_next() {
  while (configuring_ < options_.max_configuring && !to_configure_.empty()) {
    const std::string key = std::move(to_configure_.front());
    to_configure_.pop_front();
    auto it = ues_.find(key);
    if (it == ues_.end()) continue;
    nidd::Configuration c;
    c.ue = it->second.id;
    c.notification_destination = destination_;
    ++configuring_;
    std::weak_ptr<bool> alive = alive_;
    client_.request(url_.origin,
                    post(url_.root + "/3gpp-nidd/v1/" + options_.scs_as_id + "/configurations",
                         nidd::to_json(c)),
                    [this, alive, key](Result<http::Response> r) {
                      const auto live = alive.lock();
                      if (!live || !*live) return;
                      --configuring_;
                      on_configured(key, std::move(r));
                      if (*live) configure_next();
                    });
  }
}

void ScefClient::on_configured(const std::string& key, Result<http::Response> r) {
  auto it = ues_.find(key);
  if (it == ues_.end()) return;
  Ue& ue = it->second;
  ue.asking = false;
  std::string why;
  if (!r) {
    why = r.error().reason;
  } else if (r->status != 201 && r->status != 200) {
    why = "the SCEF answered " + std::to_string(r->status) + " " + printable(r->body, 120);
  } else if (auto answer = nidd::parse_configuration(to_bytes(r->body)); !answer) {
    why = "the SCEF's answer: " + answer.error().reason;
  } else if (path_of(answer->self).empty()) {
    why = "the SCEF named its configuration outside its own URL";
  } else {
    ue.self = answer->self;
    if (answer->maximum_packet_size && *answer->maximum_packet_size >= 16) {
      ue.max_packet = std::min<std::size_t>(*answer->maximum_packet_size, nidd::kMaxPacket);
    }
    problem("nidd-configured-info", key + " " + ue.self);
    return;
  }
  ++config_failed_;
  problem("nidd-configuration-failed", key + ": " + why);
  retry_later(ue);
}

void ScefClient::retry_later(Ue& ue) {
  if (ue.retry != 0) return;
  // Jitter: UEs refused together are not all asked again at the same moment.
  std::uint8_t spread = 0;
  SystemRandom().fill(std::span<std::uint8_t>(&spread, 1));
  const Duration delay = options_.retry_delay + options_.retry_delay * spread / 255;
  const std::string key = ue.id.key();
  ue.retry = loop_.schedule(loop_.now() + delay, [this, key] {
    auto it = ues_.find(key);
    if (it == ues_.end()) return;
    it->second.retry = 0;
    configure(it->second);
  });
}

std::uint64_t ScefClient::send(const NiddPacket& packet) {
  const std::uint64_t handle = next_handle_++;
  auto it = ues_.find(packet.ue);
  const bool ready = it != ues_.end() && !it->second.self.empty();
  if (!ready || buffered_.size() >= options_.max_in_flight ||
      packet.data.size() > max_packet(packet.ue)) {
    problem("nidd-send-failed", packet.ue + ": " +
                                    (it == ues_.end() ? "not a UE we serve"
                                     : !ready         ? "no NIDD configuration yet"
                                     : buffered_.size() >= options_.max_in_flight
                                         ? "too many deliveries wait for the network"
                                         : "over the maximum packet size"));
    if (it != ues_.end() && !ready) configure(it->second);
    loop_.post([this, alive = alive_, handle] {
      if (*alive) report(handle, Outcome::kFailed);
    });
    return handle;
  }
  nidd::DownlinkTransfer t;
  t.ue = it->second.id;
  t.data = packet.data;
  t.maximum_latency_s = options_.maximum_latency_s;
  const std::string key = packet.ue;
  std::weak_ptr<bool> alive = alive_;
  client_.request(
      url_.origin, post(path_of(it->second.self) + "/downlink-data-deliveries", nidd::to_json(t)),
      [this, alive, handle, key](Result<http::Response> r) {
        const auto live = alive.lock();
        if (!live || !*live) return;
        if (!r) {
          problem("nidd-send-failed", key + ": " + r.error().reason);
          return report(handle, Outcome::kFailed);
        }
        auto answer = nidd::parse_downlink_transfer(to_bytes(r->body));
        if ((r->status == 200 || r->status == 201) && answer &&
            nidd::is_buffering(answer->delivery_status) && !answer->self.empty()) {
          // D.6: the SCEF keeps it for the sleeping UE and calls back with its fate.
          ++buffered_count_;
          report(handle, Outcome::kBuffered);
          if (*live) buffer(answer->self, handle);
          return;
        }
        if ((r->status == 200 || r->status == 201) && answer &&
            nidd::is_success(answer->delivery_status)) {
          ++sent_;
          return report(handle, Outcome::kDelivered);
        }
        problem("nidd-send-failed", key + ": the SCEF answered " + std::to_string(r->status) + " " +
                                        printable(r->body, 120));
        if (r->status == 404) {
          // The SCEF forgot the configuration: ask for a new one.
          if (auto ue = ues_.find(key); ue != ues_.end()) {
            ue->second.self.clear();
            configure(ue->second);
          }
        }
        report(handle, Outcome::kFailed);
      });
  return handle;
}

void ScefClient::buffer(const std::string& url, std::uint64_t handle) {
  if (auto early = early_statuses_.find(url); early != early_statuses_.end()) {
    const std::string status = std::move(early->second);
    early_statuses_.erase(early);
    std::erase(early_order_, url);
    return settle(handle, status);
  }
  const Instant expires = loop_.now() + Duration{std::int64_t{options_.maximum_latency_s} * 1000} +
                          options_.request_timeout;
  auto [it, fresh] = buffered_.try_emplace(url, InFlight{handle, expires});
  if (!fresh) {
    // The SCEF named two deliveries alike (it restarted?): the older one will hear nothing.
    const std::uint64_t older = it->second.handle;
    it->second = InFlight{handle, expires};
    loop_.post([this, alive = alive_, older] {
      if (*alive) report(older, Outcome::kFailed);
    });
  }
  expire_in_flight();
}

void ScefClient::settle(std::uint64_t handle, const std::string& status) {
  if (nidd::is_success(status)) {
    ++sent_;
    return report(handle, Outcome::kDelivered);
  }
  problem("nidd-send-failed", "the SCEF reports " + printable(status, 60));
  report(handle, Outcome::kFailed);
}

void ScefClient::expire_in_flight() {
  if (expiry_timer_ != 0) return;
  std::optional<Instant> next;
  for (const auto& [url, f] : buffered_) {
    if (!next || f.expires < *next) next = f.expires;
  }
  if (!next) return;
  // A sweep reads every waiting delivery: at most one a second, however they are spread.
  expiry_timer_ = loop_.schedule(std::max(*next, loop_.now() + Duration{1'000}), [this] {
    expiry_timer_ = 0;
    const Instant now = loop_.now();
    std::vector<std::uint64_t> gone;
    for (auto it = buffered_.begin(); it != buffered_.end();) {
      if (it->second.expires > now) {
        ++it;
        continue;
      }
      gone.push_back(it->second.handle);
      it = buffered_.erase(it);
    }
    const auto alive = alive_;
    for (auto h : gone) {
      // The SCEF never said: as good as lost.
      report(h, Outcome::kFailed);
      if (!*alive) return;
    }
    expire_in_flight();
  });
}

void ScefClient::on_callback(const http::Request& request, HttpServer::Responder responder) {
  if (request.path != options_.callback_path) {
    return responder.respond(http::Response::text(404, ""));
  }
  if (request.method != "POST") return responder.respond(http::Response::text(405, ""));
  std::string token;
  if (auto params = http::parse_query(request.query)) {
    for (auto& p : *params) {
      if (p.name == "token") token = std::move(p.value);
    }
  }
  if (!options_.callback_token.empty() && !same_secret(token, options_.callback_token)) {
    ++refused_;
    problem("nidd-callback-refused", "a callback without the SCEF's token");
    return responder.respond(http::Response::text(403, ""));
  }
  auto n = nidd::parse_notification(to_bytes(request.body));
  if (!n) {
    ++malformed_;
    problem("nidd-malformed", "a callback: " + n.error().reason);
    return responder.respond(http::Response::text(400, ""));
  }
  // T8: a notification is acknowledged with 204, before we act on it.
  responder.respond(http::Response::text(204, ""));
  on_notification(*n);
}

void ScefClient::on_notification(const nidd::Notification& n) {
  if (const auto* up = std::get_if<nidd::UplinkNotification>(&n)) {
    auto it = ues_.find(up->ue.key());
    // Only a UE we serve, on the configuration we hold for it.
    if (it == ues_.end() || it->second.self.empty() || it->second.self != up->configuration) {
      ++unknown_ue_;
      problem("nidd-unknown-ue",
              printable(up->ue.key(), 140) + " on " + printable(up->configuration, 200));
      return;
    }
    if (up->data.empty() || up->data.size() > it->second.max_packet) {
      ++malformed_;
      problem("nidd-malformed",
              it->first + ": an uplink of " + std::to_string(up->data.size()) + " octets");
      return;
    }
    ++received_;
    if (receiver_) receiver_(it->first, up->data);
    return;
  }
  if (const auto* status = std::get_if<nidd::DeliveryStatusNotification>(&n)) {
    if (nidd::is_buffering(status->delivery_status)) return;
    auto it = buffered_.find(status->transfer);
    if (it == buffered_.end()) {
      // Perhaps ahead of the SCEF's answer to the delivery: kept a while for it.
      if (path_of(status->transfer).empty() || early_statuses_.count(status->transfer) != 0) {
        return;
      }
      if (early_order_.size() >= kMaxEarlyStatuses) {
        early_statuses_.erase(early_order_.front());
        early_order_.pop_front();
      }
      early_statuses_[status->transfer] = status->delivery_status;
      early_order_.push_back(status->transfer);
      return;
    }
    const std::uint64_t handle = it->second.handle;
    buffered_.erase(it);
    return settle(handle, status->delivery_status);
  }
  const auto& c = std::get<nidd::ConfigurationStatusNotification>(n);
  auto it = ues_.find(c.ue.key());
  if (it == ues_.end() || it->second.self != c.configuration || c.status == "ACTIVE") return;
  // The SCEF ended it (TERMINATED...): ask for a new one.
  problem("nidd-configuration-ended", it->first + ": " + printable(c.status, 60));
  it->second.self.clear();
  retry_later(it->second);
}

}  // namespace tether::transport
