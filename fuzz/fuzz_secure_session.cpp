// An established DTLS session under attack: our client and server SecureLayers complete a PSK
// handshake, then the input decides what reaches the server (the client's records, some
// with flipped bits, replayed, or arbitrary datagrams from the client's address) and how
// time moves. Nothing may crash or leak, and the server's endpoint may only ever see the
// requests the client really sent: a forged or altered record must not decrypt.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>

#include "coap/endpoint.hpp"
#include "common/random.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "tls/secure_layer.hpp"

namespace {
using namespace tether;

constexpr coap::PeerId kServer = 1;
constexpr coap::PeerId kClient = 2;
constexpr const char* kPath = "/fuzz/ok";

tls::GnutlsBackend& server_backend() {
  static tls::GnutlsBackend b([] {
    tls::GnutlsOptions o;
    o.server.emplace();
    o.server->psk_key_for = [](ByteView) -> std::optional<Bytes> { return to_bytes("fuzz-key"); };
    return o;
  }());
  return b;
}

tls::GnutlsBackend& client_backend() {
  static tls::GnutlsBackend b;
  return b;
}

tls::SecureLayerConfig layer_config(tls::Role role) {
  tls::SecureLayerConfig c;
  c.role = role;
  c.max_half_open = 4;
  return c;
}

struct Pair {
  Pair()
      : server_ep(coap::EndpointConfig{}, server_random),
        client_ep(coap::EndpointConfig{}, client_random),
        server(layer_config(tls::Role::kServer), server_backend(), server_ep),
        client(layer_config(tls::Role::kClient), client_backend(), client_ep) {
    server_ep.set_request_handler(
        [this](coap::PeerId, const coap::Message& request, coap::Responder responder) {
          if (request.path() != kPath) std::abort();  // a forged request got through
          ++answered;
          responder.respond(coap::make_response(request, coap::codes::kContent), now);
        });
    tls::ClientCredentials c;
    c.mode = tls::Mode::kPsk;
    c.psk_identity = to_bytes("fuzz-id");
    c.psk_key = to_bytes("fuzz-key");
    client.set_credentials(kServer, c, now);
  }

  // Moves what each side sends to the other; the client's records are also kept for the
  // input to alter or replay.
  void exchange(bool deliver_client) {
    for (int round = 0; round < 64; ++round) {
      bool moved = false;
      while (auto t = client.poll_transmit()) {
        moved = true;
        if (t->kind != coap::Transmit::Kind::kData) continue;
        if (sent.size() == 16) sent.pop_front();
        sent.push_back(t->bytes);
        if (deliver_client) server.receive(kClient, t->bytes, now);
      }
      while (auto t = server.poll_transmit()) {
        moved = true;
        if (t->kind == coap::Transmit::Kind::kData) client.receive(kServer, t->bytes, now);
      }
      if (!moved) return;
    }
  }
  void advance(Duration d) {
    now += d;
    server.on_timer(now);
    client.on_timer(now);
  }
  void ask() {
    client_ep.request(
        kServer, coap::make_request(coap::codes::kGet, kPath), [](Result<coap::Message>) {}, now);
  }

  Instant now{Duration{1'000'000}};
  SeededRandom server_random{1};
  SeededRandom client_random{2};
  coap::Endpoint server_ep;
  coap::Endpoint client_ep;
  tls::SecureLayer server;
  tls::SecureLayer client;
  std::deque<Bytes> sent;
  int answered = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Pair p;
  p.ask();
  p.exchange(true);
  if (!p.server.established(kClient)) std::abort();  // the handshake itself must work
  // Operations: [op][length][bytes...]
  std::size_t i = 0;
  while (i + 2 <= size) {
    const std::uint8_t op = data[i];
    const std::size_t n = std::min<std::size_t>(data[i + 1], size - i - 2);
    const ByteView arg(data + i + 2, n);
    i += 2 + n;
    switch (op % 6) {
      case 0:  // a genuine request, delivered
        p.ask();
        p.exchange(true);
        break;
      case 1: {  // a genuine request whose records arrive with bits flipped
        p.ask();
        p.exchange(false);
        for (const Bytes& record : p.sent) {
          Bytes bad = record;
          for (std::size_t k = 0; k + 1 < n && !bad.empty(); k += 2) {
            bad[arg[k] % bad.size()] ^= static_cast<std::uint8_t>(arg[k + 1] | 1);
          }
          p.server.receive(kClient, bad, p.now);
        }
        p.exchange(true);
        break;
      }
      case 2:  // replays of what the client sent
        for (const Bytes& record : p.sent) p.server.receive(kClient, record, p.now);
        p.exchange(true);
        break;
      case 3:  // an arbitrary datagram from the client's address
        p.server.receive(kClient, arg, p.now);
        p.exchange(true);
        break;
      case 4:  // an arbitrary datagram to the client from the server's address
        p.client.receive(kServer, arg, p.now);
        p.exchange(true);
        break;
      default:  // time passes: retransmissions, handshake timeouts
        p.advance(Duration{(n + 1) * 500});
        p.exchange(true);
        break;
    }
  }
  if (p.server.half_open_count() > 4 || p.server.session_count() > 1) std::abort();
  return 0;
}
