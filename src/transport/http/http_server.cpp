#include "transport/http/http_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "transport/http/secure_stream.hpp"
#include "transport/socket_address.hpp"

namespace tether::transport {

struct HttpServer::Connection {
  Connection(HttpServer& s, std::uint64_t i, int f, const http::ConnectionLimits& limits,
             Instant now)
      : server(s), id(i), fd(f), http(limits, now) {}
  HttpServer& server;
  std::uint64_t id;
  int fd;
  http::ServerConnection http;
  SecureStream stream;
  std::string address;
  EventLoop::TimerId timer = 0;
  EventLoop::TimerId dispatch_timer = 0;  // a ready request waiting for a loop turn
  std::uint32_t interest = 0;
  bool pumping = false;
  bool again = false;
  bool broken = false;  // a socket error: close without a word
  bool closed = false;
  bool draining = false;
  std::size_t drained = 0;
};

namespace {
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kReadsPerEvent = 16;  // then other connections get their turn
// After an error answer: how long and how much to read and drop before closing.
constexpr Duration kDrainTime{2'000};
constexpr std::size_t kDrainBytes = 256 * 1024;
// HTTPS: plaintext is sealed into records only while less than this waits for the socket,
// so the connection's output bounds still hold.
constexpr std::size_t kMaxSealedBacklog = 64 * 1024;
}  // namespace

// --- handles ----------------------------------------------------------------------

HttpServer::Responder HttpServer::Responder::to(std::function<void(http::Response)> sink) {
  Responder r({}, 0);
  r.sink_ = std::make_shared<Sink>(std::move(sink));
  return r;
}

void HttpServer::Responder::respond(http::Response response) const {
  if (sink_) {
    if (!*sink_) return;
    auto sink = std::move(*sink_);
    *sink_ = nullptr;
    sink(std::move(response));
    return;
  }
  auto c = connection_.lock();
  if (!c || c->closed) return;
  c->http.respond(request_, std::move(response), c->server.loop_.now());
  c->server.pump(c, false);
}

HttpServer::Stream HttpServer::Responder::stream(http::Response head) const {
  auto c = connection_.lock();
  if (!c || c->closed) return Stream{};
  if (!c->http.start_stream(request_, std::move(head), c->server.loop_.now())) return Stream{};
  c->server.pump(c, false);
  return Stream(connection_, request_);
}

HttpPeer HttpServer::Responder::peer() const {
  HttpPeer out;
  auto c = connection_.lock();
  if (!c || c->closed) return out;
  out.address = c->address;
  out.secure = c->stream.secure();
  if (const auto* identity = c->stream.identity()) out.identity = *identity;
  return out;
}

bool HttpServer::Stream::write(std::string_view data) const {
  auto c = connection_.lock();
  if (!c || c->closed) return false;
  const bool ok = c->http.write_stream(request_, data, c->server.loop_.now());
  c->server.pump(c, false);
  return ok && !c->closed;
}

void HttpServer::Stream::end() const {
  auto c = connection_.lock();
  if (!c || c->closed) return;
  c->http.end_stream(request_, c->server.loop_.now());
  c->server.pump(c, false);
}

bool HttpServer::Stream::alive() const {
  auto c = connection_.lock();
  return c && !c->closed && c->http.streaming(request_);
}

// --- the server ----------------------------------------------------------------------

HttpServer::HttpServer(EventLoop& loop, HttpServerOptions options, Handler handler)
    : loop_(loop), options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  stop();
}

Result<Ok> HttpServer::start() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  auto address = SocketAddress::resolve(options_.host, options_.port);
  if (!address) return fail("cannot listen for HTTP on " + where + ": " + address.error().reason);
  listen_fd_ = ::socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return fail("cannot listen for HTTP on " + where + ": " + strerror(errno));
  // SO_REUSEADDR only: a restart may bind over TIME_WAIT, but a second server on the same
  // port fails here instead of splitting the calls with the first.
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address->family() == AF_INET6) {
    int off = 0;
    setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (::bind(listen_fd_, address->get(), address->size()) != 0 || ::listen(listen_fd_, 512) != 0) {
    const int err = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    return fail("cannot listen for HTTP on " + where + ": " + strerror(err));
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local), &len);
  port_ = SocketAddress(reinterpret_cast<sockaddr*>(&local), len).port();
  loop_.watch(listen_fd_, EPOLLIN, [this](std::uint32_t) { on_accept(); });
  return Ok{};
}

