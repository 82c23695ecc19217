// `tether bench coap-echo`: the least a CoAP/UDP server can do for `tether bench register`,
// as the baseline its figures are put next to (docs/performance.md). One socket, one
// datagram read and one written per request, and no state: a Register (a POST with a
// query) gets 2.01 with Location-Path rd/<n>, any other POST 2.04, a DELETE 2.02, all as
// piggybacked ACKs. The request is read only as far as the answer needs (header, token,
// option numbers); nothing is allocated per datagram. `--mmsg` reads and writes up to 64
// datagrams per system call (recvmmsg/sendmmsg), the batching issue 22 weighs.
//
// Issue 22 also weighs two ways of spreading a server over N cores, and `--threads N`
// measures both on the same work: each thread with a socket of its own on the port
// (SO_REUSEPORT: the kernel picks the thread by the datagram's addresses), or
// `--dispatch`, one thread reading every datagram and handing it to the thread its source
// hashes to (which answers on the same socket). `--work-us W` spends W microseconds of
// CPU on each request, standing in for what a server does with it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli_options.hpp"
#include "commands.hpp"
#include "service_runtime.hpp"

namespace tether::app {
namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kMaxDatagram = 2048;

// RFC 7252 3.1: whether the options of a request include a Uri-Query (15); false when the
// options do not parse (then it is answered as an Update, which the load generator would
// count as an error).
bool has_query(const std::uint8_t* p, const std::uint8_t* end) {
  unsigned number = 0;
  while (p < end && *p != 0xff) {
    unsigned delta = *p >> 4, length = *p & 0x0f;
    ++p;
    auto extended = [&](unsigned& v) {
      if (v == 13) {
        if (p >= end) return false;
        v = 13u + *p++;
      } else if (v == 14) {
        if (end - p < 2) return false;
        v = 269u + (static_cast<unsigned>(p[0]) << 8 | p[1]);
        p += 2;
      } else if (v == 15) {
        return false;
      }
      return true;
    };
    if (!extended(delta) || !extended(length)) return false;
    number += delta;
    if (number == 15) return true;
    if (static_cast<std::size_t>(end - p) < length) return false;
    p += length;
  }
  return false;
}

// Writes the answer to `in` into `out`; returns its length, 0 for no answer (not a CON
// request).
std::size_t answer(const std::uint8_t* in, std::size_t n, std::uint8_t* out,
                   std::uint32_t& next_location) {
  if (n < 4 || (in[0] >> 6) != 1 || ((in[0] >> 4) & 3) != 0) return 0;  // v1 CON only
  const std::size_t tkl = in[0] & 0x0f;
  const std::uint8_t code = in[1];
  if (tkl > 8 || n < 4 + tkl || code == 0 || (code >> 5) != 0) return 0;  // a request
  out[0] = static_cast<std::uint8_t>(0x60 | tkl);                         // v1 ACK
  out[2] = in[2];
  out[3] = in[3];
  std::memcpy(out + 4, in + 4, tkl);
  std::size_t len = 4 + tkl;
  if (code == 0x02 && has_query(in + 4 + tkl, in + n)) {
    out[1] = 0x41;  // 2.01 Created, Location-Path (8) "rd" then the location's number
    out[len++] = 0x82;
    out[len++] = 'r';
    out[len++] = 'd';
    const int w = std::snprintf(reinterpret_cast<char*>(out + len + 1), 11, "%u", next_location++);
    out[len] = static_cast<std::uint8_t>(w);  // delta 0, length w (< 13)
    len += 1 + static_cast<std::size_t>(w);
  } else {
    out[1] = code == 0x04 ? 0x42 : 0x44;  // DELETE: 2.02 Deleted; else 2.04 Changed
  }
  return len;
}

// Spends `us` microseconds of this thread's time, as a server's handling would.
void work_for(std::uint32_t us) {
  if (us == 0) return;
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (std::chrono::steady_clock::now() < end) {
  }
}

struct EchoOptions {
  bool mmsg = false;
  std::uint32_t work_us = 0;
};

// A batch of datagrams with their sources, read together and answered together.
struct Batch {
  Batch() : in(kBatch) {}
  std::vector<std::array<std::uint8_t, kMaxDatagram>> in;
  std::array<std::size_t, kBatch> length{};
  std::array<sockaddr_in, kBatch> from{};
  std::size_t count = 0;
};

// Answers every request of `b` on `fd` with one sendmmsg (or until it is all sent).
void answer_batch(int fd, Batch& b, const EchoOptions& o, std::uint32_t& next_location) {
  static thread_local std::vector<std::array<std::uint8_t, kMaxDatagram>> out(kBatch);
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msg{};
  unsigned replies = 0;
  for (std::size_t i = 0; i < b.count; ++i) {
    work_for(o.work_us);
    const std::size_t len = answer(b.in[i].data(), b.length[i], out[replies].data(), next_location);
    if (len == 0) continue;
    iov[replies] = {out[replies].data(), len};
    msg[replies] = {};
    msg[replies].msg_hdr.msg_iov = &iov[replies];
    msg[replies].msg_hdr.msg_iovlen = 1;
    msg[replies].msg_hdr.msg_name = &b.from[i];
    msg[replies].msg_hdr.msg_namelen = sizeof(b.from[i]);
    ++replies;
  }
  for (unsigned sent = 0; sent < replies;) {
    const int n = sendmmsg(fd, msg.data() + sent, replies - sent, 0);
    if (n < 0 && errno == EINTR) continue;
    // A message that cannot go is skipped, not the rest of the batch with it.
    sent += n > 0 ? static_cast<unsigned>(n) : 1u;
  }
}

// Reads up to a batch from `fd` (the first waits up to the socket's 200 ms); false if none.
bool read_batch(int fd, Batch& b) {
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msg{};
  for (std::size_t i = 0; i < kBatch; ++i) {
    iov[i] = {b.in[i].data(), kMaxDatagram};
    msg[i].msg_hdr.msg_iov = &iov[i];
    msg[i].msg_hdr.msg_iovlen = 1;
    msg[i].msg_hdr.msg_name = &b.from[i];
    msg[i].msg_hdr.msg_namelen = sizeof(b.from[i]);
  }
  const int got = recvmmsg(fd, msg.data(), kBatch, MSG_WAITFORONE, nullptr);
  b.count = got > 0 ? static_cast<std::size_t>(got) : 0;
  for (std::size_t i = 0; i < b.count; ++i) b.length[i] = msg[i].msg_len;
  return b.count > 0;
}

// One socket served until stop_requested(): a datagram at a time, or a batch (--mmsg).
void serve_socket(int fd, const EchoOptions& o) {
  std::uint32_t next_location = 1;
  Batch b;
  std::array<std::uint8_t, kMaxDatagram> out{};
  while (!stop_requested()) {
    if (o.mmsg) {
      if (read_batch(fd, b)) answer_batch(fd, b, o, next_location);
      continue;
    }
    socklen_t from_len = sizeof(b.from[0]);
    const ssize_t n = recvfrom(fd, b.in[0].data(), kMaxDatagram, 0,
                               reinterpret_cast<sockaddr*>(&b.from[0]), &from_len);
    if (n <= 0) continue;
    work_for(o.work_us);
    const std::size_t len =
        answer(b.in[0].data(), static_cast<std::size_t>(n), out.data(), next_location);
    if (len > 0) sendto(fd, out.data(), len, 0, reinterpret_cast<sockaddr*>(&b.from[0]), from_len);
  }
}

int open_socket(const sockaddr_in& addr, bool reuse_port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  int one = 1;
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
  }
  // Blocking reads that wake every 200 ms, so SIGTERM ends the loop.
  timeval wake{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof(wake));
  return fd;
}

