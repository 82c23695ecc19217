#pragma once
// CoAP over LoRaWAN (Transport TS 6.8.4, Appendix C): one CoAP endpoint whose peers are a
// device and an FPort (server side: each device; client side: the network server behind
// the lorawan://{port} URI). A CoAP message goes as one frame; a message longer than the
// device's data rate carries is not sent (the endpoint picks block-wise sizes that fit:
// `max_message_size_of`). lorawan::ConRetransmission between the carrier and the endpoint
// repeats CON messages by the network's events, not by CoAP's timer.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "lorawan/con_retransmission.hpp"
#include "transport/lorawan/lorawan_carrier.hpp"
#include "transport/transport.hpp"

namespace tether::transport {

struct LorawanOptions {
  lorawan::ConRetransmissionConfig retransmission;  // `side` says which end we are
  // Told what the transport dropped on its own (a message longer than a frame).
  LorawanCarrier::Problem problem;
  // Devices (and FPorts) we keep a peer for; frames from more are dropped and counted.
  std::size_t max_peers = 1'000'000;
};

struct LorawanTransportCounters {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t too_long = 0;  // a CoAP message over the frame size: not sent
  std::uint64_t not_delivered = 0;
  std::uint64_t peer_limit = 0;
};

class LorawanTransport final : public Transport {
 public:
  LorawanTransport(EventLoop& loop, coap::EndpointConfig config, Random& random,
                   LorawanCarrier& carrier, LorawanOptions options);
  ~LorawanTransport() override;

  coap::Endpoint& endpoint() override { return endpoint_; }
  // Server side: `host` is the DevEUI (16 hex digits, "lorawan:" before it allowed);
  // client side: "" for the network. `port` is the FPort (1-223).
  Result<coap::PeerId> peer_for(const std::string& host, std::uint16_t port) override;
  // "lorawan:0123456789abcdef:1" (server side), "lorawan:1" (client side).
  std::string describe(coap::PeerId peer) const override;
  std::uint16_t local_port() const override { return 0; }
  void flush() override;
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;
  // Client side: our DevEUI, 16 hex digits, as the carrier knows it ("" before).
  std::string link_identity() const override;

  // The DevEUI of a peer, as 16 hex digits ("" when unknown or on the client side).
  std::string dev_eui_of(coap::PeerId peer) const;
  const lorawan::ConRetransmission& retransmission() const { return layer_; }
  const LorawanTransportCounters& lorawan_counters() const { return counters_; }

 private:
  struct PeerKey {
    lorawan::DevEui dev = 0;
    std::uint8_t port = 0;
    friend bool operator==(const PeerKey&, const PeerKey&) = default;
  };
  struct PeerKeyHash {
    std::size_t operator()(const PeerKey& k) const {
      return std::hash<std::uint64_t>{}(k.dev * 0x9e3779b97f4a7c15ull + k.port);
    }
  };
  struct Sent {
    coap::PeerId peer = 0;
    Bytes header;  // the CoAP header, to tell the layer which message it was
  };
  coap::PeerId peer_id(lorawan::DevEui dev, std::uint8_t port);
  std::size_t max_message_size(coap::PeerId peer) const;
  void on_frame(const LorawanFrame& f);
  void on_report(std::uint64_t handle, bool delivered);

  EventLoop& loop_;
  LorawanCarrier& carrier_;
  LorawanOptions options_;
  coap::Endpoint endpoint_;
  lorawan::ConRetransmission layer_;
  EndpointTimer timer_;
  std::unordered_map<PeerKey, coap::PeerId, PeerKeyHash> ids_;
  std::unordered_map<coap::PeerId, PeerKey> keys_;
  std::unordered_map<std::uint64_t, Sent> sent_;  // by the carrier's handle
  coap::PeerId next_peer_ = 1;
  LorawanTransportCounters counters_;
};

}  // namespace tether::transport
