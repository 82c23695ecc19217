#include "lorawan/network_server.hpp"

#include <algorithm>

namespace tether::lorawan {

namespace cs = chirpstack;

NetworkServer::NetworkServer(NetworkServerConfig config, Random& random)
    : config_(std::move(config)), random_(random) {}

void NetworkServer::add_device(DevEui dev, DeviceClass device_class, std::uint8_t dr) {
  auto& d = devices_[dev];
  d.device_class = device_class;
  d.dr = std::min(dr, max_data_rate(config_.region));
}

std::size_t NetworkServer::queued(DevEui dev) const {
  auto it = devices_.find(dev);
  return it == devices_.end() ? 0 : it->second.queue.size();
}

void NetworkServer::arm(DevEui dev, Device& d, Instant at) {
  if (d.due) timers_.erase({*d.due, dev});
  d.due = at;
  timers_.insert({at, dev});
}

bool NetworkServer::lost() {
  return config_.loss > 0 && random_.next_unit() < config_.loss;
}

void NetworkServer::publish(DevEui dev, const cs::Event& e) {
  Publication p;
  p.topic = cs::event_topic(config_.application, dev, cs::event_kind(e));
  p.json = std::visit([this](const auto& v) { return cs::to_json(v, config_.application); }, e);
  publications_.push_back(std::move(p));
}

void NetworkServer::give_up_unacknowledged(DevEui dev, Device& d) {
  ++counters_.not_acknowledged;
  cs::AckEvent nack;
  nack.dev_eui = dev;
  nack.queue_item_id = d.unacknowledged->id;
  nack.acknowledged = false;
  nack.f_cnt_down = d.unacknowledged->f_cnt;
  publish(dev, nack);
  d.unacknowledged.reset();
}

void NetworkServer::on_uplink(const Uplink& u, Instant now) {
  auto it = devices_.find(u.dev_eui);
  if (it == devices_.end()) {
    ++counters_.unknown_device;
    return;
  }
  if (lost()) {
    ++counters_.lost_uplinks;
    return;
  }
  Device& d = it->second;
  const auto rate = data_rate(config_.region, u.dr);
  if (!rate || u.payload.size() > rate->max_payload) {
    ++counters_.bad_uplinks;
    return;
  }
  // A device that breaks the duty cycle (a little slack for a real radio link's jitter).
  if (now + Duration{50} < d.free_at) ++counters_.duty_cycle_violations;
  const Duration airtime = time_on_air(*rate, u.payload.size());
  const Duration silence = silence_after(config_.region, airtime);
  d.free_at = silence > Duration{0} ? now + airtime + silence : now;
  d.dr = u.dr;
  // LoRaWAN 1.0.4 4.3.1.5: a confirmed uplink repeated with its frame counter is
  // acknowledged again (our ACK was lost), not passed on twice.
  const bool repeated = d.last_f_cnt && u.f_cnt == *d.last_f_cnt;
  if (d.last_f_cnt && u.f_cnt < *d.last_f_cnt) {
    ++counters_.old_uplinks;
    return;
  }
  if (repeated && !u.confirmed) {
    ++counters_.old_uplinks;
    return;
  }
  d.last_f_cnt = u.f_cnt;
  if (d.unacknowledged && u.ack) {
    cs::AckEvent ack;
    ack.dev_eui = u.dev_eui;
    ack.queue_item_id = d.unacknowledged->id;
    ack.acknowledged = true;
    ack.f_cnt_down = d.unacknowledged->f_cnt;
    publish(u.dev_eui, ack);
    d.unacknowledged.reset();
  }
  if (repeated) {
    ++counters_.repeated_uplinks;
  } else if (u.f_port) {
    ++counters_.uplinks;
    cs::UplinkEvent up;
    up.dev_eui = u.dev_eui;
    up.f_cnt = u.f_cnt;
    up.f_port = *u.f_port;
    up.confirmed = u.confirmed;
    up.dr = u.dr;
    up.data = u.payload;
    up.deduplication_id = cs::make_uuid(random_);
    publish(u.dev_eui, up);
  } else {
    ++counters_.empty_uplinks;
  }
  arm(u.dev_eui, d, now + config_.downlink_data_delay);
  d.ack_uplink = u.confirmed;
}

void NetworkServer::on_command(std::string_view topic, ByteView json, Instant now) {
  auto t = cs::parse_topic(topic);
  if (!t || !t->command || t->application != config_.application) {
    ++counters_.bad_commands;
    return;
  }
  auto c = cs::parse_command(*t, json);
  auto it = devices_.find(t->dev_eui);
  if (!c || it == devices_.end()) {
    ++counters_.bad_commands;
    return;
  }
  Device& d = it->second;
  if (c->id.empty()) c->id = cs::make_uuid(random_);
  if (d.queue.size() >= config_.max_queue) {
    ++counters_.queue_full;
    cs::LogEvent log;
    log.dev_eui = t->dev_eui;
    log.level = "ERROR";
    log.code = "EXPIRED";
    log.description = "the device queue is full";
    log.queue_item_id = c->id;
    publish(t->dev_eui, log);
    return;
  }
  Item item;
  item.id = std::move(c->id);
  item.port = c->f_port;
  item.data = std::move(c->data);
  item.confirmed = c->confirmed;
  d.queue.push_back(std::move(item));
  // Class C listens all the time: no need to wait for an uplink.
  if (d.device_class == DeviceClass::kC && !d.unacknowledged && !d.due) arm(t->dev_eui, d, now);
}

void NetworkServer::decide(DevEui dev, Device& d, Instant now) {
  if (d.due) timers_.erase({*d.due, dev});
  d.due.reset();
  const bool ack = d.ack_uplink;
  d.ack_uplink = false;
  const auto rate = data_rate(config_.region, d.dr);
  Item* item = nullptr;
  if (d.unacknowledged) {
    if (d.unacknowledged->transmissions >= config_.confirmed_downlink_transmissions) {
      give_up_unacknowledged(dev, d);
    } else {
      item = &*d.unacknowledged;
      ++counters_.confirmed_repeats;
    }
  }
  std::optional<Item> taken;
  while (item == nullptr && !d.queue.empty()) {
    taken = std::move(d.queue.front());
    d.queue.pop_front();
    if (taken->data.size() <= rate->max_payload) {
      taken->f_cnt = d.next_f_cnt_down++;
      item = &*taken;
      break;
    }
    ++counters_.oversized_downlinks;
    cs::LogEvent log;
    log.dev_eui = dev;
    log.level = "ERROR";
    log.code = "DOWNLINK_PAYLOAD_SIZE";
    log.description = "the payload exceeds the data rate's maximum";
    log.queue_item_id = taken->id;
    publish(dev, log);
    taken.reset();
  }
  if (item == nullptr && !ack) return;
  Downlink down;
  down.dev_eui = dev;
  down.ack = ack;
  down.pending = !d.queue.empty();
  if (item != nullptr) {
    ++item->transmissions;
    down.f_cnt = item->f_cnt;
    down.f_port = item->port;
    down.confirmed = item->confirmed;
    down.payload = item->data;
    cs::TxAckEvent tx;
    tx.dev_eui = dev;
    tx.queue_item_id = item->id;
    tx.f_cnt_down = item->f_cnt;
    publish(dev, tx);
    if (taken && taken->confirmed) d.unacknowledged = std::move(*taken);
    if (d.device_class == DeviceClass::kC && d.unacknowledged) {
      arm(dev, d, now + config_.class_c_retry);
    }
  } else {
    down.f_cnt = d.next_f_cnt_down++;
  }
  ++counters_.downlinks;
  if (lost()) {
    ++counters_.lost_downlinks;
    return;
  }
  air_.push_back(std::move(down));
}

void NetworkServer::on_timer(Instant now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const DevEui dev = timers_.begin()->second;
    Device& d = devices_.at(dev);
    decide(dev, d, now);
    // Class C: the rest of the queue follows once nothing waits for an acknowledgement.
    if (d.device_class == DeviceClass::kC && !d.unacknowledged && !d.queue.empty() && !d.due) {
      arm(dev, d, now);
    }
  }
}

std::optional<Downlink> NetworkServer::poll_air() {
  if (air_.empty()) return std::nullopt;
  auto d = std::move(air_.front());
  air_.pop_front();
  return d;
}

std::optional<Publication> NetworkServer::poll_publication() {
  if (publications_.empty()) return std::nullopt;
  auto p = std::move(publications_.front());
  publications_.pop_front();
  return p;
}

std::optional<Instant> NetworkServer::next_deadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

}  // namespace tether::lorawan
