// `tether bench register`: a load generator for the Registration interface of any LwM2M
// server over CoAP/UDP. N simulated clients, each with its own source address, register
// and then update; it reports rates, latency percentiles and errors, and with --pid the
// server's resident memory per registration. With --psk each client talks DTLS (PSK,
// AES-128-CCM-8) through a GnuTLS session of its own, compacted as the server's are.
//
// Lean on purpose: it writes CoAP with our codec straight onto raw sockets (no exchange
// layer), so one core of load drives more than one core of server. Distinct client
// addresses come from S sockets times several loopback source IPs (IP_PKTINFO), which
// keeps the file descriptor count low for 100,000 clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cli_options.hpp"
#include "coap/udp_codec.hpp"
#include "commands.hpp"
#include "oscore/protection.hpp"
#include "resident_memory.hpp"
#include "tls/gnutls/gnutls_backend.hpp"

namespace tether::app {

namespace {
using Clock = std::chrono::steady_clock;
using coap::Message;
namespace codes = coap::codes;

constexpr const char* kObjects =
    "</>;rt=\"oma.lwm2m\";ct=\"60 110 112 11542 11544\",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,"
    "</3303/0>,</3303/1>,</3311/0>";

struct Client {
  std::string location;
  std::uint16_t mid = 0;
  // With --oscore: the client's context (Sender ID c+1 in 4 bytes, Recipient ID empty) and
  // the Echo value the server asked for (RFC 8613 B.1.2).
  std::unique_ptr<oscore::SecurityContext> oscore;
  Bytes echo;
  // With --psk: the client's DTLS session, and the requests waiting for its handshake.
  std::unique_ptr<tls::Session> dtls;
  std::vector<std::uint64_t> waiting;
};

// Client c's own Master Secret under --oscore (or PSK under --psk): the given one, its last
// 4 bytes XORed with c + 1 (endpoints never share a secret: each could pose as the other).
Bytes secret_of(Bytes secret, std::size_t c) {
  const auto n = static_cast<std::uint32_t>(c + 1);
  for (std::size_t i = 0; i < 4 && i < secret.size(); ++i) {
    secret[secret.size() - 1 - i] ^= static_cast<std::uint8_t>(n >> (8 * i));
  }
  return secret;
}

// What the server needs on file for client c under --oscore (its Sender ID, in hex).
std::string oscore_sender_hex(std::size_t c) {
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08zx", c + 1);
  return hex;
}

enum class Step { kRegister, kUpdate, kDeregister };

const char* step_name(Step s) {
  return s == Step::kRegister ? "register" : s == Step::kUpdate ? "update" : "deregister";
}

struct Pending {
  std::size_t client = 0;
  Clock::time_point sent;       // first transmission: latency counts from here
  Clock::time_point last_sent;  // for the retransmission back-off
  int attempts = 1;
  Step step = Step::kUpdate;
  Bytes datagram;
  oscore::RequestBinding binding;  // --oscore
};

class Load {
 public:
  // Clients are numbered from `first` (bench-first, ...): several processes split a fleet.
  Load(sockaddr_in server, std::size_t first, std::size_t clients, std::size_t sockets,
       std::uint32_t lifetime, Bytes oscore_secret, Bytes psk = {})
      : server_(server),
        first_(first),
        clients_(clients),
        lifetime_(lifetime),
        secret_(std::move(oscore_secret)),
        psk_(std::move(psk)) {
    if (!psk_.empty()) tls_ = std::make_unique<tls::GnutlsBackend>();
    // RFC 7252 4.4: Message IDs start at random. A run right after another may get the same
    // source ports, and the server would take the same IDs for duplicates of the last run's.
    std::mt19937 random(std::random_device{}());
    for (auto& c : clients_) c.mid = static_cast<std::uint16_t>(random());
    epoll_ = epoll_create1(0);
    for (std::size_t i = 0; i < sockets; ++i) {
      const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
      int big = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
      // DTLS answers are told apart by the client address they came to.
      const int on = 1;
      if (!psk_.empty()) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
      sockaddr_in any{};
      any.sin_family = AF_INET;
      any.sin_addr.s_addr = htonl(INADDR_ANY);
      if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
        throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
      fds_.push_back(fd);
    }
  }
  ~Load() {
    for (int fd : fds_) close(fd);
    close(epoll_);
  }

