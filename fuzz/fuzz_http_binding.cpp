// The HTTP binding on arbitrary bytes (Transport TS 7): a request our HTTP server parses,
// read as a client's uplink (/rd, /dp, /bs, /bspack), as a server's request to our client
// (each interface, under "/" and an alternate path) and for the device's announced origin;
// and the same bytes as a response to our HTTP client, whose Digest challenge our client
// may take. Seed 004's check runs on each request in every mode. Nothing may crash; a
// device request that decodes and that the server side can encode again decodes to the same
// operation and path; a name the check accepts is clean text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "binding/http/device_mapping.hpp"
#include "binding/http/downlink_mapping.hpp"
#include "binding/http/uplink_mapping.hpp"
#include "common/random.hpp"
#include "common/text.hpp"
#include "http/client_connection.hpp"
#include "http/digest_client.hpp"
#include "http/interface_auth.hpp"
#include "http/server_connection.hpp"
#include "lwm2m/model/object_registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace hb = tether::binding::http_binding;
  static const auto models = tether::lwm2m::model::ObjectRegistry::with_builtin();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const tether::Instant start{};

  tether::http::ClientConnection client(tether::http::ClientLimits{}, "d");
  tether::http::Request probe;
  probe.method = "GET";
  probe.target = "/";
  (void)client.send(probe, start);
  client.receive(bytes, start);
  client.on_peer_closed(start);
  if (auto taken = client.take_response(); taken && *taken) {
    const auto& response = *taken;
    static tether::SeededRandom random(1);
    auto digest = tether::http::DigestClient::make("dev1", "pw");
    if (digest && digest->take_challenge(*response)) {
      tether::http::Request again = probe;
      digest->authorize(again, random);
    }
  }

  tether::http::ServerConnection server(tether::http::ConnectionLimits{}, start);
  server.receive(bytes, start);
  auto request = server.take_request();
  if (!request) return 0;
  static tether::http::InterfaceAuth auth(
      [] {
        tether::http::InterfaceAuthConfig c;
        c.anonymous = c.digest = c.certificate = c.bearer = true;
        c.trusted_proxies = {"127.0.0.1"};
        c.identity_header = "X-Authenticated-User";
        return c;
      }(),
      tether::to_bytes("fuzz nonce key"));
  auto verdict = auth.authenticate(
      *request, {"127.0.0.1:1", std::nullopt},
      [](std::string_view) { return std::optional<std::string>("pw"); },
      [](std::string_view) { return std::optional<std::string>("token-user"); }, start);
  if (verdict.caller && !tether::check_text(verdict.caller->name, "a caller", 256)) {
    std::fprintf(stderr, "fuzz_http_binding: an authenticated name is not clean text\n");
    std::abort();
  }
  (void)hb::decode_uplink(*request);
  (void)hb::device_origin(*request);
  for (const bool bootstrap : {false, true}) {
    for (const char* alternate : {"/", "/lwm2m"}) {
      auto r = hb::decode_device_request(*request, bootstrap, alternate, models);
      if (!r) continue;
      auto again = hb::encode_downlink(*r, alternate, models);
      if (!again) continue;
      auto back = hb::decode_device_request(*again, bootstrap, alternate, models);
      if (!back || back->op != r->op || !(back->path == r->path)) {
        std::fprintf(stderr, "fuzz_http_binding: a request does not survive a round trip\n");
        std::abort();
      }
    }
  }
  return 0;
}
