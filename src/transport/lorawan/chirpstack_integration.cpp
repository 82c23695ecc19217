#include "transport/lorawan/chirpstack_integration.hpp"

#include "common/text.hpp"
#include "lorawan/chirpstack.hpp"

namespace tether::transport {

namespace cs = lorawan::chirpstack;

ChirpstackIntegration::ChirpstackIntegration(EventLoop& loop, MqttConnection& broker,
                                             ChirpstackOptions options, Random& random)
    : loop_(loop), broker_(broker), options_(std::move(options)), random_(random) {
  broker_.set_message_handler(
      [this](std::string_view topic, ByteView payload) { on_message(topic, payload); });
}

ChirpstackIntegration::~ChirpstackIntegration() {
  *alive_ = false;
  if (expiry_timer_ != 0) loop_.cancel(expiry_timer_);
  broker_.set_message_handler(nullptr);
}

void ChirpstackIntegration::start() {
  broker_.subscribe(cs::event_filter(options_.application), 1, true);
}

std::string ChirpstackIntegration::describe() const {
  return "chirpstack application " + options_.application + " (" +
         lorawan::region_name(options_.region) + ")";
}

std::size_t ChirpstackIntegration::max_payload(lorawan::DevEui dev) const {
  auto it = devices_.find(dev);
  const std::uint8_t dr = it == devices_.end() ? 0 : it->second.dr;
  auto rate = lorawan::data_rate(options_.region, dr);
  if (!rate) rate = lorawan::data_rate(options_.region, 0);
  return rate->max_payload;
}

std::vector<std::pair<std::string, std::uint64_t>> ChirpstackIntegration::counters() const {
  return {{"lorawan_uplinks", counters_.uplinks},
          {"lorawan_uplink_duplicate", counters_.duplicate_uplinks},
          {"lorawan_event_malformed", counters_.bad_events},
          {"lorawan_event_unknown_item", counters_.unknown_items},
          {"lorawan_downlinks", counters_.downlinks},
          {"lorawan_downlink_delivered", counters_.delivered},
          {"lorawan_downlink_failed", counters_.failed},
          {"lorawan_publish_failed", counters_.publish_failed},
          {"lorawan_network_logs", counters_.logs},
          {"lorawan_downlink_expired", counters_.expired},
          {"lorawan_device_limit", counters_.device_limit},
          {"lorawan_application_conflict", counters_.application_conflicts}};
}

void ChirpstackIntegration::problem(const std::string& event, const std::string& detail) {
  if (problem_) problem_(event, detail);
}

void ChirpstackIntegration::report_later(std::uint64_t handle, bool delivered, Duration after) {
  auto report = [this, alive = alive_, handle, delivered] {
    if (*alive && reporter_) reporter_(handle, delivered);
  };
  if (after.count() == 0) {
    loop_.post(std::move(report));
  } else {
    (void)loop_.schedule(loop_.now() + after, std::move(report));
  }
}

std::uint64_t ChirpstackIntegration::send(const LorawanFrame& frame) {
  const std::uint64_t handle = next_handle_++;
  // The device's application, from its uplinks; a single configured one serves too.
  std::string application = options_.application;
  if (auto it = devices_.find(frame.dev_eui); it != devices_.end()) {
    application = applications_[it->second.application];
  }
  if (application == "+") {
    ++counters_.failed;
    problem("lorawan-downlink-failed", "no uplink from " + lorawan::dev_eui_text(frame.dev_eui) +
                                           " yet names its application");
    report_later(handle, false);
    return handle;
  }
  cs::DownlinkCommand c;
  c.id = cs::make_uuid(random_);
  c.dev_eui = frame.dev_eui;
  c.confirmed = frame.confirmed;
  c.f_port = frame.f_port;
  c.data = frame.payload;
  const std::string json = cs::to_json(c);
  if (!broker_.publish(cs::command_topic(application, frame.dev_eui), to_bytes(json), 1)) {
    ++counters_.publish_failed;
    report_later(handle, false, kRetryAfter);
    return handle;
  }
  ++counters_.downlinks;
  if (items_.size() >= options_.max_outstanding && !item_order_.empty()) {
    // The oldest goes, reported from the loop (never from within send()).
    if (auto oldest = items_.find(item_order_.front().first); oldest != items_.end()) {
      ++counters_.failed;
      report_later(oldest->second.handle, false);
      items_.erase(oldest);
    }
    item_order_.pop_front();
  }
  items_[c.id] = Item{handle, frame.confirmed};
  item_order_.emplace_back(c.id, loop_.now());
  if (expiry_timer_ == 0) {
    expiry_timer_ = loop_.schedule(loop_.now() + options_.item_timeout, [this] {
      expiry_timer_ = 0;
      expire_items();
    });
  }
  return handle;
}

void ChirpstackIntegration::settle(const std::string& id, bool delivered) {
  auto it = items_.find(id);
  if (it == items_.end()) {
    ++counters_.unknown_items;
    return;
  }
  const std::uint64_t handle = it->second.handle;
  items_.erase(it);
  // item_order_ keeps settled ids until they reach the front.
  while (!item_order_.empty() && items_.count(item_order_.front().first) == 0) {
    item_order_.pop_front();
  }
  ++(delivered ? counters_.delivered : counters_.failed);
  if (reporter_) reporter_(handle, delivered);
}

void ChirpstackIntegration::expire_items() {
  const Instant now = loop_.now();
  while (!item_order_.empty() && item_order_.front().second + options_.item_timeout <= now) {
    const std::string id = item_order_.front().first;
    item_order_.pop_front();
    if (items_.count(id) != 0) {
      ++counters_.expired;
      settle(id, false);
    }
  }
  if (!item_order_.empty()) {
    expiry_timer_ = loop_.schedule(item_order_.front().second + options_.item_timeout, [this] {
      expiry_timer_ = 0;
      expire_items();
    });
  }
}

void ChirpstackIntegration::on_message(std::string_view topic, ByteView payload) {
  auto t = cs::parse_topic(topic);
  if (!t) {
    ++counters_.bad_events;
    problem("lorawan-event-malformed", printable(topic, 120) + ": " + t.error().reason);
    return;
  }
  if (t->command) return;  // a command of ours, seen again
  auto parsed = cs::parse_event(*t, payload);
  if (!parsed) {
    ++counters_.bad_events;
    problem("lorawan-event-malformed", printable(topic, 120) + ": " + parsed.error().reason);
    return;
  }
  if (!*parsed) return;
  const cs::Event& e = **parsed;
  if (const auto* up = std::get_if<cs::UplinkEvent>(&e)) {
    std::uint32_t app = 0;
    while (app < applications_.size() && applications_[app] != t->application) ++app;
    auto known = devices_.find(up->dev_eui);
    if (known == devices_.end() && devices_.size() >= options_.max_devices) {
      ++counters_.device_limit;
      problem("lorawan-device-limit", lorawan::dev_eui_text(up->dev_eui));
      return;
    }
    if (app == applications_.size() && applications_.size() >= kMaxApplications) {
      ++counters_.device_limit;
      problem("lorawan-application-limit", printable(t->application, 64));
      return;
    }
    // A device belongs to one application: an uplink under another is not its.
    if (known != devices_.end() && known->second.application != app) {
      ++counters_.application_conflicts;
      problem("lorawan-application-conflict",
              lorawan::dev_eui_text(up->dev_eui) + " under " + printable(t->application, 64));
      return;
    }
    if (app == applications_.size()) applications_.push_back(t->application);
    Device& d = devices_[up->dev_eui];
    d.application = app;
    // The network passed the same reception on twice (its deduplication id again). A frame
    // the device sent again has a new one and goes on: CoAP answers a copy from its cache.
    const auto dedup = std::hash<std::string>{}(up->deduplication_id);
    if (d.last_f_cnt && *d.last_f_cnt == up->f_cnt && d.last_dedup == dedup) {
      ++counters_.duplicate_uplinks;
      problem("lorawan-uplink-duplicate",
              lorawan::dev_eui_text(up->dev_eui) + " fCnt " + std::to_string(up->f_cnt));
      return;
    }
    d.last_f_cnt = up->f_cnt;
    d.last_dedup = dedup;
    d.dr = up->dr;
    ++counters_.uplinks;
    if (receiver_) receiver_(LorawanFrame{up->dev_eui, up->f_port, up->data, up->confirmed});
    return;
  }
  if (const auto* tx = std::get_if<cs::TxAckEvent>(&e)) {
    // Unconfirmed: on its way (C.3.2.2 step 2). Confirmed: the "ack" event decides.
    auto it = items_.find(tx->queue_item_id);
    if (it == items_.end()) {
      ++counters_.unknown_items;
    } else if (!it->second.confirmed) {
      settle(tx->queue_item_id, true);
    }
    return;
  }
  if (const auto* ack = std::get_if<cs::AckEvent>(&e)) {
    settle(ack->queue_item_id, ack->acknowledged);  // C.3.1.2 step 2
    return;
  }
  const auto& log = std::get<cs::LogEvent>(e);
  ++counters_.logs;
  problem(log.level == "INFO" ? "lorawan-network-info" : "lorawan-network-log",
          lorawan::dev_eui_text(log.dev_eui) + " " + log.level + " " + log.code + ": " +
              log.description);
  if (log.level == "ERROR" && !log.queue_item_id.empty()) settle(log.queue_item_id, false);
}

}  // namespace tether::transport
