#pragma once
// CoAP over UDP (Transport TS 6.8.1): one socket, peers keyed by source address.
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/socket_address.hpp"
#include "transport/transport.hpp"
#include "transport/udp/peer_table.hpp"

namespace tether::transport {

struct UdpOptions {
  std::string bind_host = "::";  // dual-stack by default
  std::uint16_t port = 0;
  // SO_RCVBUF/SO_SNDBUF in bytes (capped by net.core.rmem_max); 0 keeps the system default.
  std::size_t socket_buffer = 4 << 20;
  // DTLS/TLS: set for coaps / coaps+tcp.
  std::optional<SecureOptions> secure;
  // ICMP errors (port unreachable) end the exchanges with that peer at once instead of after
  // the retransmissions (IP_RECVERR). For a tool talking to one peer; a server leaves it off,
  // since anyone can forge ICMP.
  bool report_unreachable = false;
  // How long addresses nobody holds are kept, and how many (see PeerTable).
  PeerTableLimits peers;
  // SO_REUSEPORT: several workers' sockets on one port (`tether server --workers`). The
  // kernel hashes each datagram's source to one socket of the group, so a peer stays with
  // one worker while the group is unchanged.
  bool reuse_port = false;
  // The first socket of such a group: fails, as a plain bind would, when the port is taken.
  bool first_of_group = false;
};

inline UdpOptions udp_at(std::string host, std::uint16_t port) {
  UdpOptions o;
  o.bind_host = std::move(host);
  o.port = port;
  return o;
}

class UdpTransport final : public Transport {
 public:
  UdpTransport(EventLoop& loop, coap::EndpointConfig config, Random& random, UdpOptions options);
  ~UdpTransport() override;

  coap::Endpoint& endpoint() override { return endpoint_; }
  // The peer comes with one hold for the caller.
  Result<coap::PeerId> peer_for(const std::string& host, std::uint16_t port) override;
  std::string describe(coap::PeerId peer) const override;
  bool hold(coap::PeerId peer) override { return peers_.hold(peer); }
  void release(coap::PeerId peer) override;
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override;
  // Addresses known now (held or not).
  std::size_t known_peers() const { return peers_.size(); }
  std::uint16_t local_port() const override { return local_port_; }
  // Drops the datagrams waiting in the socket, unread; returns how many. For a socket of a
  // SO_REUSEPORT group before it serves: what came while the group was still forming was
  // hashed among fewer sockets, so it may belong to another one now (its sender repeats it).
  std::size_t discard_queued();
  void flush() override;
  tls::SecureLayer* secure_layer() override { return secure_.get(); }
  // With report_unreachable: called with the peer's address and the error for each ICMP error.
  void set_unreachable_handler(std::function<void(const std::string&, const std::string&)> h) {
    on_unreachable_ = std::move(h);
  }

 private:
  void on_readable();
  // Forgets what the peer table gives up (and tells the layers above), then waits for more;
  // how many it forgot.
  std::size_t sweep_peers();
  void arm_sweep(Instant now);
  void drain_errors();
  // Sends batch_.out (the data for known peers) with sendmmsg and empties it.
  void send_batch();

  // Issue 22: one recvmmsg/sendmmsg moves up to kBatch datagrams. Replies made while a batch
  // is handled wait for its end, so they leave together (and wake the peer's side once).
  static constexpr std::size_t kBatch = 32;
  struct Batch {
    // 64 KiB per slot: a datagram recvmmsg truncates is lost, and CoAP over UDP may use all
    // of it. Only the pages datagrams touch become resident.
    std::unique_ptr<std::uint8_t[]> slots;
    std::vector<sockaddr_in6> from;
    std::vector<iovec> iov;
    std::vector<mmsghdr> msgs;
    std::vector<coap::Transmit> out;
  };

  EventLoop& loop_;
  coap::Endpoint endpoint_;
  std::unique_ptr<tls::SecureLayer> secure_;
  // What the socket side drives: the security layer when there is one, else the endpoint.
  coap::CarrierPort& port_;
  EndpointTimer timer_;
  int fd_ = -1;
  int family_ = AF_INET6;
  std::uint16_t local_port_ = 0;
  PeerTable peers_;
  EventLoop::TimerId sweep_timer_ = 0;
  std::uint64_t forgotten_ = 0;
  bool sweep_futile_ = false;  // the last sweep over the cap forgot nothing
  Batch batch_;
  bool in_batch_ = false;      // handling received datagrams: flush() waits for the end
  bool flushing_ = false;      // inside flush(): a nested flush() becomes another round
  bool flush_wanted_ = false;  // a flush() was asked for while one of the above held
  bool report_unreachable_ = false;
  std::function<void(const std::string&, const std::string&)> on_unreachable_;
};

}  // namespace tether::transport
