#pragma once
// The LwM2M server as a LoRaWAN application server (Transport TS 6.8.4): it reaches its
// devices through a network server's MQTT integration, ChirpStack v4's topics and JSON
// (lorawan/chirpstack), over our MqttConnection. Uplink events become frames; a frame to a
// device becomes a downlink command with a queue item id of ours, and the network's txack,
// ack and log events about that id become its report (Appendix C.3.1.2, C.3.2.2).
//
// Bad input is dropped and counted: events that do not parse, a DevEUI that disagrees with
// its topic, the same uplink twice (its frame counter and deduplication id again), reports
// about items we never queued.
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/random.hpp"
#include "lorawan/region.hpp"
#include "transport/event_loop.hpp"
#include "transport/lorawan/lorawan_carrier.hpp"
#include "transport/mqtt/mqtt_connection.hpp"

namespace tether::transport {

struct ChirpstackOptions {
  // The application whose devices we serve ("+": every application the broker lets us see).
  std::string application = "+";
  lorawan::Region region = lorawan::Region::kEu868;  // for the data rates' frame sizes
  // Queue items awaiting the network's word; beyond this the oldest is reported failed.
  std::size_t max_outstanding = 100'000;
  // An item the network has said nothing about for this long is reported failed (a device
  // that never sends again, a command the network dropped).
  Duration item_timeout{1'800'000};
  // Devices we keep state for; uplinks from more are dropped and counted.
  std::size_t max_devices = 1'000'000;
};

struct ChirpstackCounters {
  std::uint64_t uplinks = 0;
  std::uint64_t duplicate_uplinks = 0;
  std::uint64_t bad_events = 0;
  std::uint64_t unknown_items = 0;
  std::uint64_t downlinks = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::uint64_t publish_failed = 0;
  std::uint64_t logs = 0;
  std::uint64_t expired = 0;
  std::uint64_t device_limit = 0;
  std::uint64_t application_conflicts = 0;
};

class ChirpstackIntegration final : public LorawanCarrier {
 public:
  ChirpstackIntegration(EventLoop& loop, MqttConnection& broker, ChirpstackOptions options,
                        Random& random);
  ~ChirpstackIntegration() override;
  // Subscribes to the application's events (the connection re-subscribes after a loss).
  void start();

  std::uint64_t send(const LorawanFrame& frame) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  void set_problem_handler(Problem p) override { problem_ = std::move(p); }
  std::size_t max_payload(lorawan::DevEui dev) const override;
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;
  std::string describe() const override;
  const ChirpstackCounters& chirpstack_counters() const { return counters_; }

 private:
  struct Device {
    std::uint32_t application = 0;  // index into applications_
    std::uint8_t dr = 0;
    std::optional<std::uint32_t> last_f_cnt;
    std::size_t last_dedup = 0;  // a hash of the last uplink's deduplication id
  };
  struct Item {
    std::uint64_t handle = 0;
    bool confirmed = false;
  };
  void on_message(std::string_view topic, ByteView payload);
  void settle(const std::string& id, bool delivered);
  // Reports from the loop, never from within send(); `after` holds a failure back so that
  // a broker away for a moment does not use up every retry at once.
  void report_later(std::uint64_t handle, bool delivered, Duration after = Duration{0});
  // Items the network never said anything about: failed once they are this old.
  void expire_items();
  void problem(const std::string& event, const std::string& detail);

  EventLoop& loop_;
  MqttConnection& broker_;
  ChirpstackOptions options_;
  Random& random_;
  std::vector<std::string> applications_;
  std::unordered_map<lorawan::DevEui, Device> devices_;
  static constexpr std::size_t kMaxApplications = 64;
  static constexpr Duration kRetryAfter{5'000};
  std::unordered_map<std::string, Item> items_;  // by queue item id
  // Oldest first, with when each was queued: bounds items_ and expires stuck ones.
  std::deque<std::pair<std::string, Instant>> item_order_;
  EventLoop::TimerId expiry_timer_ = 0;
  std::uint64_t next_handle_ = 1;
  Receiver receiver_;
  Reporter reporter_;
  Problem problem_;
  ChirpstackCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::transport
