#include "transport/tcp/tcp_transport.hpp"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tether::transport {

TcpTransport::TcpTransport(EventLoop& loop, coap::EndpointConfig config, Random& random,
                           TcpOptions options)
    : loop_(loop),
      endpoint_(with_carrier(std::move(config), coap::Carrier::kStream), random),
      secure_(make_secure_layer(options.secure, endpoint_, tls::Carriage::kStream)),
      port_(secure_ ? static_cast<coap::CarrierPort&>(*secure_) : endpoint_),
      timer_(loop, port_, [this] { flush(); }),
      options_(std::move(options)) {
  if (!options_.listen) return;
  auto bind_addr = SocketAddress::resolve(options_.bind_host, options_.port);
  if (!bind_addr) throw std::runtime_error(bind_addr.error().reason);
  if (options_.reuse_port && options_.first_of_group && options_.port != 0) {
    if (auto free = check_port_free(*bind_addr, SOCK_STREAM); !free) {
      throw std::runtime_error("bind/listen TCP: " + free.error().reason);
    }
  }
  listen_fd_ = ::socket(bind_addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (options_.reuse_port) setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind_addr->family() == AF_INET6) {
    int off = 0;
    setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (::bind(listen_fd_, bind_addr->get(), bind_addr->size()) != 0 ||
      ::listen(listen_fd_, 1024) != 0) {
    const int err = errno;
    ::close(listen_fd_);
    throw std::system_error(err, std::generic_category(),
                            "bind/listen TCP " + bind_addr->to_string());
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local), &len);
  local_port_ = SocketAddress(reinterpret_cast<sockaddr*>(&local), len).port();
  loop_.watch(listen_fd_, EPOLLIN, [this](std::uint32_t) { on_accept(); });
}

TcpTransport::~TcpTransport() {
  for (auto& [peer, c] : connections_) {
    loop_.unwatch(c.fd);
    ::close(c.fd);
  }
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
  }
}

coap::PeerId TcpTransport::adopt(int fd, const SocketAddress& address, bool connecting) {
  const coap::PeerId peer = next_peer_++;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  Connection& c = connections_[peer];
  c.fd = fd;
  c.address = address;
  c.connecting = connecting;
  loop_.watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP,
              [this, peer](std::uint32_t events) { on_event(peer, events); });
  port_.on_connected(peer, loop_.now());  // queues our CSM
  return peer;
}

void TcpTransport::on_accept() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    adopt(fd, SocketAddress(reinterpret_cast<sockaddr*>(&from), len), false);
  }
  flush();
}

Result<coap::PeerId> TcpTransport::peer_for(const std::string& host, std::uint16_t port) {
  auto addr = SocketAddress::resolve(host, port);
  if (!addr) return addr.error();
  for (auto& [peer, c] : connections_) {
    if (c.address == *addr && !c.closing) return peer;
  }
  const int fd = ::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, addr->get(), addr->size()) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return fail("connect " + addr->to_string() + ": " + std::strerror(err));
  }
  const coap::PeerId peer = adopt(fd, *addr, true);
  flush();
  return peer;
}

std::string TcpTransport::describe(coap::PeerId peer) const {
  auto it = connections_.find(peer);
  return it == connections_.end() ? "?" : it->second.address.to_string();
}

void TcpTransport::on_event(coap::PeerId peer, std::uint32_t events) {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (events & (EPOLLERR | EPOLLHUP)) {
    drop(peer, true);
    flush();
    return;
  }
  if (events & EPOLLOUT) {
    c.connecting = false;
    write_some(peer, c);
    if (connections_.count(peer) == 0) {
      flush();
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP)) {
    std::uint8_t buf[16384];
    // Bounded per event so one busy peer cannot starve the others.
    for (int i = 0; i < 16; ++i) {
      const ssize_t n = ::read(c.fd, buf, sizeof(buf));
      if (n > 0) {
        port_.receive(peer, ByteView(buf, static_cast<std::size_t>(n)), loop_.now());
        if (connections_.count(peer) == 0) break;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        drop(peer, true);
      }
      break;
    }
  }
  flush();
}

void TcpTransport::write_some(coap::PeerId peer, Connection& c) {
  while (!c.output.empty() && !c.connecting) {
    const ssize_t n = ::send(c.fd, c.output.data(), c.output.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.output.erase(c.output.begin(), c.output.begin() + n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    drop(peer, true);
    return;
  }
  if (c.output.empty() && c.closing) {
    drop(peer, false);
    return;
  }
  loop_.modify(
      c.fd, EPOLLIN | EPOLLRDHUP | (c.output.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT)));
}

void TcpTransport::drop(coap::PeerId peer, bool tell_endpoint) {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return;
  loop_.unwatch(it->second.fd);
  ::close(it->second.fd);
  connections_.erase(it);
  if (tell_endpoint) port_.on_disconnected(peer, loop_.now());
}

void TcpTransport::flush() {
  while (auto t = port_.poll_transmit()) {
    auto it = connections_.find(t->peer);
    if (it == connections_.end()) continue;
    Connection& c = it->second;
    if (t->kind == coap::Transmit::Kind::kClose) {
      c.closing = true;
    } else {
      c.output.insert(c.output.end(), t->bytes.begin(), t->bytes.end());
      if (c.output.size() > options_.max_output_buffer) {
        drop(t->peer, true);
        continue;
      }
    }
    write_some(t->peer, c);
  }
  timer_.rearm();
}

}  // namespace tether::transport