void HttpServer::stop() {
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (auto& [id, c] : connections_) all.push_back(c);
  for (auto& c : all) close(*c);
  if (resume_accepting_ != 0) loop_.cancel(resume_accepting_);
  resume_accepting_ = 0;
  if (listen_fd_ >= 0) {
    loop_.unwatch(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void HttpServer::on_accept() {
  for (;;) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &from_len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener stays readable, so stop watching it for a moment
        // instead of spinning on it.
        loop_.modify(listen_fd_, 0);
        resume_accepting_ = loop_.schedule(loop_.now() + Duration{250}, [this] {
          resume_accepting_ = 0;
          if (listen_fd_ >= 0) loop_.modify(listen_fd_, EPOLLIN);
        });
      }
      return;  // EAGAIN: the next readiness tries again
    }
    if (connections_.size() >= options_.max_connections) {
      ++metrics_.refused_busy;
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
          "Content-Length: 27\r\nConnection: close\r\n\r\ntoo many connections; retry\n";
      [[maybe_unused]] const auto n =
          ::send(fd, kBusy, sizeof(kBusy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    ++metrics_.accepted;
    const std::uint64_t id = next_id_++;
    auto c = std::make_shared<Connection>(*this, id, fd, options_.limits, loop_.now());
    c->address = SocketAddress(reinterpret_cast<sockaddr*>(&from), from_len).to_string();
    if (options_.tls != nullptr) {
      auto session = options_.tls->server_stream_session();
      if (!session) {
        ::close(fd);
        continue;
      }
      c->stream = SecureStream(std::move(*session));
    }
    c->interest = EPOLLIN | EPOLLRDHUP;
    std::weak_ptr<Connection> weak = c;
    try {
      loop_.watch(fd, c->interest, [this, weak](std::uint32_t events) {
        if (auto conn = weak.lock()) on_io(conn, events);
      });
    } catch (...) {
      ::close(fd);
      throw;  // the loop's guard reports it
    }
    connections_[id] = c;
    pump(c);  // arms the idle timer
  }
}

void HttpServer::on_io(const std::shared_ptr<Connection>& c, std::uint32_t events) {
  if ((events & EPOLLERR) != 0) c->broken = true;
  if (c->draining) {
    if (c->broken) return close(*c);
    return drain(*c);
  }
  if (!c->broken && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) read_from(*c);
  pump(c);
}

void HttpServer::read_from(Connection& c) {
  char buffer[kReadChunk];
  std::string plaintext;
  for (int i = 0; i < kReadsPerEvent && (c.http.wants_input() || !c.stream.ready()); ++i) {
    const ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0 && c.stream.secure()) {
      const bool was_ready = c.stream.ready();
      plaintext.clear();
      c.stream.from_socket(std::string_view(buffer, static_cast<std::size_t>(n)), loop_.now(),
                           plaintext);
      if (!plaintext.empty()) c.http.receive(plaintext, loop_.now());
      if (c.stream.failed()) {
        // A session the peer closed is the end of its input; a handshake that failed ends
        // the connection (its alert goes out if the socket takes it).
        if (was_ready) {
          c.http.on_peer_closed(loop_.now());
        } else {
          write_to(c);
          c.broken = true;
        }
        return;
      }
      continue;
    }
    if (n > 0) {
      c.http.receive(std::string_view(buffer, static_cast<std::size_t>(n)), loop_.now());
      continue;
    }
    if (n == 0) {
      c.http.on_peer_closed(loop_.now());
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) c.broken = true;
    return;
  }
}

void HttpServer::write_to(Connection& c) {
  if (c.stream.secure()) {
    for (;;) {
      while (c.stream.ready() && !c.http.output().empty() &&
             c.stream.wire().size() < kMaxSealedBacklog) {
        const std::size_t n = c.stream.to_socket(c.http.output());
        if (n == 0) break;
        c.http.consumed(n, loop_.now());
      }
      const auto out = c.stream.wire();
      if (c.broken || out.empty()) return;
      const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.stream.wrote(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.broken = true;
    }
  }
  while (!c.broken && !c.http.output().empty()) {
    const auto out = c.http.output();
    const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.http.consumed(static_cast<std::size_t>(n), loop_.now());
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    c.broken = true;
  }
}

void HttpServer::dispatch(const std::shared_ptr<Connection>& c, http::Request request) {
  ++metrics_.requests;
  const Responder responder(c, c->http.current_request());
  std::string problem;
  try {
    handler_(request, responder);
    return;
  } catch (const std::exception& e) {
    problem = e.what();
  } catch (...) {
    problem = "unknown exception";
  }
  // Nothing a handler does may take the loop down: the caller gets a 500 (unless it was
  // answered already), the operator a line.
  ++metrics_.handler_errors;
  if (on_error_) {
    try {
      on_error_(request.method + " " + request.path + ": " + problem);
    } catch (...) {
    }
  }
  responder.respond(http::Response::text(500, "internal error\n"));
}

void HttpServer::pump(const std::shared_ptr<Connection>& c, bool may_dispatch) {
  if (c->closed) return;
  if (c->pumping) {
    c->again = true;  // the outer pump picks it up
    return;
  }
  c->pumping = true;
  try {
    pump_once(c, may_dispatch);
  } catch (...) {
    // Whatever went wrong (out of memory, the loop refusing a timer), this connection is
    // not left half-handled: it is closed, and the loop's guard reports the rest.
    c->pumping = false;
    close(*c);
    throw;
  }
  c->pumping = false;
  if (c->closed) return;
  if (c->broken) return close(*c);
  if (c->http.finished()) {
    if (c->http.linger()) return start_draining(c);
    return close(*c);
  }
  rearm(c);
}

void HttpServer::pump_once(const std::shared_ptr<Connection>& c, bool may_dispatch) {
  do {
    c->again = false;
    write_to(*c);
    while (may_dispatch && !c->closed && !c->broken) {
      auto request = c->http.take_request();
      if (!request) break;
      dispatch(c, std::move(*request));
    }
    write_to(*c);
  } while (c->again && !c->closed && !c->broken);
}

void HttpServer::rearm(const std::shared_ptr<Connection>& c) {
  std::uint32_t interest = 0;
  if (c->http.wants_input() || !c->stream.ready()) interest |= EPOLLIN | EPOLLRDHUP;
  if (!c->http.output().empty() || !c->stream.wire().empty()) interest |= EPOLLOUT;
  if (interest != c->interest) {
    c->interest = interest;
    loop_.modify(c->fd, interest);
  }
  std::weak_ptr<Connection> weak = c;
  // A request that became ready outside the loop's own callbacks is handled on a turn of
  // its own.
  if (c->http.has_request() && c->dispatch_timer == 0) {
    c->dispatch_timer = loop_.schedule(loop_.now(), [this, weak] {
      auto conn = weak.lock();
      if (!conn) return;
      conn->dispatch_timer = 0;
      pump(conn);
    });
  }
  if (c->timer != 0) loop_.cancel(c->timer);
  c->timer = 0;
  auto due = c->http.next_deadline();
  if (auto handshake = c->stream.deadline(); handshake && (!due || *handshake < *due)) {
    due = handshake;
  }
  if (due) {
    c->timer = loop_.schedule(*due, [this, weak] {
      auto conn = weak.lock();
      if (!conn) return;
      conn->timer = 0;
      conn->stream.on_timer(loop_.now());
      if (conn->stream.failed()) conn->broken = true;
      conn->http.on_timer(loop_.now());
      pump(conn);
    });
  }
}

void HttpServer::start_draining(const std::shared_ptr<Connection>& c) {
  c->draining = true;
  ::shutdown(c->fd, SHUT_WR);
  if (c->timer != 0) loop_.cancel(c->timer);
  if (c->dispatch_timer != 0) loop_.cancel(c->dispatch_timer);
  c->dispatch_timer = 0;
  c->interest = EPOLLIN | EPOLLRDHUP;
  loop_.modify(c->fd, c->interest);
  std::weak_ptr<Connection> weak = c;
  c->timer = loop_.schedule(loop_.now() + kDrainTime, [this, weak] {
    auto conn = weak.lock();
    if (!conn) return;
    conn->timer = 0;
    close(*conn);
  });
}

void HttpServer::drain(Connection& c) {
  char buffer[kReadChunk];
  for (int i = 0; i < kReadsPerEvent; ++i) {
    const ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      c.drained += static_cast<std::size_t>(n);
      if (c.drained >= kDrainBytes) return close(c);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    return close(c);  // the peer finished (or failed): done
  }
}

void HttpServer::close(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  if (c.timer != 0) loop_.cancel(c.timer);
  c.timer = 0;
  if (c.dispatch_timer != 0) loop_.cancel(c.dispatch_timer);
  c.dispatch_timer = 0;
  loop_.unwatch(c.fd);
  ::close(c.fd);
  connections_.erase(c.id);  // callers hold their own reference
}

}  // namespace tether::transport
