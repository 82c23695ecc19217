// `tether bench coap-echo`: the least a CoAP/UDP server can do for `tether bench register`,
// as the baseline its figures are put next to (docs/performance.md). One socket, one
// datagram read and one written per request, and no state: a Register (a POST with a
// query) gets 2.01 with Location-Path rd/<n>, any other POST 2.04, a DELETE 2.02, all as
// piggybacked ACKs. The request is read only as far as the answer needs (header, token,
// option numbers); nothing is allocated per datagram. `--mmsg` reads and writes up to 64
// datagrams per system call (recvmmsg/sendmmsg), the batching issue 22 weighs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
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

}  // namespace

int bench_coap_echo(const std::vector<std::string>& args) {
  std::uint16_t port = 0;
  std::string bind_host = "127.0.0.1";
  bool mmsg = false;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--port", "-p")) {
      port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--bind")) {
      bind_host = r.value();
    } else if (r.is("--mmsg")) {
      mmsg = true;
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether bench coap-echo --port N [--bind 127.0.0.1] [--mmsg]\n"
          "Answers tether bench register as cheaply as CoAP allows: Register 2.01 with a\n"
          "location, other POSTs 2.04, DELETE 2.02, one recvfrom/sendto per datagram (--mmsg:\n"
          "up to 64 per recvmmsg/sendmmsg). The baseline for a server's Update rate.\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument("usage: tether bench coap-echo --port N [--bind IPV4] [--mmsg]");
    }
  }
  if (port == 0) throw std::invalid_argument("tether bench coap-echo needs --port N");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, bind_host.c_str(), &addr.sin_addr) != 1) {
    throw std::invalid_argument("--bind takes an IPv4 address");
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
  }
  // Blocking reads that wake every 200 ms, so SIGTERM ends the loop.
  timeval wake{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof(wake));
  install_stop_handlers();

  std::vector<std::array<std::uint8_t, kMaxDatagram>> in(kBatch), out(kBatch);
  std::array<sockaddr_in, kBatch> from{};
  std::array<iovec, kBatch> in_iov{}, out_iov{};
  std::array<mmsghdr, kBatch> in_msg{}, out_msg{};
  std::uint32_t next_location = 1;
  while (!stop_requested()) {
    if (!mmsg) {
      socklen_t from_len = sizeof(from[0]);
      const ssize_t n = recvfrom(fd, in[0].data(), kMaxDatagram, 0,
                                 reinterpret_cast<sockaddr*>(&from[0]), &from_len);
      if (n <= 0) continue;
      const std::size_t len =
          answer(in[0].data(), static_cast<std::size_t>(n), out[0].data(), next_location);
      if (len > 0) {
        sendto(fd, out[0].data(), len, 0, reinterpret_cast<sockaddr*>(&from[0]), from_len);
      }
      continue;
    }
    for (std::size_t i = 0; i < kBatch; ++i) {
      in_iov[i] = {in[i].data(), kMaxDatagram};
      in_msg[i] = {};
      in_msg[i].msg_hdr.msg_iov = &in_iov[i];
      in_msg[i].msg_hdr.msg_iovlen = 1;
      in_msg[i].msg_hdr.msg_name = &from[i];
      in_msg[i].msg_hdr.msg_namelen = sizeof(from[i]);
    }
    // The first datagram waits (up to the 200 ms above); the rest of the batch is what is
    // already queued.
    const int got = recvmmsg(fd, in_msg.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (got <= 0) continue;
    unsigned replies = 0;
    for (int i = 0; i < got; ++i) {
      const std::size_t len =
          answer(in[static_cast<std::size_t>(i)].data(),
                 in_msg[static_cast<std::size_t>(i)].msg_len, out[replies].data(), next_location);
      if (len == 0) continue;
      out_iov[replies] = {out[replies].data(), len};
      out_msg[replies] = {};
      out_msg[replies].msg_hdr.msg_iov = &out_iov[replies];
      out_msg[replies].msg_hdr.msg_iovlen = 1;
      out_msg[replies].msg_hdr.msg_name = &from[static_cast<std::size_t>(i)];
      out_msg[replies].msg_hdr.msg_namelen =
          in_msg[static_cast<std::size_t>(i)].msg_hdr.msg_namelen;
      ++replies;
    }
    for (unsigned sent = 0; sent < replies;) {
      const int n = sendmmsg(fd, out_msg.data() + sent, replies - sent, 0);
      if (n < 0 && errno == EINTR) continue;
      // A message that cannot go is skipped, not the rest of the batch with it.
      sent += n > 0 ? static_cast<unsigned>(n) : 1u;
    }
  }
  close(fd);
  return 0;
}

}  // namespace tether::app
