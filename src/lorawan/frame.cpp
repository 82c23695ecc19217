#include "lorawan/frame.hpp"

#include <cctype>
#include <cstdio>

namespace tether::lorawan {

namespace {
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kHeader = 19;
enum Flag : std::uint8_t { kConfirmed = 1, kAck = 2, kPending = 4, kHasPort = 8 };

Bytes encode(std::uint8_t kind, DevEui eui, std::uint32_t f_cnt, std::uint8_t flags,
             std::optional<std::uint8_t> port, std::uint8_t dr, const Bytes& payload) {
  Bytes out{'L', 'W', kVersion, kind};
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(eui >> shift));
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(f_cnt >> shift));
  }
  if (port) flags |= kHasPort;
  out.push_back(flags);
  out.push_back(port.value_or(0));
  out.push_back(dr);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

struct Common {
  DevEui eui = 0;
  std::uint32_t f_cnt = 0;
  std::uint8_t flags = 0;
  std::optional<std::uint8_t> port;
  std::uint8_t dr = 0;
  Bytes payload;
};

Result<Common> decode(ByteView d, std::uint8_t kind) {
  if (d.size() < kHeader || d[0] != 'L' || d[1] != 'W' || d[2] != kVersion) {
    return fail("not a simulated LoRaWAN frame");
  }
  if (d.size() > kMaxAirDatagram) return fail("a frame longer than any data rate carries");
  if (d[3] != kind) return fail(kind == 0 ? "not an uplink" : "not a downlink");
  Common c;
  for (std::size_t i = 4; i < 12; ++i) c.eui = (c.eui << 8) | d[i];
  for (std::size_t i = 12; i < 16; ++i) c.f_cnt = (c.f_cnt << 8) | d[i];
  c.flags = d[16];
  if ((c.flags & ~0x0f) != 0) return fail("unknown frame flags");
  if ((c.flags & kHasPort) != 0) {
    c.port = d[17];
    if (!is_application_port(*c.port)) return fail("FPort outside 1-223");
  }
  c.dr = d[18];
  c.payload.assign(d.begin() + kHeader, d.end());
  if (!c.port && !c.payload.empty()) return fail("a payload without an FPort");
  return c;
}
}  // namespace

std::optional<DevEui> parse_dev_eui(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  DevEui eui = 0;
  for (char ch : hex) {
    int v = -1;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
    if (v < 0) return std::nullopt;
    eui = (eui << 4) | static_cast<DevEui>(v);
  }
  return eui;
}

std::string dev_eui_text(DevEui eui) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(eui));
  return out;
}

std::string upper_hex(ByteView b) {
  std::string out = to_hex(b);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::uint8_t> port_of_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "lorawan://";
  if (uri.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(uri[i])) != kScheme[i]) return std::nullopt;
  }
  uri.remove_prefix(kScheme.size());
  if (!uri.empty() && uri.back() == '/') uri.remove_suffix(1);
  if (uri.empty() || uri.size() > 3) return std::nullopt;
  unsigned port = 0;
  for (char c : uri) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (!is_application_port(port)) return std::nullopt;
  return static_cast<std::uint8_t>(port);
}

Bytes encode_air(const Uplink& u) {
  const std::uint8_t flags = (u.confirmed ? kConfirmed : 0) | (u.ack ? kAck : 0);
  return encode(0, u.dev_eui, u.f_cnt, flags, u.f_port, u.dr, u.payload);
}

Bytes encode_air(const Downlink& d) {
  const std::uint8_t flags =
      (d.confirmed ? kConfirmed : 0) | (d.ack ? kAck : 0) | (d.pending ? kPending : 0);
  return encode(1, d.dev_eui, d.f_cnt, flags, d.f_port, 0, d.payload);
}

Result<Uplink> decode_air_uplink(ByteView datagram) {
  auto c = decode(datagram, 0);
  if (!c) return c.error();
  if ((c->flags & kPending) != 0) return fail("FPending on an uplink");
  Uplink u;
  u.dev_eui = c->eui;
  u.f_cnt = c->f_cnt;
  u.f_port = c->port;
  u.confirmed = (c->flags & kConfirmed) != 0;
  u.ack = (c->flags & kAck) != 0;
  u.dr = c->dr;
  u.payload = std::move(c->payload);
  return u;
}

Result<Downlink> decode_air_downlink(ByteView datagram) {
  auto c = decode(datagram, 1);
  if (!c) return c.error();
  Downlink d;
  d.dev_eui = c->eui;
  d.f_cnt = c->f_cnt;
  d.f_port = c->port;
  d.confirmed = (c->flags & kConfirmed) != 0;
  d.ack = (c->flags & kAck) != 0;
  d.pending = (c->flags & kPending) != 0;
  d.payload = std::move(c->payload);
  return d;
}

}  // namespace tether::lorawan
