#include "nidd/psm_timers.hpp"

#include <array>
#include <utility>

namespace tether::nidd {

namespace {
using Unit = std::pair<const char*, std::int64_t>;  // the unit's 3 bits, its length in ms

// TS 24.008 10.5.163a (GPRS Timer 3), smallest unit first.
constexpr std::array<Unit, 7> kT3412Units{{{"011", 2'000},
                                           {"100", 30'000},
                                           {"101", 60'000},
                                           {"000", 600'000},
                                           {"001", 3'600'000},
                                           {"010", 36'000'000},
                                           {"110", 1'152'000'000}}};
// TS 24.008 10.5.7.4a (GPRS Timer 2).
constexpr std::array<Unit, 3> kT3324Units{{{"000", 2'000}, {"001", 60'000}, {"010", 360'000}}};

template <std::size_t N>
std::optional<std::string> encode(Duration d, const std::array<Unit, N>& units) {
  const std::int64_t ms = d.count();
  if (ms < 0) return std::nullopt;
  for (const auto& [bits, unit] : units) {
    const std::int64_t value = (ms + unit - 1) / unit;
    if (value <= 31) {
      std::string out = bits;
      for (int b = 4; b >= 0; --b) out.push_back(((value >> b) & 1) != 0 ? '1' : '0');
      return out;
    }
  }
  return std::nullopt;
}

template <std::size_t N>
std::optional<Duration> decode(const std::string& s, const std::array<Unit, N>& units) {
  if (s.size() != 8 || s.find_first_not_of("01") != std::string::npos) return std::nullopt;
  const std::string unit_bits = s.substr(0, 3);
  std::int64_t value = 0;
  for (std::size_t i = 3; i < 8; ++i) value = value * 2 + (s[i] - '0');
  for (const auto& [bits, unit] : units) {
    if (unit_bits == bits) return Duration{value * unit};
  }
  return std::nullopt;  // deactivated, or a unit this timer does not have
}

std::string seconds(Duration d) {
  return std::to_string(d.count() / 1000) + " s";
}

// RFC 7252 4.8.2: how long a CON may go unanswered before the last try.
Duration max_transmit_wait(const Lwm2mTimers& t) {
  const double steps = static_cast<double>((1ull << (t.max_retransmit + 1)) - 1);
  return Duration{static_cast<std::int64_t>(static_cast<double>(t.ack_timeout.count()) * steps *
                                            t.ack_random_factor)};
}
}  // namespace

std::optional<std::string> encode_t3412(Duration d) {
  return encode(d, kT3412Units);
}
std::optional<std::string> encode_t3324(Duration d) {
  return encode(d, kT3324Units);
}
std::optional<Duration> decode_t3412(const std::string& bits) {
  return decode(bits, kT3412Units);
}
std::optional<Duration> decode_t3324(const std::string& bits) {
  return decode(bits, kT3324Units);
}

std::vector<std::string> check_timers(const PsmSettings& psm, const Lwm2mTimers& t) {
  std::vector<std::string> out;
  // D.8.4: an Update restarts T3412, so with lifetime <= T3412 no TAU is ever needed.
  if (psm.periodic_tau && t.lifetime > *psm.periodic_tau) {
    out.push_back("the lifetime (" + seconds(t.lifetime) + ") is longer than the periodic TAU (" +
                  seconds(*psm.periodic_tau) +
                  "): the device wakes for a TAU between Updates, twice where an Update alone "
                  "(which restarts T3412) would do");
  }
  if (psm.active_time && t.queue_mode && t.awake_time > *psm.active_time) {
    out.push_back("the queue-mode awake time (" + seconds(t.awake_time) +
                  ") outlasts the active time T3324 (" + seconds(*psm.active_time) +
                  "): the server sends while the device already sleeps, and the network "
                  "buffers it (D.6)");
  }
  if (psm.active_time && t.queue_mode && t.awake_time < *psm.active_time) {
    out.push_back("the active time T3324 (" + seconds(*psm.active_time) +
                  ") outlasts the queue-mode awake time (" + seconds(t.awake_time) +
                  "): the device stays reachable after the server stopped sending");
  }
  if (psm.active_time && max_transmit_wait(t) > *psm.active_time) {
    out.push_back("CoAP's retransmissions run " + seconds(max_transmit_wait(t)) +
                  ", longer than the active time T3324 (" + seconds(*psm.active_time) +
                  "): late copies wait in the network's buffer while the device sleeps (D.6)");
  }
  if (psm.edrx_cycle && *psm.edrx_cycle > t.ack_timeout) {
    out.push_back("the eDRX cycle (" + seconds(*psm.edrx_cycle) + ") is longer than ACK_TIMEOUT (" +
                  seconds(t.ack_timeout) +
                  "): the server repeats a CON before the device can have heard it");
  }
  return out;
}

}  // namespace tether::nidd