// --dispatch: the handing over a dispatcher costs, per batch and thread: a lock, a copy of
// the datagrams and a wake-up. Each thread's queue is bounded (a full one drops, as a
// server's would).
class Dispatcher {
 public:
  Dispatcher(int fd, std::size_t threads, const EchoOptions& o) : fd_(fd), o_(o), lanes_(threads) {
    for (auto& lane : lanes_) lane = std::make_unique<Lane>();
  }
  void run() {
    std::vector<std::thread> workers;
    for (auto& lane : lanes_) workers.emplace_back([this, l = lane.get()] { serve(*l); });
    std::vector<std::unique_ptr<Batch>> pending(lanes_.size());
    Batch b;
    while (!stop_requested()) {
      if (!read_batch(fd_, b)) continue;
      for (std::size_t i = 0; i < b.count; ++i) {
        const std::size_t k =
            (b.from[i].sin_addr.s_addr * 2654435761u ^ b.from[i].sin_port) % lanes_.size();
        if (!pending[k]) pending[k] = take();
        Batch& to = *pending[k];
        std::memcpy(to.in[to.count].data(), b.in[i].data(), b.length[i]);
        to.length[to.count] = b.length[i];
        to.from[to.count] = b.from[i];
        ++to.count;
      }
      for (std::size_t k = 0; k < lanes_.size(); ++k) {
        if (pending[k]) hand(*lanes_[k], std::move(pending[k]));
      }
    }
    for (auto& lane : lanes_) {
      std::lock_guard lock(lane->mutex);
      lane->ready.notify_one();
    }
    for (auto& w : workers) w.join();
  }

