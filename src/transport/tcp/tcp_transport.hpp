#pragma once
// CoAP over TCP (Transport TS 6.8.2, RFC 8323): a listening socket and/or outgoing
// connections; each connection is one peer of the stream endpoint.
#include <string>
#include <unordered_map>

#include "transport/socket_address.hpp"
#include "transport/transport.hpp"

namespace tether::transport {

struct TcpOptions {
  std::string bind_host = "::";
  std::uint16_t port = 0;
  bool listen = true;
  // Bounded memory: a peer whose unsent output exceeds this is disconnected.
  std::size_t max_output_buffer = 4 << 20;
  // DTLS/TLS: set for coaps / coaps+tcp.
  std::optional<SecureOptions> secure;
  // SO_REUSEPORT: several workers listen on one port; the kernel spreads the connections.
  bool reuse_port = false;
  bool first_of_group = false;  // as UdpOptions::first_of_group
};

class TcpTransport final : public Transport {
 public:
  TcpTransport(EventLoop& loop, coap::EndpointConfig config, Random& random, TcpOptions options);
  ~TcpTransport() override;

  coap::Endpoint& endpoint() override { return endpoint_; }
  Result<coap::PeerId> peer_for(const std::string& host, std::uint16_t port) override;
  std::string describe(coap::PeerId peer) const override;
  std::uint16_t local_port() const override { return local_port_; }
  void flush() override;
  tls::SecureLayer* secure_layer() override { return secure_.get(); }
  std::size_t connection_count() const { return connections_.size(); }

 private:
  struct Connection {
    int fd = -1;
    SocketAddress address;
    Bytes output;
    bool connecting = false;
    bool closing = false;
  };

  coap::PeerId adopt(int fd, const SocketAddress& address, bool connecting);
  void on_accept();
  void on_event(coap::PeerId peer, std::uint32_t events);
  void write_some(coap::PeerId peer, Connection& c);
  void drop(coap::PeerId peer, bool tell_endpoint);

  EventLoop& loop_;
  coap::Endpoint endpoint_;
  std::unique_ptr<tls::SecureLayer> secure_;
  // What the socket side drives: the security layer when there is one, else the endpoint.
  coap::CarrierPort& port_;
  EndpointTimer timer_;
  TcpOptions options_;
  int listen_fd_ = -1;
  std::uint16_t local_port_ = 0;
  std::unordered_map<coap::PeerId, Connection> connections_;
  coap::PeerId next_peer_ = 1;
};

}  // namespace tether::transport
