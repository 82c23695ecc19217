#include "transport/http/http_client.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "transport/http/secure_stream.hpp"
#include "transport/socket_address.hpp"

namespace tether::transport {

namespace {
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kReadsPerEvent = 16;
constexpr std::size_t kMaxSealedBacklog = 64 * 1024;
// Origins without connections or queued requests are forgotten once there are this many.
constexpr std::size_t kOriginSweepAt = 1024;

bool is_ip_literal(const std::string& host) {
  in6_addr any{};
  return inet_pton(AF_INET, host.c_str(), &any) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &any) == 1;
}
}  // namespace

Result<HttpOrigin> parse_origin(std::string_view origin) {
  HttpOrigin out;
  std::string_view rest;
  if (origin.starts_with("https://")) {
    out.tls = true;
    rest = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    rest = origin.substr(7);
  } else {
    return fail("not an http:// or https:// origin");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return fail("an origin is scheme://host[:port]");
  }
  std::string_view port;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("a bad IPv6 literal");
    out.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return fail("junk after the IPv6 literal");
      port = rest.substr(close + 2);
    }
  } else {
    const auto colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty()) return fail("no host");
  if (!is_ip_literal(out.host) && out.host != "localhost") {
    return fail("an origin names an IP address or localhost (no DNS on the event loop)");
  }
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [at, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || at != port.data() + port.size() || value == 0 || value > 65535) {
      return fail("a bad port");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  const bool v6 = out.host.find(':') != std::string::npos;
  out.authority = (v6 ? "[" + out.host + "]" : out.host) + ":" + std::to_string(out.port);
  return out;
}

struct HttpClient::Pending {
  http::Request request;
  Done done;
  bool retried = false;
};

struct HttpClient::Origin {
  HttpOrigin where;
  tls::ClientCredentials credentials;
  std::deque<Pending> queue;
  std::vector<std::shared_ptr<Connection>> connections;
};

struct HttpClient::Connection {
  Connection(std::shared_ptr<Origin> o, const http::ClientLimits& limits)
      : origin(std::move(o)), http(limits, origin->where.authority) {}
  std::shared_ptr<Origin> origin;
  int fd = -1;
  http::ClientConnection http;
  SecureStream stream;
  bool connecting = true;
  bool closed = false;
  std::optional<Pending> job;
  bool sent = false;       // the job's request is handed to `http`
  bool answered = false;   // a response came on this connection before
  bool got_bytes = false;  // bytes of the job's response arrived
  Instant opened{};        // connect + handshake deadline runs from here
  std::optional<Instant> idle_since;
  EventLoop::TimerId timer = 0;
  std::uint32_t interest = 0;
  bool watched = false;
};

HttpClient::HttpClient(EventLoop& loop, HttpClientOptions options)
    : loop_(loop), options_(std::move(options)) {}

HttpClient::~HttpClient() {
  *alive_ = false;
  for (auto& [key, o] : origins_) {
    for (auto& c : std::vector<std::shared_ptr<Connection>>(o->connections)) close(c);
  }
}

std::size_t HttpClient::connection_count() const {
  std::size_t n = 0;
  for (const auto& [key, o] : origins_) n += o->connections.size();
  return n;
}

void HttpClient::close_all() {
  std::vector<Pending> failed;
  for (auto& [key, o] : origins_) {
    for (auto& c : std::vector<std::shared_ptr<Connection>>(o->connections)) {
      if (c->job) failed.push_back(std::move(*c->job));
      c->job.reset();
      close(c);
    }
    for (auto& p : o->queue) failed.push_back(std::move(p));
    o->queue.clear();
  }
  auto alive = alive_;
  for (auto& p : failed) {
    if (!*alive) return;
    p.done(fail("the HTTP client closed"));
  }
}

