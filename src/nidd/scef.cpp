#include "nidd/scef.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/text.hpp"

namespace tether::nidd {

namespace {
constexpr std::string_view kRoot = "/3gpp-nidd/v1/";

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

void Scef::add_ue(const UeId& ue, Instant now) {
  Ue& u = ues_[ue.key()];
  u.id = ue;
  u.periodic_tau = config_.periodic_tau;
  u.active_time = config_.active_time;
  u.reachable_until = now + u.active_time;
  u.next_tau = now + u.periodic_tau;
}

void Scef::set_psm(const UeId& ue, Duration periodic_tau, Duration active_time) {
  auto it = ues_.find(ue.key());
  if (it == ues_.end()) return;
  it->second.periodic_tau = std::max(periodic_tau, Duration{1000});
  it->second.active_time = active_time;
}

bool Scef::reachable(const UeId& ue, Instant now) const {
  auto it = ues_.find(ue.key());
  return it != ues_.end() && now < it->second.reachable_until;
}

std::size_t Scef::buffered(const UeId& ue) const {
  auto it = ues_.find(ue.key());
  return it == ues_.end() ? 0 : it->second.buffer.size();
}

HttpAnswer Scef::refuse(int status, const std::string& detail) {
  ++counters_.refused;
  nlohmann::json problem{{"status", status}, {"detail", detail}};
  return HttpAnswer{status, problem.dump(), {}};
}

std::string Scef::link(const Config& c, const std::string& config_id) const {
  return config_.base_url + std::string(kRoot) + c.scs_as + "/configurations/" + config_id;
}

HttpAnswer Scef::handle(const std::string& method, const std::string& path, ByteView body,
                        Instant now) {
  if (path.rfind(kRoot, 0) != 0) return refuse(404, "not the NIDD API");
  const auto parts = segments(std::string_view(path).substr(kRoot.size()));
  if (parts.size() < 2 || !is_t8_id(parts[0]) || parts[1] != "configurations") {
    return refuse(404, "no such resource");
  }
  const std::string& scs_as = parts[0];
  if (parts.size() == 2) {
    if (method != "POST") return refuse(405, "POST a NiddConfiguration");
    return create_configuration(scs_as, body);
  }
  if (!is_t8_id(parts[2])) return refuse(404, "no such configuration");
  auto it = configs_.find(parts[2]);
  if (it == configs_.end() || it->second.scs_as != scs_as) {
    return refuse(404, "no such configuration");
  }
  if (parts.size() == 3) {
    if (method == "DELETE") {
      if (auto ue = ues_.find(it->second.ue_key); ue != ues_.end())
        ue->second.configuration.clear();
      configs_.erase(it);
      return HttpAnswer{204, {}, {}};
    }
    return refuse(405, "DELETE the configuration");
  }
  if (parts.size() == 4 && parts[3] == "downlink-data-deliveries") {
    if (method != "POST") return refuse(405, "POST a NiddDownlinkDataTransfer");
    return deliver(parts[2], body, now);
  }
  return refuse(404, "no such resource");
}

HttpAnswer Scef::create_configuration(const std::string& scs_as, ByteView body) {
  auto c = parse_configuration(body);
  if (!c) return refuse(400, c.error().reason);
  const std::string& dest = c->notification_destination;
  if (dest.rfind("http://", 0) != 0 && dest.rfind("https://", 0) != 0) {
    return refuse(400, "notificationDestination is an http(s) URL");
  }
  auto ue = ues_.find(c->ue.key());
  if (ue == ues_.end()) {
    ++counters_.unknown_ue;
    return refuse(404, "the network knows no such UE");
  }
  const std::string id = std::to_string(next_id_++);
  configs_[id] = Config{scs_as, c->ue.key(), dest};
  // One configuration per UE: a new one replaces the old.
  if (!ue->second.configuration.empty()) configs_.erase(ue->second.configuration);
  ue->second.configuration = id;
  Configuration answer = *c;
  answer.self = link(configs_[id], id);
  answer.status = "ACTIVE";
  answer.maximum_packet_size = static_cast<std::uint32_t>(config_.max_packet);
  return HttpAnswer{201, to_json(answer), answer.self};
}

HttpAnswer Scef::deliver(const std::string& config_id, ByteView body, Instant now) {
  auto t = parse_downlink_transfer(body);
  if (!t) return refuse(400, t.error().reason);
  if (t->data.empty()) return refuse(400, "no data");
  const Config& c = configs_.at(config_id);
  if (t->ue.key() != c.ue_key) return refuse(400, "another UE than the configuration's");
  if (t->data.size() > config_.max_packet) return refuse(413, "longer than the maximum packet");
  Ue& ue = ues_.at(c.ue_key);
  const std::string id = std::to_string(next_id_++);
  DownlinkTransfer answer;
  answer.ue = t->ue;
  answer.self = link(c, config_id) + "/downlink-data-deliveries/" + id;
  if (now < ue.reachable_until) {
    send_downlink(ue, std::move(t->data), now);
    answer.delivery_status = "SUCCESS";
    return HttpAnswer{200, to_json(answer), {}};
  }
  if (ue.buffer.size() >= config_.max_buffered) {
    return refuse(503, "the buffer for this UE is full");
  }
  ++counters_.buffered;
  const Duration latency = t->maximum_latency_s
                               ? Duration{std::int64_t{*t->maximum_latency_s} * 1000}
                               : config_.default_latency;
  ue.buffer.push_back(Waiting{id, answer.self, std::move(t->data), now + latency});
  answer.delivery_status = "BUFFERING_TEMPORARILY_NOT_REACHABLE";
  return HttpAnswer{201, to_json(answer), answer.self};
}

void Scef::send_downlink(Ue& ue, Bytes data, Instant now) {
  ++counters_.delivered;
  downlinks_.emplace_back(ue.id, std::move(data));
  // D.4: the UE said one downlink would do; the network releases it after that, and its
  // active time runs from then.
  if (ue.release_after_downlink) {
    ue.release_after_downlink = false;
    ue.reachable_until = now + ue.active_time;
  }
}

void Scef::status_callback(const Ue& ue, const Waiting& w, const std::string& status) {
  // To the UE's configuration now, about the delivery under the URL its answer gave.
  auto it = configs_.find(ue.configuration);
  if (it == configs_.end()) return;
  DeliveryStatusNotification n;
  n.transfer = w.link;
  n.delivery_status = status;
  callbacks_.push_back(Callback{it->second.destination, to_json(Notification(n))});
}

void Scef::flush_buffer(Ue& ue, Instant now) {
  while (now < ue.reachable_until && !ue.buffer.empty()) {
    Waiting w = std::move(ue.buffer.front());
    ue.buffer.pop_front();
    send_downlink(ue, std::move(w.data), now);
    status_callback(ue, w, "SUCCESS");
  }
}

void Scef::on_uplink(const UeId& id, Bytes data, unsigned rai, Instant now) {
  auto it = ues_.find(id.key());
  if (it == ues_.end()) {
    ++counters_.unknown_ue;
    return;
  }
  Ue& ue = it->second;
  ++counters_.uplinks;
  // Connected until released (at once for "no further data"), then T3324 in idle mode.
  ue.reachable_until =
      now + ue.active_time + (rai == 1 ? Duration{0} : config_.connected_inactivity);
  ue.release_after_downlink = rai == 2;
  if (auto c = configs_.find(ue.configuration); c != configs_.end()) {
    UplinkNotification n;
    n.configuration = link(c->second, ue.configuration);
    n.ue = ue.id;
    n.data = std::move(data);
    callbacks_.push_back(Callback{c->second.destination, to_json(Notification(n))});
  }
  // What waited goes now: the UE is reachable at least for its active time.
  flush_buffer(ue, now);
}

void Scef::on_timer(Instant now) {
  for (auto& [key, ue] : ues_) {
    if (now >= ue.next_tau) {
      // A periodic TAU: the UE wakes for its active time.
      ue.next_tau = now + ue.periodic_tau;
      ue.reachable_until = now + ue.active_time;
      ue.release_after_downlink = false;
      flush_buffer(ue, now);
    }
    for (auto w = ue.buffer.begin(); w != ue.buffer.end();) {
      if (w->expires > now) {
        ++w;
        continue;
      }
      ++counters_.expired;
      status_callback(ue, *w, "FAILURE_TIMEOUT");
      w = ue.buffer.erase(w);
    }
  }
}

std::optional<Instant> Scef::next_deadline() const {
  std::optional<Instant> next;
  for (const auto& [key, ue] : ues_) {
    if (!next || ue.next_tau < *next) next = ue.next_tau;
    for (const auto& w : ue.buffer) {
      if (w.expires < *next) next = w.expires;
    }
  }
  return next;
}

std::optional<std::pair<UeId, Bytes>> Scef::poll_downlink() {
  if (downlinks_.empty()) return std::nullopt;
  auto d = std::move(downlinks_.front());
  downlinks_.pop_front();
  return d;
}

std::optional<Callback> Scef::poll_callback() {
  if (callbacks_.empty()) return std::nullopt;
  auto c = std::move(callbacks_.front());
  callbacks_.pop_front();
  return c;
}

}  // namespace tether::nidd