 private:
  static constexpr std::size_t kMaxQueued = 256;
  struct Lane {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::unique_ptr<Batch>> queue;
  };
  void hand(Lane& lane, std::unique_ptr<Batch> batch) {
    {
      std::lock_guard lock(lane.mutex);
      if (lane.queue.size() < kMaxQueued) {
        lane.queue.push_back(std::move(batch));
      } else {
        batch.reset();
      }
    }
    lane.ready.notify_one();
  }
  void serve(Lane& lane) {
    std::uint32_t next_location = 1;
    while (true) {
      std::unique_ptr<Batch> batch;
      {
        std::unique_lock lock(lane.mutex);
        lane.ready.wait_for(lock, std::chrono::milliseconds(200),
                            [&] { return !lane.queue.empty() || stop_requested(); });
        if (lane.queue.empty()) {
          if (stop_requested()) return;
          continue;
        }
        batch = std::move(lane.queue.front());
        lane.queue.pop_front();
      }
      answer_batch(fd_, *batch, o_, next_location);
      give(std::move(batch));
    }
  }
  // Batches are used again: allocating 128 KiB per batch would cost an mmap each.
  std::unique_ptr<Batch> take() {
    std::lock_guard lock(pool_mutex_);
    if (pool_.empty()) return std::make_unique<Batch>();
    auto b = std::move(pool_.back());
    pool_.pop_back();
    b->count = 0;
    return b;
  }
  void give(std::unique_ptr<Batch> b) {
    std::lock_guard lock(pool_mutex_);
    pool_.push_back(std::move(b));
  }
  int fd_;
  EchoOptions o_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Batch>> pool_;
};

}  // namespace

int bench_coap_echo(const std::vector<std::string>& args) {
  std::uint16_t port = 0;
  std::string bind_host = "127.0.0.1";
  EchoOptions o;
  std::size_t threads = 1;
  bool dispatch = false;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--port", "-p")) {
      port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--bind")) {
      bind_host = r.value();
    } else if (r.is("--mmsg")) {
      o.mmsg = true;
    } else if (r.is("--threads")) {
      threads = parse_number(r.value(), 256);
    } else if (r.is("--dispatch")) {
      dispatch = true;
    } else if (r.is("--work-us")) {
      o.work_us = static_cast<std::uint32_t>(parse_number(r.value(), 100'000));
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether bench coap-echo --port N [--bind 127.0.0.1] [--mmsg] [--threads N\n"
          "                              [--dispatch]] [--work-us W]\n"
          "Answers tether bench register as cheaply as CoAP allows: Register 2.01 with a\n"
          "location, other POSTs 2.04, DELETE 2.02, one recvfrom/sendto per datagram (--mmsg:\n"
          "up to 64 per recvmmsg/sendmmsg). The baseline for a server's Update rate.\n"
          "--threads N: N threads, each with a socket of its own on the port (SO_REUSEPORT),\n"
          "or with --dispatch one reading thread handing each datagram to the thread its\n"
          "source hashes to (batched as --mmsg). --work-us W: W us of CPU per request.\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument(
          "usage: tether bench coap-echo --port N [--bind IPV4] [--mmsg] [--threads N "
          "[--dispatch]] [--work-us W]");
    }
  }
  if (port == 0) throw std::invalid_argument("tether bench coap-echo needs --port N");
  if (threads == 0) throw std::invalid_argument("--threads takes 1 or more");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, bind_host.c_str(), &addr.sin_addr) != 1) {
    throw std::invalid_argument("--bind takes an IPv4 address");
  }
  install_stop_handlers();
  if (dispatch) {
    const int fd = open_socket(addr, false);
    Dispatcher(fd, threads, o).run();
    close(fd);
    return 0;
  }
  // One socket per thread, all on the port; the first binds before the others start.
  std::vector<int> fds;
  for (std::size_t k = 0; k < threads; ++k) fds.push_back(open_socket(addr, threads > 1));
  std::vector<std::thread> others;
  for (std::size_t k = 1; k < threads; ++k) {
    others.emplace_back([fd = fds[k], &o] { serve_socket(fd, o); });
  }
  serve_socket(fds[0], o);
  for (auto& t : others) t.join();
  for (int fd : fds) close(fd);
  return 0;
}

}  // namespace tether::app
