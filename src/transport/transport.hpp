#pragma once
// The plug point for carriers. Each transport owns one sans-I/O coap::Endpoint and is the
// only code that touches its sockets: bytes read are fed to the endpoint, what the
// endpoint produces is written out, and its next deadline becomes a loop timer.
// UDP and TCP live here; with SecureOptions they carry DTLS and TLS (a tls::SecureLayer
// between the socket and the endpoint). SMS, LoRaWAN and NIDD plug in the same way.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coap/endpoint.hpp"
#include "common/result.hpp"
#include "tls/secure_layer.hpp"
#include "transport/event_loop.hpp"

namespace tether::transport {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual coap::Endpoint& endpoint() = 0;
  // The peer for a host and port: an address for datagrams, a connection for streams
  // (opened on first use).
  virtual Result<coap::PeerId> peer_for(const std::string& host, std::uint16_t port) = 0;
  virtual std::string describe(coap::PeerId peer) const = 0;
  // A datagram transport forgets addresses nobody holds once they are idle (anyone can send
  // from any address); a holder keeps one known until it releases it. Holds count. Peers
  // from peer_for come held once. Stream transports keep a peer while it is connected.
  // False for a peer the transport no longer knows (forgotten before anyone held it).
  virtual bool hold(coap::PeerId peer) {
    (void)peer;
    return true;
  }
  virtual void release(coap::PeerId peer) { (void)peer; }
  // The local port actually bound (useful with port 0).
  virtual std::uint16_t local_port() const = 0;
  // Push what the endpoint has queued and re-arm its timer. Call after using the endpoint
  // API from outside a transport callback.
  virtual void flush() = 0;
  // The (D)TLS layer of a secure transport (coaps, coaps+tcp); null for plain ones.
  virtual tls::SecureLayer* secure_layer() { return nullptr; }
  // The name the carrier knows us by, where it has one (LoRaWAN: our DevEUI).
  virtual std::string link_identity() const { return {}; }
  // What the carrier dropped or refused on its own, by reason, for /metrics.
  virtual std::vector<std::pair<std::string, std::uint64_t>> counters() const { return {}; }
};

// What makes a UDP or TCP transport secure: the backend (owned by the caller, outliving
// the transport) and the layer's settings. The transport sets the carriage.
struct SecureOptions {
  tls::Backend* backend = nullptr;
  tls::SecureLayerConfig layer;
};

// The layer a transport stacks over its endpoint, or null without security.
inline std::unique_ptr<tls::SecureLayer> make_secure_layer(const std::optional<SecureOptions>& o,
                                                           coap::Endpoint& endpoint,
                                                           tls::Carriage carriage) {
  if (!o || o->backend == nullptr) return nullptr;
  auto config = o->layer;
  config.carriage = carriage;
  return std::make_unique<tls::SecureLayer>(config, *o->backend, endpoint);
}

inline coap::EndpointConfig with_carrier(coap::EndpointConfig c, coap::Carrier carrier) {
  c.carrier = carrier;
  return c;
}

// Shared by transports: drives an endpoint's deadline as a single loop timer.
class EndpointTimer {
 public:
  EndpointTimer(EventLoop& loop, coap::CarrierPort& endpoint, std::function<void()> after_fire)
      : loop_(loop), endpoint_(endpoint), after_fire_(std::move(after_fire)) {}
  ~EndpointTimer() { disarm(); }
  void rearm();
  void disarm();

 private:
  EventLoop& loop_;
  coap::CarrierPort& endpoint_;
  std::function<void()> after_fire_;
  EventLoop::TimerId id_ = 0;
  Instant armed_at_{};
};

inline void EndpointTimer::disarm() {
  if (id_ != 0) loop_.cancel(id_);
  id_ = 0;
}

inline void EndpointTimer::rearm() {
  auto next = endpoint_.next_deadline();
  if (!next) {
    disarm();
    return;
  }
  if (id_ != 0 && armed_at_ == *next) return;
  disarm();
  armed_at_ = *next;
  id_ = loop_.schedule(*next, [this] {
    id_ = 0;
    endpoint_.on_timer(loop_.now());
    after_fire_();
  });
}

}  // namespace tether::transport
