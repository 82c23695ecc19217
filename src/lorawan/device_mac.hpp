#pragma once
// A LoRaWAN end-device's MAC as far as the application sees it (LoRaWAN 1.0.4 class A and
// C), sans-I/O: frames to send go in, radio frames and the time go in, frames for the air,
// received payloads and per-frame outcomes come out. It numbers uplinks (FCnt), waits the
// region's duty cycle between them, opens the two receive windows after each uplink (class
// A hears nothing else), repeats a confirmed uplink until the network acknowledges it (at
// most `confirmed_transmissions` times, Transport TS C.1), acknowledges confirmed
// downlinks and answers FPending with an empty uplink. `tether lorawan-ns` runs one per
// simulated modem; the client's direct link to the simulator runs one in process.
#include <cstdint>
#include <deque>
#include <optional>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "lorawan/frame.hpp"
#include "lorawan/region.hpp"

namespace tether::lorawan {

struct DeviceMacConfig {
  DevEui dev_eui = 0;
  Region region = Region::kEu868;
  std::uint8_t dr = 5;
  DeviceClass device_class = DeviceClass::kA;
  unsigned confirmed_transmissions = 8;
  // RX1 opens this long after the uplink ends, RX2 a second later; each is listened to for
  // `rx_window`.
  Duration rx1_delay{1000};
  Duration rx_window{1000};
  // LoRaWAN ACK_TIMEOUT (1-3 s): the wait after RX2 before a confirmed uplink is repeated.
  Duration retry_delay{2000};
  std::size_t max_queued = 16;
};

struct MacEvent {
  enum class Kind : std::uint8_t {
    kReceived,  // a downlink's payload (port, payload)
    kSent,      // frame `handle` is done: sent (unconfirmed) or acknowledged (confirmed)
    kFailed,    // frame `handle` was never acknowledged
  };
  Kind kind = Kind::kReceived;
  std::uint64_t handle = 0;
  std::uint8_t port = 0;
  Bytes payload;
};

struct DeviceMacCounters {
  std::uint64_t uplinks = 0;           // frames put on the air, repeats included
  std::uint64_t repeats = 0;           // confirmed uplinks sent again
  std::uint64_t empty_uplinks = 0;     // for FPending or an owed ACK
  std::uint64_t downlinks = 0;         // heard in a window
  std::uint64_t missed_downlinks = 0;  // arrived while no window was open (class A)
  std::uint64_t duplicate_downlinks = 0;
  std::uint64_t duty_cycle_waits = 0;  // a frame waited for the duty cycle
};

class DeviceMac {
 public:
  explicit DeviceMac(DeviceMacConfig config);

  // Queues an application frame; the handle names it in its kSent or kFailed event. Fails
  // when the payload exceeds the data rate's, the port is not 1-223 or the queue is full.
  Result<std::uint64_t> send(std::uint8_t port, Bytes payload, bool confirmed, Instant now);
  void receive(const Downlink& d, Instant now);
  void on_timer(Instant now);

  std::optional<Uplink> poll_transmit();
  std::optional<MacEvent> poll_event();
  std::optional<Instant> next_deadline() const;

  std::size_t max_payload() const { return rate_.max_payload; }
  const DeviceMacConfig& config() const { return config_; }
  // Nothing queued, in flight or owed.
  bool idle() const { return queue_.empty() && !in_windows_ && !empty_owed_; }
  const DeviceMacCounters& counters() const { return counters_; }

 private:
  struct Queued {
    std::uint64_t handle = 0;
    std::uint8_t port = 0;
    Bytes payload;
    bool confirmed = false;
    unsigned transmissions = 0;
    std::uint32_t f_cnt = 0;
  };
  void try_transmit(Instant now);
  void close_windows(Instant now);

  DeviceMacConfig config_;
  DataRate rate_;
  std::deque<Queued> queue_;
  std::deque<Uplink> air_;
  std::deque<MacEvent> events_;
  std::uint64_t next_handle_ = 1;
  std::uint32_t next_f_cnt_ = 0;
  std::optional<std::uint32_t> last_down_f_cnt_;
  Instant free_at_{};   // the duty cycle allows the next uplink from here
  Instant retry_at_{};  // a confirmed uplink is repeated no sooner
  bool in_windows_ = false;
  bool in_flight_empty_ = false;  // the frame in the windows is an empty one
  bool acked_ = false;            // the confirmed uplink in the windows was acknowledged
  Instant windows_end_{};
  bool ack_owed_ = false;    // a confirmed downlink waits for our ACK
  bool empty_owed_ = false;  // FPending or an owed ACK: send an empty frame if nothing else
  DeviceMacCounters counters_;
};

}  // namespace tether::lorawan
