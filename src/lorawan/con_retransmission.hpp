#pragma once
// Transport TS 6.8.4 and Appendix C: over LoRaWAN, CoAP does not repeat a CON message on
// its own timer; this layer, between the carrier and the CoAP endpoint (a CarrierPort like
// the (D)TLS layer), repeats it by the network's events instead. The endpoint under it
// runs with MAX_RETRANSMIT 0 (lorawan_endpoint_config).
//
// On the endpoint (the LwM2M client):
// - C.3.1, CON over confirmed frames: once the frame is out and no ACK came in its receive
//   windows, the endpoint opens another window every `poll_delay` with an empty CON (a
//   "poll"), at most MAX_RETRANSMIT times; a frame the network never acknowledged is sent
//   again instead.
// - C.3.2, over unconfirmed frames: a poll, then the CON again, in turn, MAX_RETRANSMIT
//   times each.
// On the application server (the LwM2M server):
// - C.3.1: the network reports the frame acknowledged or failed; acknowledged, the CoAP
//   ACK is awaited for ACK_TIMEOUT; failed, the CON is queued again (at most
//   MAX_RETRANSMIT times; the spec leaves this open, and nothing acknowledged is lost).
// - C.3.2: once the network reports the frame sent, ACK_TIMEOUT for the CoAP ACK, then the
//   CON again, MAX_RETRANSMIT times.
// A poll reaching the application server opened a window and is dropped there unanswered.
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "coap/carrier_port.hpp"
#include "coap/endpoint.hpp"

namespace tether::lorawan {

struct ConRetransmissionConfig {
  enum class Side : std::uint8_t { kEndpoint, kApplicationServer };
  Side side = Side::kEndpoint;
  // C.3.1 (CON, polls and ACK ride confirmed frames) or C.3.2 (everything unconfirmed).
  bool confirmed = true;
  Duration ack_timeout{300'000};  // C.2
  unsigned max_retransmit = 4;    // C.2
  Duration poll_delay{30'000};    // the endpoint's wait before it opens a window again
};

struct ConRetransmissionCounters {
  std::uint64_t resent = 0;       // CON messages sent again
  std::uint64_t polls = 0;        // empty CONs sent to open a window
  std::uint64_t polls_heard = 0;  // empty CONs received (application server)
  std::uint64_t gave_up = 0;      // CON messages still unanswered after all that
};

class ConRetransmission final : public coap::CarrierPort {
 public:
  ConRetransmission(ConRetransmissionConfig config, coap::CarrierPort& inner);

  void receive(coap::PeerId peer, ByteView bytes, Instant now) override;
  void on_connected(coap::PeerId peer, Instant now) override { inner_.on_connected(peer, now); }
  void on_disconnected(coap::PeerId peer, Instant now) override;
  void on_timer(Instant now) override;
  std::optional<coap::Transmit> poll_transmit() override;
  std::optional<Instant> next_deadline() const override;

  // The carrier's word on a frame it was given: `delivered` when the network sent it (or,
  // confirmed, the other side acknowledged it) or the device's receive windows are over;
  // false when it could not be sent.
  void on_carried(coap::PeerId peer, ByteView frame, bool delivered, Instant now);
  // Drops the CON a frame carried without sending it again (it can never go: too long).
  void forget(coap::PeerId peer, ByteView frame);
  // Whether a frame goes as a LoRaWAN confirmed frame.
  bool rides_confirmed(ByteView frame) const;
  // CON messages waiting for their ACK.
  std::size_t outstanding() const;
  const ConRetransmissionCounters& counters() const { return counters_; }
  const ConRetransmissionConfig& config() const { return config_; }

 private:
  struct Pending {
    std::uint16_t mid = 0;
    Bytes wire;
    unsigned attempts = 0;            // resends and polls so far
    bool with_carrier = true;         // handed over, no word yet
    bool resend_next = false;         // the endpoint's next step sends it again (not a poll)
    std::optional<Instant> deadline;  // application server: the ACK is due
    Instant expires{};                // the endpoint under us has given up by then
  };
  struct Peer {
    std::deque<Pending> cons;
    std::optional<Instant> poll_at;   // endpoint: the next window to open
    std::optional<Instant> armed;     // this peer's entry in timers_
    std::deque<std::uint16_t> polls;  // our latest polls' IDs: their RST or ACK is ours
  };

  static constexpr std::size_t kMaxPerPeer = 8;
  Pending* find(Peer& p, std::uint16_t mid);
  void erase(Peer& p, std::uint16_t mid);
  void step_endpoint(coap::PeerId id, Peer& p);
  void resend(coap::PeerId id, Pending& c);
  // Keeps timers_ at the peer's earliest deadline; forgets a peer with nothing left.
  void rearm(coap::PeerId id);

  ConRetransmissionConfig config_;
  coap::CarrierPort& inner_;
  std::unordered_map<coap::PeerId, Peer> peers_;
  std::set<std::pair<Instant, coap::PeerId>> timers_;
  std::deque<coap::Transmit> out_;  // our own resends and polls, before the endpoint's
  std::uint16_t next_poll_mid_ = 0x8000;
  Instant now_{};  // the latest time we were given (poll_transmit has none)
  ConRetransmissionCounters counters_;
};

// How long an exchange lives under Appendix C: the polls and resends, then one more
// ACK_TIMEOUT for the last answer. The endpoint's ACK_TIMEOUT, and how long we track a CON.
Duration lorawan_exchange_span(const ConRetransmissionConfig& c);

// Appendix C's parameters for the endpoint under the layer: no CoAP retransmission, an
// exchange that lives as long as the layer may keep trying, piggybacked responses (6.8.4),
// and block-wise sizes for the smallest frames (max_message_size; a transport sets it per
// peer with max_message_size_of).
coap::EndpointConfig lorawan_endpoint_config(coap::EndpointConfig base,
                                             const ConRetransmissionConfig& c);

}  // namespace tether::lorawan
