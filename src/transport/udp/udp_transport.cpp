#include "transport/udp/udp_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tether::transport {

namespace {
// Sets a flag for a scope, and clears it however the scope ends.
struct FlagScope {
  bool& flag;
  explicit FlagScope(bool& f) : flag(f) { flag = true; }
  ~FlagScope() { flag = false; }
  FlagScope(const FlagScope&) = delete;
  FlagScope& operator=(const FlagScope&) = delete;
};

// An IPv4 peer reached from a dual-stack socket is addressed as ::ffff:a.b.c.d.
SocketAddress to_family(const SocketAddress& a, int family) {
  if (a.family() != AF_INET || family != AF_INET6) return a;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.get());
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = sin->sin_port;
  sin6.sin6_addr.s6_addr[10] = 0xff;
  sin6.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&sin6.sin6_addr.s6_addr[12], &sin->sin_addr, 4);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}
}  // namespace

UdpTransport::UdpTransport(EventLoop& loop, coap::EndpointConfig config, Random& random,
                           UdpOptions options)
    : loop_(loop),
      endpoint_(with_carrier(std::move(config), coap::Carrier::kDatagram), random),
      secure_(make_secure_layer(options.secure, endpoint_, tls::Carriage::kDatagram)),
      port_(secure_ ? static_cast<coap::CarrierPort&>(*secure_) : endpoint_),
      timer_(loop, port_, [this] { flush(); }),
      peers_(options.peers) {
  auto bind_addr = SocketAddress::resolve(options.bind_host, options.port);
  if (!bind_addr) throw std::runtime_error(bind_addr.error().reason);
  family_ = bind_addr->family();
  if (options.reuse_port && options.first_of_group && options.port != 0) {
    if (auto free = check_port_free(*bind_addr, SOCK_DGRAM); !free) {
      throw std::runtime_error("bind UDP: " + free.error().reason);
    }
  }
  fd_ = ::socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (family_ == AF_INET6) {
    int off = 0;
    setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  // Loopback and LAN bursts (a fleet re-registering) overflow the default receive buffer,
  // which counts kernel overhead per datagram; a lost CON costs the client seconds.
  if (options.socket_buffer > 0) {
    const int size = static_cast<int>(options.socket_buffer);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  if (options.reuse_port) {
    int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  }
  if (options.report_unreachable) {
    report_unreachable_ = true;
    int on = 1;
    ::setsockopt(fd_, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
    if (family_ == AF_INET6) ::setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
  }
  if (::bind(fd_, bind_addr->get(), bind_addr->size()) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(), "bind UDP " + bind_addr->to_string());
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
  local_port_ = SocketAddress(reinterpret_cast<sockaddr*>(&local), len).port();
  loop_.watch(fd_, EPOLLIN, [this](std::uint32_t events) {
    if ((events & EPOLLERR) != 0 && report_unreachable_) drain_errors();
    on_readable();
  });
}

UdpTransport::~UdpTransport() {
  if (sweep_timer_ != 0) loop_.cancel(sweep_timer_);
  loop_.unwatch(fd_);
  ::close(fd_);
}

Result<coap::PeerId> UdpTransport::peer_for(const std::string& host, std::uint16_t port) {
  auto addr = SocketAddress::resolve(host, port);
  if (!addr) return addr.error();
  if (addr->family() == AF_INET6 && family_ == AF_INET) {
    return fail("IPv6 peer on an IPv4 socket: bind to :: instead");
  }
  const Instant now = loop_.now();
  const coap::PeerId peer = peers_.id_of(to_family(*addr, family_), now);
  peers_.hold(peer);
  arm_sweep(now);
  return peer;
}

void UdpTransport::release(coap::PeerId peer) {
  const Instant now = loop_.now();
  peers_.release(peer, now);
  arm_sweep(now);
}

std::string UdpTransport::describe(coap::PeerId peer) const {
  const SocketAddress* a = peers_.address_of(peer);
  return a == nullptr ? "?" : a->to_string();
}

std::vector<std::pair<std::string, std::uint64_t>> UdpTransport::counters() const {
  return {{"peers_forgotten", forgotten_}};
}

std::size_t UdpTransport::sweep_peers() {
  sweep_timer_ = 0;
  const Instant now = loop_.now();
  std::size_t forgotten = 0;
  // An established (D)TLS session is a peer that proved its address: its session's own
  // limits (SecureLayerConfig) decide when it goes. An observer must be kept to be notified
  // (RFC 7641 4.5's CON notifications end the observations of peers that are gone).
  const auto busy = [this](coap::PeerId peer) {
    return (secure_ != nullptr && secure_->has_session(peer)) || endpoint_.observed_by(peer);
  };
  for (coap::PeerId peer : peers_.sweep(now, busy, 4096)) {
    ++forgotten_;
    ++forgotten;
    loop_.guard("udp forget", [&] { port_.on_disconnected(peer, now); });
  }
  flush();
  arm_sweep(now);
  return forgotten;
}

void UdpTransport::arm_sweep(Instant now) {
  if (sweep_timer_ != 0) return;
  const auto next = peers_.next_sweep();
  if (!next) return;
  // At most once a second: a flood over the cap is swept after each batch instead.
  sweep_timer_ = loop_.schedule(std::max(*next, now + std::chrono::seconds(1)), [this] {
    sweep_futile_ = false;
    (void)sweep_peers();
  });
}

void UdpTransport::on_readable() {
  constexpr std::size_t kSlot = 65536;
  Batch& b = batch_;
  if (!b.slots) {  // made on first use, the headers pointing at their slots once
    b.slots = std::make_unique_for_overwrite<std::uint8_t[]>(kBatch * kSlot);
    b.from.resize(kBatch);
    b.iov.resize(kBatch);
    b.msgs.resize(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      b.iov[i] = {b.slots.get() + i * kSlot, kSlot};
      b.msgs[i].msg_hdr.msg_name = &b.from[i];
      b.msgs[i].msg_hdr.msg_iov = &b.iov[i];
      b.msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  {
    const FlagScope scope(in_batch_);
    // Bounded: at most 256 datagrams per readiness event, so timers and other sockets run.
    for (int round = 0; round < 8; ++round) {
      // The kernel writes each address's length (and msg_len, msg_flags) back.
      for (auto& m : b.msgs) m.msg_hdr.msg_namelen = sizeof(sockaddr_in6);
      const int got = ::recvmmsg(fd_, b.msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) break;
      const Instant now = loop_.now();
      for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
        const msghdr& h = b.msgs[i].msg_hdr;
        if ((h.msg_flags & MSG_TRUNC) != 0) continue;  // larger than any UDP payload
        const SocketAddress from(reinterpret_cast<const sockaddr*>(&b.from[i]), h.msg_namelen);
        if (from.family() == 0) continue;
        // One datagram's failure must not cost the rest of the batch, or its replies.
        loop_.guard("udp datagram", [&] {
          port_.receive(peers_.id_of(from, now),
                        ByteView(b.slots.get() + i * kSlot, b.msgs[i].msg_len), now);
        });
      }
      if (static_cast<std::size_t>(got) < kBatch) break;
    }
  }
  flush();
  // Spoofed sources beyond the cap are forgotten now (after their replies left), not at the
  // next tick.
  // A sweep that found only busy peers (DTLS sessions, observers) is not repeated per batch:
  // the timer tries again within a second.
  if (peers_.over_cap() && !sweep_futile_) {
    if (sweep_timer_ != 0) loop_.cancel(sweep_timer_);
    sweep_futile_ = sweep_peers() == 0;
  } else {
    arm_sweep(loop_.now());
  }
}

// The error queue (IP_RECVERR): each entry names the destination of the datagram that drew
// the ICMP error; the exchanges with that peer fail now rather than after ~93 s.
void UdpTransport::drain_errors() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage to{};
    char control[512];
    std::uint8_t data[64];
    iovec iov{data, sizeof(data)};
    msghdr msg{};
    msg.msg_name = &to;
    msg.msg_namelen = sizeof(to);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(fd_, &msg, MSG_ERRQUEUE) < 0) return;
    int error = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        sock_extended_err err{};
        std::memcpy(&err, CMSG_DATA(c), sizeof(err));
        error = static_cast<int>(err.ee_errno);
      }
    }
    const SocketAddress addr(reinterpret_cast<sockaddr*>(&to), msg.msg_namelen);
    const auto peer = peers_.find(addr);
    if (!peer || error == 0) continue;
    if (on_unreachable_) on_unreachable_(addr.to_string(), std::strerror(error));
    port_.on_disconnected(*peer, loop_.now());
  }
}