  struct Phase {
    std::size_t ok = 0, errors = 0, timeouts = 0, retransmissions = 0;
    double seconds = 0;
    std::vector<double> latencies_ms;
  };

  // Sends `total` requests, keeping `window` in flight; op(i) picks the client of the i-th.
  // Progress goes to stderr once a second, so a long run shows it is moving.
  Phase run(std::size_t total, std::size_t window, Step step) {
    Phase phase;
    phase.latencies_ms.reserve(total);
    const auto start = Clock::now();
    auto last_progress = start;
    std::size_t next = 0;
    std::size_t done = 0;
    const std::size_t retransmitted_before = retransmissions_;
    while (done < total) {
      while (next < total && pending_.size() < window) {
        const std::size_t c = next % clients_.size();
        ++next;
        // De-register only those that registered (a location to delete).
        if (step == Step::kDeregister && clients_[c].location.empty()) {
          ++done;
          continue;
        }
        send(c, step);
      }
      receive(phase, done);
      expire(phase, done);
      const auto now = Clock::now();
      if (now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        const double elapsed = std::chrono::duration<double>(now - start).count();
        std::fprintf(stderr, "%s: %zu/%zu answered, %.0f/s, %zu errors, %zu timeouts\n",
                     step_name(step), done, total, static_cast<double>(done) / elapsed,
                     phase.errors, phase.timeouts);
      }
    }
    phase.retransmissions = retransmissions_ - retransmitted_before;
    // Up to the last answer: the final timeouts do not stretch the rate.
    phase.seconds = std::chrono::duration<double>(std::max(last_answer_, start) - start).count();
    return phase;
  }

 private:
  void send(std::size_t c, Step step) {
    Client& client = clients_[c];
    Message m;
    m.type = coap::Type::kConfirmable;
    m.code = step == Step::kDeregister ? codes::kDelete : codes::kPost;
    m.message_id = ++client.mid;
    const std::uint64_t token = next_token_++;
    m.token.resize(8);
    std::memcpy(m.token.data(), &token, 8);
    if (step == Step::kRegister || client.location.empty()) {
      m.set_path("/rd");
      m.add_query("ep=bench-" + std::to_string(first_ + c));
      m.add_query("lt=" + std::to_string(lifetime_));
      m.add_query("lwm2m=1.1");
      m.add_query("b=U");
      m.set_content_format(coap::content_format::kLinkFormat);
      m.payload = to_bytes(kObjects);
      step = Step::kRegister;
    } else {
      m.set_path(client.location);
    }
    Pending p;
    p.client = c;
    p.sent = p.last_sent = Clock::now();
    p.step = step;
    if (!secret_.empty()) {
      // Each client protects its own requests (RFC 8613 8.1): part of the load's cost too.
      if (!client.oscore) {
        oscore::ContextInput in;
        in.master_secret = secret_of(secret_, first_ + c);
        in.sender_id = *from_hex(oscore_sender_hex(first_ + c));
        client.oscore =
            std::make_unique<oscore::SecurityContext>(*oscore::SecurityContext::derive(in));
      }
      if (!client.echo.empty()) m.options.set(coap::option::kEcho, std::move(client.echo));
      client.echo.clear();
      auto protected_request = oscore::protect_request(*client.oscore, m);
      if (!protected_request) throw std::runtime_error(protected_request.error().reason);
      m = std::move(protected_request->message);
      p.binding = protected_request->binding;
    }
    coap::encode_udp(m, p.datagram);
    pending_[token] = std::move(p);
    transmit(pending_[token], token);
  }

