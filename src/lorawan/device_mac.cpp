#include "lorawan/device_mac.hpp"

#include <algorithm>

namespace tether::lorawan {

DeviceMac::DeviceMac(DeviceMacConfig config) : config_(config) {
  auto rate = data_rate(config_.region, config_.dr);
  rate_ = rate ? *rate : *data_rate(config_.region, 0);
}

Result<std::uint64_t> DeviceMac::send(std::uint8_t port, Bytes payload, bool confirmed,
                                      Instant now) {
  if (!is_application_port(port)) return fail("FPort outside 1-223");
  if (payload.size() > rate_.max_payload) {
    return fail(std::to_string(payload.size()) + " octets exceed the " +
                std::to_string(rate_.max_payload) + " that DR" + std::to_string(config_.dr) +
                " carries");
  }
  if (queue_.size() >= config_.max_queued) return fail("the uplink queue is full");
  Queued q;
  const std::uint64_t handle = next_handle_++;
  q.handle = handle;
  q.port = port;
  q.payload = std::move(payload);
  q.confirmed = confirmed;
  queue_.push_back(std::move(q));
  try_transmit(now);
  return handle;
}

void DeviceMac::try_transmit(Instant now) {
  if (in_windows_ || (queue_.empty() && !empty_owed_)) return;
  if (now < free_at_ || (!queue_.empty() && queue_.front().transmissions > 0 && now < retry_at_)) {
    ++counters_.duty_cycle_waits;
    return;
  }
  Uplink u;
  u.dev_eui = config_.dev_eui;
  u.dr = config_.dr;
  u.ack = ack_owed_;
  ack_owed_ = false;
  empty_owed_ = false;
  in_flight_empty_ = queue_.empty();
  if (in_flight_empty_) {
    u.f_cnt = next_f_cnt_++;
    ++counters_.empty_uplinks;
  } else {
    auto& q = queue_.front();
    // LoRaWAN 1.0.4 4.3.1.5: a repeated confirmed uplink keeps its frame counter.
    if (q.transmissions == 0) q.f_cnt = next_f_cnt_++;
    if (q.transmissions > 0) ++counters_.repeats;
    ++q.transmissions;
    u.f_cnt = q.f_cnt;
    u.f_port = q.port;
    u.confirmed = q.confirmed;
    u.payload = q.payload;
  }
  const Duration airtime = time_on_air(rate_, u.payload.size());
  free_at_ = now + airtime + silence_after(config_.region, airtime);
  windows_end_ = now + airtime + config_.rx1_delay + Duration{1000} + config_.rx_window;
  in_windows_ = true;
  acked_ = false;
  ++counters_.uplinks;
  air_.push_back(std::move(u));
}

void DeviceMac::receive(const Downlink& d, Instant now) {
  if (d.dev_eui != config_.dev_eui) return;
  const bool listening = config_.device_class == DeviceClass::kC || in_windows_;
  if (!listening) {
    ++counters_.missed_downlinks;
    return;
  }
  ++counters_.downlinks;
  if (d.ack && in_windows_ && !in_flight_empty_ && !queue_.empty() && queue_.front().confirmed) {
    acked_ = true;
  }
  if (d.confirmed) ack_owed_ = true;
  const bool repeat = last_down_f_cnt_ && d.f_cnt <= *last_down_f_cnt_;
  if (repeat) {
    ++counters_.duplicate_downlinks;
  } else {
    last_down_f_cnt_ = d.f_cnt;
    if (d.f_port && !d.payload.empty()) {
      MacEvent e;
      e.kind = MacEvent::Kind::kReceived;
      e.port = *d.f_port;
      e.payload = d.payload;
      events_.push_back(std::move(e));
    }
  }
  // The network has more for us, or waits for our ACK: give it a window soon.
  if (d.pending || d.confirmed) empty_owed_ = true;
  // Class A: one downlink per uplink; RX2 is not opened after RX1 brought something.
  if (in_windows_) close_windows(now);
}

void DeviceMac::close_windows(Instant now) {
  in_windows_ = false;
  if (in_flight_empty_ || queue_.empty()) {
    try_transmit(now);
    return;
  }
  auto& q = queue_.front();
  const bool done = !q.confirmed || acked_;
  if (!done && q.transmissions < config_.confirmed_transmissions) {
    retry_at_ = now + config_.retry_delay;
  } else {
    MacEvent e;
    e.kind = done ? MacEvent::Kind::kSent : MacEvent::Kind::kFailed;
    e.handle = q.handle;
    e.port = q.port;
    events_.push_back(std::move(e));
    queue_.pop_front();
  }
  try_transmit(now);
}

void DeviceMac::on_timer(Instant now) {
  if (in_windows_ && now >= windows_end_) close_windows(now);
  try_transmit(now);
}

std::optional<Uplink> DeviceMac::poll_transmit() {
  if (air_.empty()) return std::nullopt;
  auto u = std::move(air_.front());
  air_.pop_front();
  return u;
}

std::optional<MacEvent> DeviceMac::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<Instant> DeviceMac::next_deadline() const {
  if (in_windows_) return windows_end_;
  if (queue_.empty() && !empty_owed_) return std::nullopt;
  Instant at = free_at_;
  if (!queue_.empty() && queue_.front().transmissions > 0) at = std::max(at, retry_at_);
  return at;
}

}  // namespace tether::lorawan
