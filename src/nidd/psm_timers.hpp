#pragma once
// Transport TS Appendix D.8: an NB-IoT or LTE-M device sleeps in power saving mode (PSM)
// between periodic tracking area updates (T3412), stays reachable for the active time
// (T3324) after it last sent, and listens in eDRX cycles. LwM2M's own timers (the lifetime,
// queue mode's awake time, CoAP's ACK_TIMEOUT and retransmissions) have to agree with them,
// or the device wakes for nothing, or the server speaks while nobody listens. This checks a
// configuration and says, in words, what contradicts what.
#include <optional>
#include <string>
#include <vector>

#include "common/time.hpp"

namespace tether::nidd {

// The 3GPP side (D.8.2), as configured (AT+CPSMS, AT+CEDRXS) or granted by the network.
struct PsmSettings {
  std::optional<Duration> periodic_tau;  // T3412 extended
  std::optional<Duration> active_time;   // T3324
  std::optional<Duration> edrx_cycle;
};

// The LwM2M side (D.8.3).
struct Lwm2mTimers {
  Duration lifetime{0};
  bool queue_mode = false;
  Duration awake_time{0};  // queue mode: how long the client listens after it sent
  Duration ack_timeout{2000};
  double ack_random_factor = 1.5;
  unsigned max_retransmit = 4;
};

// One line per contradiction; none when the timers agree.
std::vector<std::string> check_timers(const PsmSettings& psm, const Lwm2mTimers& lwm2m);

// TS 24.008 10.5.163a / 10.5.7.4a: the timer octets AT+CPSMS takes, as 8-bit strings
// ("00100001" for 1 hour in units of... ). Nullopt when the value cannot be written exactly
// enough (we round up to the next representable value).
std::optional<std::string> encode_t3412(Duration d);
std::optional<std::string> encode_t3324(Duration d);
std::optional<Duration> decode_t3412(const std::string& bits);
std::optional<Duration> decode_t3324(const std::string& bits);

}  // namespace tether::nidd