  // Like a CoAP client (RFC 7252 4.2): the same CON again after 2, 4, 8 s, then give up.
  void transmit(const Pending& p, std::uint64_t token) {
    if (psk_.empty()) {
      send_datagram(p.client, p.datagram);
      return;
    }
    Client& client = clients_[p.client];
    if (client.dtls && client.dtls->state() == tls::Session::State::kEstablished) {
      (void)client.dtls->write(p.datagram);
      flush(p.client);
      return;
    }
    client.waiting.push_back(token);
    if (client.dtls && client.dtls->state() == tls::Session::State::kHandshaking) return;
    tls::ClientCredentials credentials;
    credentials.mode = tls::Mode::kPsk;
    credentials.psk_identity = to_bytes("bench-" + std::to_string(first_ + p.client));
    credentials.psk_key = secret_of(psk_, first_ + p.client);
    auto session = tls_->client_session(tls::Carriage::kDatagram, credentials, {});
    if (!session) throw std::runtime_error(session.error().reason);
    client.dtls = std::move(*session);
    client.dtls->start(steady_now());
    handshaking_.insert(p.client);
    flush(p.client);
  }

  // The records client c's session has for the server.
  void flush(std::size_t c) {
    while (auto d = clients_[c].dtls->poll_output()) send_datagram(c, *d);
  }

  // What came for client c over DTLS: handshake, then the answers inside.
  void receive_secure(std::size_t c, ByteView datagram, Phase& phase, std::size_t& done) {
    Client& client = clients_[c];
    if (!client.dtls) return;
    client.dtls->feed(datagram, steady_now());
    flush(c);
    progress_handshake(c);
    if (!client.dtls) return;
    if (auto lean = client.dtls->compact()) client.dtls = std::move(lean);
    while (auto plaintext = client.dtls->poll_plaintext()) handle(*plaintext, phase, done);
  }

  // A handshake that ended: the requests waiting for it go, or wait for the next attempt.
  void progress_handshake(std::size_t c) {
    Client& client = clients_[c];
    const auto state = client.dtls->state();
    if (state == tls::Session::State::kHandshaking) return;
    const bool was_handshaking = handshaking_.erase(c) != 0;
    if (state != tls::Session::State::kEstablished) {
      std::fprintf(stderr, "client %zu: DTLS %s\n", c, client.dtls->failure().reason.c_str());
      client.dtls.reset();  // a retransmission starts again
      client.waiting.clear();
      return;
    }
    if (!was_handshaking) return;
    auto waiting = std::move(client.waiting);
    client.waiting.clear();
    for (const auto token : waiting) {
      if (auto it = pending_.find(token); it != pending_.end()) {
        (void)client.dtls->write(it->second.datagram);
      }
    }
    flush(c);
  }

  void send_datagram(std::size_t c, ByteView datagram) {
    const int fd = fds_[c % fds_.size()];
    sockaddr_in dst = server_;
    // Client c speaks from 127.0.x.y, x.y = c / sockets + 1: its own address and port.
    const std::uint32_t ip_index = static_cast<std::uint32_t>(c / fds_.size()) + 1;
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = htonl(0x7f000000u | ip_index);
    char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
    iovec iov{const_cast<std::uint8_t*>(datagram.data()), datagram.size()};
    msghdr msg{};
    msg.msg_name = &dst;
    msg.msg_namelen = sizeof(dst);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    std::memcpy(CMSG_DATA(cm), &info, sizeof(info));
    sendmsg(fd, &msg, 0);
  }