void UdpTransport::flush() {
  // Polling can call back into the engine (a DTLS peer that lost its session fails its
  // exchanges, whose handlers flush again): such a flush is left to this one's next round.
  if (in_batch_ || flushing_) {
    flush_wanted_ = true;
    return;
  }
  const FlagScope scope(flushing_);
  Batch& b = batch_;
  do {
    flush_wanted_ = false;
    while (auto t = port_.poll_transmit()) {
      b.out.push_back(std::move(*t));
      if (b.out.size() == kBatch) send_batch();
    }
    send_batch();
  } while (flush_wanted_);
  timer_.rearm();
}

void UdpTransport::send_batch() {
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  std::size_t count = 0;
  const Instant now = loop_.now();
  for (const coap::Transmit& t : batch_.out) {
    const SocketAddress* to = peers_.address_for_send(t.peer, now);
    if (t.kind != coap::Transmit::Kind::kData || to == nullptr) continue;
    iov[count] = {const_cast<std::uint8_t*>(t.bytes.data()), t.bytes.size()};
    msgs[count].msg_hdr.msg_name = const_cast<sockaddr*>(to->get());
    msgs[count].msg_hdr.msg_namelen = to->size();
    msgs[count].msg_hdr.msg_iov = &iov[count];
    msgs[count].msg_hdr.msg_iovlen = 1;
    ++count;
  }
  for (std::size_t sent = 0; sent < count;) {
    const int n = ::sendmmsg(fd_, msgs.data() + sent, static_cast<unsigned>(count - sent), 0);
    if (n < 0 && errno == EINTR) continue;
    // A datagram the kernel refuses (a full buffer) is dropped and CoAP's retransmission
    // covers it; the rest of the batch still goes.
    sent += n > 0 ? static_cast<std::size_t>(n) : 1;
  }
  batch_.out.clear();  // only now: the iovecs point into these bytes
}

std::size_t UdpTransport::discard_queued() {
  std::size_t dropped = 0;
  std::array<std::uint8_t, 2048> sink{};
  // Bounded: a socket buffer holds a few thousand datagrams at most.
  while (dropped < 1'000'000 && ::recv(fd_, sink.data(), sink.size(), MSG_DONTWAIT) >= 0) {
    ++dropped;
  }
  return dropped;
}

}  // namespace tether::transport
