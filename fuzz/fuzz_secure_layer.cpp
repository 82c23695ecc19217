// A DTLS server's SecureLayer (GnuTLS backend, PSK and raw public keys) fed arbitrary
// datagrams from several peers, split from the input: nothing may crash, leak or grow
// without bound, and no plaintext may reach the endpoint before a handshake completes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "coap/endpoint.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "tls/secure_layer.hpp"

namespace {
using namespace tether;

struct Target {
  Target() : endpoint(coap::EndpointConfig{}, random), layer(config(), backend(), endpoint) {
    endpoint.set_request_handler([](coap::PeerId, const coap::Message&, coap::Responder) {
      std::abort();  // no request can arrive without a completed handshake
    });
  }
  static tls::SecureLayerConfig config() {
    tls::SecureLayerConfig c;
    c.role = tls::Role::kServer;
    c.max_half_open = 8;
    return c;
  }
  static tls::GnutlsBackend& backend() {
    static tls::GnutlsBackend b([] {
      tls::GnutlsOptions o;
      o.server.emplace();
      o.server->psk_key_for = [](ByteView) -> std::optional<Bytes> { return to_bytes("k"); };
      o.server->knows_public_key = [](ByteView) { return true; };
      return o;
    }());
    return b;
  }
  SeededRandom random{1};
  coap::Endpoint endpoint;
  tls::SecureLayer layer;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Target t;
  Instant now{Duration{1'000'000}};
  // Records: [peer byte][length byte][bytes...]
  std::size_t i = 0;
  while (i + 2 <= size) {
    const coap::PeerId peer = data[i] % 4 + 1;
    const std::size_t n = std::min<std::size_t>(data[i + 1], size - i - 2);
    t.layer.receive(peer, ByteView(data + i + 2, n), now);
    while (t.layer.poll_transmit()) {
    }
    now += Duration{100};
    t.layer.on_timer(now);
    i += 2 + n;
  }
  if (t.layer.half_open_count() > 8) std::abort();
  return 0;
}
