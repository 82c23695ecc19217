// The HTTP binding on arbitrary bytes (Transport TS 7): a request our HTTP server parses,
// read as a client's uplink (/rd, /dp, /bs, /bspack), as a server's request to our client
// (each interface, under "/" and an alternate path) and for the device's announced origin;
// and the same bytes as a response to our HTTP client. Nothing may crash; a device request
// that decodes and that the server side can encode again decodes to the same operation and
// path.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "binding/http/device_mapping.hpp"
#include "binding/http/downlink_mapping.hpp"
#include "binding/http/uplink_mapping.hpp"
#include "http/client_connection.hpp"
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
  (void)client.take_response();

  tether::http::ServerConnection server(tether::http::ConnectionLimits{}, start);
  server.receive(bytes, start);
  auto request = server.take_request();
  if (!request) return 0;
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
