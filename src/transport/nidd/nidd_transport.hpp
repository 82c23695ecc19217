#pragma once
// CoAP over non-IP data delivery (Transport TS 6.8.5, Appendix D): one CoAP endpoint whose
// peers are UEs (server side: each External Identifier or MSISDN the SCEF names; client
// side: the one server the network routes to, nidd://). A CoAP message goes as one packet;
// block-wise sizes follow the network's maximum packet size (D.4: nothing segments below
// CoAP), and a message over it is not sent.
//
// Two Appendix D rules live here:
// - D.4: each uplink carries a release assistance indication chosen from its CoAP type: a
//   CON expects one answer (10), a NON none (01), an ACK or RST may be followed by more
//   requests (00);
// - D.6: while the SCEF buffers a CON for a sleeping UE, CoAP's retransmissions of it are
//   not sent (they would only fill the network's buffer and arrive as duplicates).
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "transport/nidd/nidd_carrier.hpp"
#include "transport/transport.hpp"

namespace tether::transport {

struct NiddOptions {
  bool device = false;  // the client's side (one peer, the network)
  NiddCarrier::Problem problem;
  // UEs we keep a peer for; packets from more are dropped and counted.
  std::size_t max_peers = 1'000'000;
};

struct NiddTransportCounters {
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t too_long = 0;
  std::uint64_t not_delivered = 0;
  std::uint64_t buffered = 0;
  std::uint64_t held = 0;  // retransmissions not sent: the network still buffers the first
  std::uint64_t peer_limit = 0;
};

// The release assistance indication for a CoAP message (D.4, Table D.4-1).
nidd::ReleaseAssistance release_assistance_of(ByteView coap_message);

class NiddTransport final : public Transport {
 public:
  NiddTransport(EventLoop& loop, coap::EndpointConfig config, Random& random, NiddCarrier& carrier,
                NiddOptions options);
  ~NiddTransport() override;

  coap::Endpoint& endpoint() override { return endpoint_; }
  // Server side: `host` is a UE ("ext:meter@iot.example", "msisdn:4915550001", or bare,
  // "nidd:" before it allowed); client side: "" for the network. No ports.
  Result<coap::PeerId> peer_for(const std::string& host, std::uint16_t port) override;
  // "nidd:ext:meter@iot.example" (server side), "nidd" (client side).
  std::string describe(coap::PeerId peer) const override;
  std::uint16_t local_port() const override { return 0; }
  void flush() override;
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;

  // The UE of a peer as nidd::UeId::key() ("" when unknown or on the client side).
  std::string ue_of(coap::PeerId peer) const;
  const NiddTransportCounters& nidd_counters() const { return counters_; }

 private:
  struct Sent {
    coap::PeerId peer = 0;
    std::uint16_t mid = 0;
    bool confirmable = false;
    bool buffered = false;  // the network said so; a final report follows
  };
  coap::PeerId peer_id(const std::string& ue);
  std::size_t max_message_size(coap::PeerId peer) const;
  void on_packet(const std::string& ue, Bytes data);
  void on_report(std::uint64_t handle, NiddCarrier::Outcome outcome);

  EventLoop& loop_;
  NiddCarrier& carrier_;
  NiddOptions options_;
  coap::Endpoint endpoint_;
  EndpointTimer timer_;
  std::unordered_map<std::string, coap::PeerId> ids_;
  std::unordered_map<coap::PeerId, std::string> ues_;
  std::unordered_map<std::uint64_t, Sent> sent_;  // by the carrier's handle
  // CONs the network buffers, with how many copies of each (a repeat may have left before
  // the network said it buffers the first).
  std::map<std::pair<coap::PeerId, std::uint16_t>, unsigned> held_;
  coap::PeerId next_peer_ = 1;
  NiddTransportCounters counters_;
};

}  // namespace tether::transport
