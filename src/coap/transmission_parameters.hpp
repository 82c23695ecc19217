#pragma once
// RFC 7252 4.8 transmission parameters, chosen per binding (Transport TS 6.8).
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "common/time.hpp"

namespace tether::coap {

struct TransmissionParameters {
  Duration ack_timeout{2000};
  double ack_random_factor = 1.5;
  unsigned max_retransmit = 4;
  unsigned nstart = 1;
  Duration max_latency{100'000};
  // LoRaWAN (Transport TS Appendix C) repeats after a fixed ACK_TIMEOUT instead of doubling.
  bool exponential_backoff = true;

  // RFC 7252 4.8.2 derived values.
  Duration max_transmit_span() const {
    if (max_retransmit == 0) return Duration{0};
    const auto steps = exponential_backoff ? (1ull << max_retransmit) - 1 : max_retransmit;
    return scale(ack_timeout * static_cast<std::int64_t>(steps));
  }
  Duration max_transmit_wait() const {
    const auto steps =
        exponential_backoff ? (1ull << (max_retransmit + 1)) - 1 : max_retransmit + 1;
    return scale(ack_timeout * static_cast<std::int64_t>(steps));
  }
  Duration processing_delay() const { return ack_timeout; }
  Duration exchange_lifetime() const {
    return max_transmit_span() + 2 * max_latency + processing_delay();
  }
  Duration non_lifetime() const { return max_transmit_span() + max_latency; }

  // CoAP over UDP/DTLS defaults (RFC 7252 4.8).
  static TransmissionParameters udp() { return {}; }
  // Transport TS 6.8.3: no CoAP retransmission over SMS; one long wait for the ACK.
  static TransmissionParameters sms() {
    TransmissionParameters p;
    p.max_retransmit = 0;
    p.ack_timeout = Duration{60'000};
    p.ack_random_factor = 1.0;
    return p;
  }
  // Transport TS Appendix C.2: ACK_TIMEOUT 300 s, MAX_RETRANSMIT 4, fixed interval.
  static TransmissionParameters lorawan() {
    TransmissionParameters p;
    p.ack_timeout = Duration{300'000};
    p.max_retransmit = 4;
    p.ack_random_factor = 1.0;
    p.exponential_backoff = false;
    return p;
  }

 private:
  Duration scale(Duration d) const {
    return Duration{static_cast<std::int64_t>(static_cast<double>(d.count()) * ack_random_factor)};
  }
};

}  // namespace tether::coap