void HttpClient::request(const std::string& origin, http::Request request, Done done,
                         const tls::ClientCredentials* credentials) {
  auto refuse = [this, &done](const std::string& why) {
    // Answered on a loop turn of its own, like every other outcome.
    loop_.schedule(loop_.now(), [done = std::move(done), why, alive = alive_] {
      if (*alive) done(fail(why));
    });
  };
  auto where = parse_origin(origin);
  if (!where) return refuse(origin + ": " + where.error().reason);
  if (where->tls && options_.tls == nullptr) return refuse(origin + ": no TLS for https");
  if (origins_.size() >= kOriginSweepAt) {
    std::erase_if(origins_, [](const auto& entry) {
      return entry.second->connections.empty() && entry.second->queue.empty();
    });
  }
  const std::string key = (where->tls ? "https://" : "http://") + where->authority;
  auto& slot = origins_[key];
  if (!slot) {
    slot = std::make_shared<Origin>();
    slot->where = *where;
    slot->credentials.mode = tls::Mode::kCertificate;
    slot->credentials.pkix = true;
    slot->credentials.server_name = where->host;
  }
  const std::shared_ptr<Origin> target = slot;
  Origin& o = *target;
  if (credentials != nullptr) o.credentials = *credentials;
  if (o.queue.size() >= options_.max_queued_per_origin) {
    return refuse(origin + ": too many requests waiting");
  }
  o.queue.push_back(Pending{std::move(request), std::move(done)});
  assign(target);
}

void HttpClient::assign(const std::shared_ptr<Origin>& origin) {
  Origin& o = *origin;
  while (!o.queue.empty()) {
    std::shared_ptr<Connection> idle;
    for (auto& c : o.connections) {
      if (!c->closed && !c->job && !c->connecting && c->stream.ready() && c->http.ready()) {
        idle = c;
        break;
      }
    }
    if (idle) {
      idle->job = std::move(o.queue.front());
      o.queue.pop_front();
      idle->idle_since.reset();
      pump(idle);
      continue;
    }
    if (o.connections.size() >= options_.max_connections_per_origin) return;
    auto c = std::make_shared<Connection>(origin, options_.limits);
    c->job = std::move(o.queue.front());
    o.queue.pop_front();
    o.connections.push_back(c);
    start(o, c);
  }
}

void HttpClient::start(Origin& o, const std::shared_ptr<Connection>& c) {
  c->opened = loop_.now();
  // What fails at once is answered on a loop turn of its own, like every other outcome: no
  // caller hears of its request inside request(), and a queue of requests to a refusing
  // origin does not nest one failure in the next.
  auto fail_later = [this, &c](std::string why) {
    loop_.schedule(loop_.now(), [this, c, why = std::move(why), alive = alive_] {
      if (*alive) fail_connection(c, why);
    });
  };
  if (o.where.tls) {
    auto session = options_.tls->client_session(tls::Carriage::kStream, o.credentials, {});
    if (!session) return fail_later("TLS: " + session.error().reason);
    c->stream = SecureStream(std::move(*session));
  }
  auto address = SocketAddress::resolve(o.where.host, o.where.port);
  if (!address) return fail_later(address.error().reason);
  c->fd = ::socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return fail_later(std::string("socket: ") + std::strerror(errno));
  if (::connect(c->fd, address->get(), address->size()) != 0 && errno != EINPROGRESS) {
    return fail_later("connect " + o.where.authority + ": " + std::strerror(errno));
  }
  c->interest = EPOLLOUT;
  std::weak_ptr<Connection> weak = c;
  loop_.watch(c->fd, c->interest, [this, weak](std::uint32_t events) {
    if (auto conn = weak.lock()) on_io(conn, events);
  });
  c->watched = true;
  rearm(c);
}

void HttpClient::on_io(const std::shared_ptr<Connection>& c, std::uint32_t events) {
  if (c->closed) return;
  if (c->connecting) {
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      return fail_connection(c, "connect " + c->origin->where.authority + ": " +
                                    std::strerror(error != 0 ? error : ECONNREFUSED));
    }
    if ((events & EPOLLOUT) == 0) return;
    c->connecting = false;
    c->stream.start(loop_.now());
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    char buffer[kReadChunk];
    std::string plaintext;
    for (int i = 0; i < kReadsPerEvent; ++i) {
      const ssize_t n = ::recv(c->fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n > 0) {
        const bool was_ready = c->stream.ready();
        plaintext.clear();
        c->stream.from_socket(std::string_view(buffer, static_cast<std::size_t>(n)), loop_.now(),
                              plaintext);
        if (!plaintext.empty()) {
          c->got_bytes = true;
          c->http.receive(plaintext, loop_.now());
        }
        if (c->stream.failed()) {
          if (!was_ready) return fail_connection(c, "TLS: " + c->stream.failure());
          c->http.on_peer_closed(loop_.now());
          break;
        }
        continue;
      }
      if (n == 0) {
        c->http.on_peer_closed(loop_.now());
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      c->http.on_peer_closed(loop_.now());
      break;
    }
  }
  pump(c);
}

