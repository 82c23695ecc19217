#pragma once
// What a carrier drives: bytes, connection events and time in; transmissions and one
// deadline out. The CoAP Endpoint is one; a security layer (tls::SecureLayer) is another,
// stacked between a carrier and the endpoint, so transports and simulated networks drive
// either without knowing which.
#include <optional>

#include "coap/message_layer.hpp"

namespace tether::coap {

class CarrierPort {
 public:
  virtual ~CarrierPort() = default;
  // One datagram, or the next chunk of a stream.
  virtual void receive(PeerId peer, ByteView bytes, Instant now) = 0;
  // Stream carriers: a connection is up / gone.
  virtual void on_connected(PeerId peer, Instant now) = 0;
  virtual void on_disconnected(PeerId peer, Instant now) = 0;
  virtual void on_timer(Instant now) = 0;
  virtual std::optional<Transmit> poll_transmit() = 0;
  virtual std::optional<Instant> next_deadline() const = 0;
};

}  // namespace tether::coap