  void receive(Phase& phase, std::size_t& done) {
    epoll_event events[64];
    const int n = epoll_wait(epoll_, events, 64, 1);
    std::uint8_t buf[2048];
    for (int i = 0; i < n; ++i) {
      const std::size_t socket = events[i].data.u64;
      const int fd = fds_[socket];
      for (;;) {
        iovec iov{buf, sizeof(buf)};
        char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t got = recvmsg(fd, &msg, 0);
        if (got <= 0) break;
        const ByteView datagram(buf, static_cast<std::size_t>(got));
        if (psk_.empty()) {
          handle(datagram, phase, done);
          continue;
        }
        // The client is the address the answer came to: 127.0.x.y on socket s.
        const cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        if (cm == nullptr || cm->cmsg_type != IP_PKTINFO) continue;
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(cm), sizeof(info));
        const std::size_t ip_index = ntohl(info.ipi_addr.s_addr) & 0x00ffffffu;
        const std::size_t c = (ip_index - 1) * fds_.size() + socket;
        if (ip_index == 0 || c >= clients_.size()) continue;
        receive_secure(c, datagram, phase, done);
      }
    }
  }

  // One CoAP answer (decrypted, under --psk).
  void handle(ByteView datagram, Phase& phase, std::size_t& done) {
    auto m = coap::decode_udp(datagram);
    if (!m || m->token.size() != 8) {
      std::fprintf(stderr, "undecodable %zu bytes: %s\n", datagram.size(),
                   m ? "token" : m.error().reason.c_str());
      return;
    }
    std::uint64_t token = 0;
    std::memcpy(&token, m->token.data(), 8);
    auto it = pending_.find(token);
    if (it == pending_.end()) {
      std::fprintf(stderr, "unknown token %s\n", m->summary().c_str());
      return;
    }
    const Pending p = std::move(it->second);
    pending_.erase(it);
    if (!secret_.empty()) {
      Client& client = clients_[p.client];
      auto inner = oscore::unprotect_response(*client.oscore, p.binding, *m);
      if (inner && inner->code == codes::kUnauthorized) {
        // RFC 8613 B.1.2: the server's first contact asks for an Echo; ask again with it.
        if (const auto* echo = inner->options.find(coap::option::kEcho)) {
          client.echo = echo->value.bytes();
          send(p.client, p.step);
          return;
        }
      }
      if (inner) m = std::move(*inner);
    }
    last_answer_ = Clock::now();
    phase.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - p.sent).count());
    const bool ok = p.step == Step::kRegister     ? m->code == codes::kCreated
                    : p.step == Step::kDeregister ? m->code == codes::kDeleted
                                                  : m->code == codes::kChanged;
    if (ok) {
      ++phase.ok;
      if (p.step == Step::kRegister) {
        // Appended, not "/" + ...: GCC 12 at -O3 warns (-Wrestrict) on that concatenation.
        std::string& location = clients_[p.client].location;
        location.assign(1, '/');
        location += m->location_path();
      }
      if (p.step == Step::kDeregister) clients_[p.client].location.clear();
    } else {
      ++phase.errors;
    }
    ++done;
  }

  void expire(Phase& phase, std::size_t& done) {
    if (pending_.empty()) return;
    const auto now = Clock::now();
    if (now - last_sweep_ < std::chrono::milliseconds(200)) return;
    last_sweep_ = now;
    // DTLS flights lost on the way are sent again when their session says so.
    const auto instant = steady_now();
    for (const std::size_t c : std::vector<std::size_t>(handshaking_.begin(), handshaking_.end())) {
      auto& session = *clients_[c].dtls;
      if (auto due = session.deadline(); due && *due <= instant) {
        session.on_timer(instant);
        flush(c);
        progress_handshake(c);
      }
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      if (now - p.last_sent > std::chrono::seconds(1 << p.attempts) && p.attempts < 4) {
        ++p.attempts;
        ++retransmissions_;
        p.last_sent = now;
        transmit(p, it->first);
        ++it;
        continue;
      }
      if (p.attempts >= 4 && now - p.last_sent > std::chrono::seconds(16)) {
        std::fprintf(stderr, "timeout client %zu\n", it->second.client);
        ++phase.timeouts;
        ++done;
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  sockaddr_in server_;
  std::size_t first_;
  std::vector<Client> clients_;
  std::uint32_t lifetime_;
  Bytes secret_;
  Bytes psk_;
  std::unique_ptr<tls::GnutlsBackend> tls_;
  std::unordered_set<std::size_t> handshaking_;
  int epoll_ = -1;
  std::vector<int> fds_;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::uint64_t next_token_ = 1;
  Clock::time_point last_sweep_{};
  Clock::time_point last_answer_{};

 public:
  std::size_t retransmissions_ = 0;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void report(const char* name, Load::Phase& p) {
  std::printf(
      "%-9s %8zu ok %5zu errors %5zu timeouts %5zu retransmitted in %6.2f s: %9.0f /s  "
      "latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
      name, p.ok, p.errors, p.timeouts, p.retransmissions, p.seconds,
      static_cast<double>(p.ok) / p.seconds, percentile(p.latencies_ms, 0.5),
      percentile(p.latencies_ms, 0.9), percentile(p.latencies_ms, 0.99),
      percentile(p.latencies_ms, 1.0));
}
}  // namespace

// --processes: a forked generator, and the socket its phases come back on.
struct Generator {
  pid_t pid;
  int fd;
};

bool write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    // A generator that died must not end the parent with SIGPIPE: the send fails instead.
    const ssize_t put = ::send(fd, p, n, MSG_NOSIGNAL);
    if (put <= 0) return false;
    p += put;
    n -= static_cast<std::size_t>(put);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t got = ::read(fd, p, n);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

// A phase's counts, its duration and every latency, in this machine's byte order (parent
// and children are one binary).
bool send_phase(int fd, const Load::Phase& p) {
  const std::uint64_t head[5] = {p.ok, p.errors, p.timeouts, p.retransmissions,
                                 p.latencies_ms.size()};
  return write_all(fd, head, sizeof(head)) && write_all(fd, &p.seconds, sizeof(p.seconds)) &&
         write_all(fd, p.latencies_ms.data(), p.latencies_ms.size() * sizeof(double));
}

std::optional<Load::Phase> receive_phase(int fd) {
  std::uint64_t head[5];
  Load::Phase p;
  if (!read_all(fd, head, sizeof(head)) || !read_all(fd, &p.seconds, sizeof(p.seconds))) {
    return std::nullopt;
  }
  if (head[4] > 1'000'000'000) return std::nullopt;
  p.ok = head[0];
  p.errors = head[1];
  p.timeouts = head[2];
  p.retransmissions = head[3];
  p.latencies_ms.resize(head[4]);
  if (!read_all(fd, p.latencies_ms.data(), p.latencies_ms.size() * sizeof(double))) {
    return std::nullopt;
  }
  return p;
}

// Runs each phase through `run` and reports it, with the server's memory and CPU (--pid).
int measure_phases(const std::vector<Step>& steps, int pid,
                   const std::function<Load::Phase(Step)>& run) {
  int status = 0;
  for (const Step step : steps) {
    const long rss_before = pid != 0 ? rss_kib(pid) : -1;
    const double cpu_before = pid != 0 ? cpu_seconds(pid) : -1;
    auto phase = run(step);
    report(step_name(step), phase);
    if (step == Step::kRegister) {
      status = phase.errors + phase.timeouts == 0 ? 0 : 1;
      if (pid != 0) {
        const long rss_after = rss_kib(pid);
        std::printf(
            "server RSS    %ld KiB before, %ld KiB after %zu registrations: %.0f bytes each\n",
            rss_before, rss_after, phase.ok,
            phase.ok ? 1024.0 * static_cast<double>(rss_after - rss_before) /
                           static_cast<double>(phase.ok)
                     : 0.0);
      }
    }
    if (step == Step::kUpdate && pid != 0 && phase.ok > 0) {
      // What an Update costs the server, whatever else shares its cores; and whether
      // memory grows with Updates (issue 22: it should not).
      const double cpu = cpu_seconds(pid) - cpu_before;
      const long rss_after = rss_kib(pid);
      std::printf(
          "server CPU    %.2f s for %zu updates: %.2f us each, %.0f updates per CPU second; "
          "RSS %+.1f bytes per update\n",
          cpu, phase.ok, 1e6 * cpu / static_cast<double>(phase.ok),
          cpu > 0 ? static_cast<double>(phase.ok) / cpu : 0.0,
          1024.0 * static_cast<double>(rss_after - rss_before) / static_cast<double>(phase.ok));
    }
  }
  return status;
}

int bench_register(const std::vector<std::string>& args) {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5683;
  std::size_t clients = 1000;
  std::size_t updates = 0;
  std::size_t window = 256;
  std::size_t sockets = 2000;
  // Short, so that a run cut short leaves nothing behind for long.
  std::uint32_t lifetime = 300;
  bool keep = false;
  int pid = 0;
  std::size_t processes = 1;
  Bytes oscore_secret;
  Bytes psk;
  std::string credentials_file;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--host")) {
      host = r.value();
    } else if (r.is("--port", "-p")) {
      port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--clients", "-n")) {
      clients = parse_number(r.value(), 10'000'000);
    } else if (r.is("--updates", "-u")) {
      updates = parse_number(r.value(), 1'000'000'000);
    } else if (r.is("--window", "-w")) {
      window = std::max<std::size_t>(1, parse_number(r.value(), 100'000));
    } else if (r.is("--sockets")) {
      sockets = std::max<std::size_t>(1, parse_number(r.value(), 60'000));
    } else if (r.is("--lifetime")) {
      lifetime = static_cast<std::uint32_t>(parse_number(r.value(), 0xffffffffu));
    } else if (r.is("--keep")) {
      keep = true;
    } else if (r.is("--oscore")) {
      auto secret = from_hex(r.value());
      if (!secret || secret->empty()) throw std::invalid_argument("--oscore takes a hex secret");
      oscore_secret = std::move(*secret);
    } else if (r.is("--psk")) {
      auto key = from_hex(r.value());
      if (!key || key->empty()) throw std::invalid_argument("--psk takes a hex key");
      psk = std::move(*key);
    } else if (r.is("--oscore-credentials", "--psk-credentials")) {
      credentials_file = r.value();
    } else if (r.is("--pid")) {
      pid = static_cast<int>(parse_number(r.value(), 1u << 22));
    } else if (r.is("--processes")) {
      processes = parse_number(r.value(), 256);
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether bench register [--host 127.0.0.1] [--port 5683] [--clients N]\n"
          "         [--updates M] [--window W] [--sockets S] [--lifetime S] [--keep]\n"
          "         [--pid SERVER_PID] [--processes K] [--oscore HEX [--oscore-credentials FILE]]\n"
          "         [--psk HEX [--psk-credentials FILE]]\n"
          "N clients register (W requests in flight), then M updates go round the clients,\n"
          "then every client de-registers (--keep leaves them registered until their\n"
          "lifetime ends; default 300 s). Progress goes to stderr once a second.\n"
          "Clients use S sockets times N/S loopback source addresses 127.0.x.y.\n"
          "--processes K splits the clients, the Updates, the window and the sockets\n"
          "between K generator processes (one core each at most); each phase starts in all\n"
          "of them at once, and the report merges theirs.\n"
          "--oscore protects every request with OSCORE, client c under Master Secret HEX\n"
          "with its last 4 bytes XORed with c+1,\n"
          "sending as Sender ID c+1 (4 bytes) to Recipient ID \"\"; --oscore-credentials\n"
          "writes the server's credentials for them, one PUT body per line\n"
          "(\"bench-c <json>\"), and exits.\n"
          "--psk sends every request over DTLS (PSK, AES-128-CCM-8 over coaps: point --port\n"
          "at the server's DTLS port), client c with identity bench-c and the key HEX\n"
          "changed as for --oscore; --psk-credentials writes the server's credentials.\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + r.current());
    }
  }
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &server.sin_addr) != 1) {
    throw std::invalid_argument("--host takes an IPv4 address");
  }
  if (!oscore_secret.empty() && !psk.empty()) {
    throw std::invalid_argument("--oscore and --psk do not go together");
  }
  if (!credentials_file.empty() && !psk.empty()) {
    std::ofstream out(credentials_file);
    for (std::size_t c = 0; c < clients; ++c) {
      out << "bench-" << c << " {\"mode\":\"psk\",\"identity\":\"bench-" << c << "\",\"key\":\""
          << to_hex(secret_of(psk, c)) << "\"}\n";
    }
    return out ? 0 : 1;
  }
  if (!credentials_file.empty()) {
    if (oscore_secret.empty()) throw std::invalid_argument("--oscore-credentials needs --oscore");
    std::ofstream out(credentials_file);
    for (std::size_t c = 0; c < clients; ++c) {
      out << "bench-" << c << " {\"mode\":\"oscore\",\"masterSecret\":\""
          << to_hex(secret_of(oscore_secret, c)) << "\",\"senderId\":\"" << oscore_sender_hex(c)
          << "\",\"recipientId\":\"\"}\n";
    }
    return out ? 0 : 1;
  }
  sockets = std::min(sockets, clients);
  processes = std::clamp<std::size_t>(processes, 1, clients);
  std::vector<Step> steps{Step::kRegister};
  if (updates > 0) steps.push_back(Step::kUpdate);
  if (!keep) steps.push_back(Step::kDeregister);
  if (processes == 1) {
    Load load(server, 0, clients, sockets, lifetime, oscore_secret, psk);
    return measure_phases(steps, pid, [&](Step step) {
      return load.run(step == Step::kUpdate ? updates : clients, window, step);
    });
  }
  // Generator k takes clients [k*N/K, (k+1)*N/K), its share of the Updates and of the
  // window, and runs each phase when the parent says go, so the phases do not overlap.
  std::vector<Generator> generators;
  for (std::size_t k = 0; k < processes; ++k) {
    const std::size_t first = k * clients / processes;
    const std::size_t count = (k + 1) * clients / processes - first;
    const std::size_t share = (k + 1) * updates / processes - k * updates / processes;
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) {
      throw std::runtime_error("socketpair: " + std::string(std::strerror(errno)));
    }
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (child == 0) {
      ::close(ends[0]);
      for (const auto& g : generators) ::close(g.fd);
      int status = 0;
      try {
        Load load(server, first, count, std::max<std::size_t>(sockets / processes, 1), lifetime,
                  oscore_secret, psk);
        for (const Step step : steps) {
          char go = 0;
          if (!read_all(ends[1], &go, 1)) break;
          auto phase = load.run(step == Step::kUpdate ? share : count,
                                std::max<std::size_t>(window / processes, 1), step);
          if (!send_phase(ends[1], phase)) break;
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "generator %zu: %s\n", k, e.what());
        status = 1;
      }
      ::_exit(status);
    }
    ::close(ends[1]);
    generators.push_back(Generator{child, ends[0]});
  }
  const int status = measure_phases(steps, pid, [&generators](Step) {
    for (const auto& g : generators) {
      const char go = 1;
      if (!write_all(g.fd, &go, 1)) throw std::runtime_error("a generator stopped");
    }
    Load::Phase merged;
    for (const auto& g : generators) {
      auto phase = receive_phase(g.fd);
      if (!phase) throw std::runtime_error("a generator stopped");
      merged.ok += phase->ok;
      merged.errors += phase->errors;
      merged.timeouts += phase->timeouts;
      merged.retransmissions += phase->retransmissions;
      merged.seconds = std::max(merged.seconds, phase->seconds);
      merged.latencies_ms.insert(merged.latencies_ms.end(), phase->latencies_ms.begin(),
                                 phase->latencies_ms.end());
    }
    return merged;
  });
  for (const auto& g : generators) {
    ::close(g.fd);
    int ignored = 0;
    ::waitpid(g.pid, &ignored, 0);
  }
  return status;
}

}  // namespace tether::app