void HttpClient::pump(const std::shared_ptr<Connection>& c) {
  if (c->closed) return;
  const Instant now = loop_.now();
  if (c->job && !c->sent && !c->connecting && c->stream.ready() && c->http.ready()) {
    if (auto ok = c->http.send(c->job->request, now); ok) {
      c->sent = true;
      c->got_bytes = false;
    }
  }
  while (!c->connecting && c->stream.ready() && !c->http.output().empty() &&
         c->stream.wire().size() < kMaxSealedBacklog) {
    const std::size_t n = c->stream.to_socket(c->http.output());
    if (n == 0) break;
    c->http.consumed(n);
  }
  while (!c->connecting && !c->stream.wire().empty()) {
    const auto out = c->stream.wire();
    const ssize_t n = ::send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->stream.wrote(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c->http.on_peer_closed(now);
    break;
  }
  if (auto response = c->http.take_response()) {
    Pending job = std::move(*c->job);
    c->job.reset();
    c->sent = false;
    const std::shared_ptr<Origin> o = c->origin;
    // A kept-alive connection the server closed while it was idle: once more, afresh.
    if (!*response && c->answered && !c->got_bytes && !job.retried) {
      job.retried = true;
      o->queue.push_front(std::move(job));
      close(c);
      assign(o);
      return;
    }
    c->answered = true;
    if (c->http.closed()) {
      close(c);
    } else {
      c->idle_since = now;
    }
    auto alive = alive_;
    job.done(std::move(*response));
    if (!*alive) return;
    assign(o);
    if (c->closed) return;
  }
  if (c->http.closed() && !c->job) return close(c);
  rearm(c);
}

void HttpClient::rearm(const std::shared_ptr<Connection>& c) {
  if (c->closed) return;
  std::uint32_t interest = 0;
  if (c->connecting || !c->stream.wire().empty() ||
      (c->stream.ready() && !c->http.output().empty())) {
    interest |= EPOLLOUT;
  }
  if (!c->connecting) interest |= EPOLLIN | EPOLLRDHUP;
  if (interest != c->interest) {
    c->interest = interest;
    loop_.modify(c->fd, interest);
  }
  std::optional<Instant> due;
  auto consider = [&due](std::optional<Instant> t) {
    if (t && (!due || *t < *due)) due = t;
  };
  const bool opening = c->connecting || !c->stream.ready();
  if (opening) consider(c->opened + options_.connect_timeout);
  consider(c->stream.deadline());
  consider(c->http.next_deadline());
  if (!c->job && c->idle_since) consider(*c->idle_since + options_.idle_timeout);
  if (c->timer != 0) loop_.cancel(c->timer);
  c->timer = 0;
  if (!due) return;
  std::weak_ptr<Connection> weak = c;
  c->timer = loop_.schedule(*due, [this, weak] {
    auto conn = weak.lock();
    if (!conn || conn->closed) return;
    conn->timer = 0;
    const Instant now = loop_.now();
    if ((conn->connecting || !conn->stream.ready()) &&
        now >= conn->opened + options_.connect_timeout) {
      return fail_connection(conn, "no connection to " + conn->origin->where.authority +
                                       " within " +
                                       std::to_string(options_.connect_timeout.count()) + " ms");
    }
    conn->stream.on_timer(now);
    if (conn->stream.failed() && !conn->stream.identity()) {
      return fail_connection(conn, "TLS: " + conn->stream.failure());
    }
    conn->http.on_timer(now);
    if (!conn->job && conn->idle_since && now >= *conn->idle_since + options_.idle_timeout) {
      return close(conn);
    }
    pump(conn);
  });
}

void HttpClient::fail_connection(const std::shared_ptr<Connection>& c, const std::string& why) {
  std::optional<Pending> job = std::move(c->job);
  c->job.reset();
  const std::shared_ptr<Origin> o = c->origin;
  close(c);
  auto alive = alive_;
  if (job) job->done(fail(why));
  if (*alive) assign(o);
}

void HttpClient::close(const std::shared_ptr<Connection>& c) {
  if (c->closed) return;
  c->closed = true;
  if (c->timer != 0) loop_.cancel(c->timer);
  c->timer = 0;
  if (c->fd >= 0) {
    if (c->watched) loop_.unwatch(c->fd);
    ::close(c->fd);
    c->fd = -1;
  }
  auto& list = c->origin->connections;
  list.erase(std::remove(list.begin(), list.end(), c), list.end());
}

}  // namespace tether::transport
