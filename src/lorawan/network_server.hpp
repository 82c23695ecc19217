#pragma once
// Our LoRaWAN network server for tests and demos (`tether lorawan-ns`), sans-I/O. Devices'
// frames come in from the simulated radio; the application server is reached through
// ChirpStack's MQTT integration (lorawan/chirpstack): uplinks become "up" events, and
// "command/down" messages queue downlinks. It keeps what a real network imposes on an
// application (Transport TS Appendix C.1):
// - class A: a downlink goes only in the receive window after an uplink, one per uplink,
//   FPending set while more are queued; class C: at once;
// - what the application queued within `downlink_data_delay` of an uplink makes its RX1;
// - the largest payload of the device's data rate (a longer downlink is dropped with a
//   DOWNLINK_PAYLOAD_SIZE log event); the region's duty cycle (a device that breaks it is
//   counted);
// - confirmed uplinks are acknowledged in the window; a confirmed downlink is sent again
//   in each window until the device acknowledges it, at most 8 times, then reported not
//   acknowledged ("ack" event); unconfirmed ones are reported when sent ("txack");
// - frame counters: a repeated confirmed uplink is acknowledged again but not passed on,
//   an older one is dropped;
// - frames lost on the air with a given probability, both ways.
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/random.hpp"
#include "common/time.hpp"
#include "lorawan/chirpstack.hpp"
#include "lorawan/frame.hpp"
#include "lorawan/region.hpp"

namespace tether::lorawan {

struct NetworkServerConfig {
  Region region = Region::kEu868;
  std::string application = "tether";  // the application id in the integration's topics
  Duration downlink_data_delay{200};
  unsigned confirmed_downlink_transmissions = 8;
  Duration class_c_retry{5000};  // class C: a confirmed downlink not acknowledged by then
  double loss = 0;               // each frame on the air is lost with this probability
  std::size_t max_queue = 64;    // downlinks waiting per device
};

struct Publication {
  std::string topic;
  std::string json;
};

struct NetworkServerCounters {
  std::uint64_t uplinks = 0;  // passed on to the application
  std::uint64_t empty_uplinks = 0;
  std::uint64_t lost_uplinks = 0;
  std::uint64_t lost_downlinks = 0;
  std::uint64_t unknown_device = 0;
  std::uint64_t bad_uplinks = 0;  // oversized, or a data rate the region lacks
  std::uint64_t repeated_uplinks = 0;
  std::uint64_t old_uplinks = 0;
  std::uint64_t duty_cycle_violations = 0;
  std::uint64_t downlinks = 0;
  std::uint64_t confirmed_repeats = 0;
  std::uint64_t not_acknowledged = 0;
  std::uint64_t oversized_downlinks = 0;
  std::uint64_t bad_commands = 0;
  std::uint64_t queue_full = 0;
};

class NetworkServer {
 public:
  NetworkServer(NetworkServerConfig config, Random& random);

  void add_device(DevEui dev, DeviceClass device_class, std::uint8_t dr);
  bool knows(DevEui dev) const { return devices_.count(dev) != 0; }

  // A frame a device put on the air.
  void on_uplink(const Uplink& u, Instant now);
  // A message the application published on a command topic.
  void on_command(std::string_view topic, ByteView json, Instant now);
  void on_timer(Instant now);

  std::optional<Downlink> poll_air();
  std::optional<Publication> poll_publication();
  std::optional<Instant> next_deadline() const;
  // Downlinks queued for a device (not yet sent).
  std::size_t queued(DevEui dev) const;
  const NetworkServerCounters& counters() const { return counters_; }
  const NetworkServerConfig& config() const { return config_; }

 private:
  struct Item {
    std::string id;
    std::uint8_t port = 1;
    Bytes data;
    bool confirmed = false;
    unsigned transmissions = 0;
    std::uint32_t f_cnt = 0;
  };
  struct Device {
    DeviceClass device_class = DeviceClass::kA;
    std::uint8_t dr = 0;
    std::optional<std::uint32_t> last_f_cnt;
    Instant free_at{};
    std::deque<Item> queue;
    std::optional<Item> unacknowledged;  // a confirmed downlink sent, not yet acknowledged
    std::uint32_t next_f_cnt_down = 0;
    // When the next downlink is chosen: the window after the latest uplink (class A), at
    // once or when an unacknowledged one goes again (class C).
    std::optional<Instant> due;
    bool ack_uplink = false;
  };

  void arm(DevEui dev, Device& d, Instant at);
  void decide(DevEui dev, Device& d, Instant now);
  bool lost();
  void publish(DevEui dev, const chirpstack::Event& e);
  void give_up_unacknowledged(DevEui dev, Device& d);

  NetworkServerConfig config_;
  Random& random_;
  std::unordered_map<DevEui, Device> devices_;
  std::set<std::pair<Instant, DevEui>> timers_;  // each device's `due`
  std::deque<Downlink> air_;
  std::deque<Publication> publications_;
  NetworkServerCounters counters_;
};

}  // namespace tether::lorawan
