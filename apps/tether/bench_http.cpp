// `tether bench http`: a load generator for an LwM2M server's HTTP binding (Transport TS 7).
// N simulated devices, each on its own keep-alive connection (HTTP/1.1 has one request in
// flight per connection, so W connections carry W at once), register on /rd and then send
// Updates in a closed loop; it reports the rate, latency percentiles and, with --pid, the
// server's resident memory per registration. `--bare` runs the same loop against `tether
// bench http-echo`, which answers every request with 204 on the same HTTP stack (parser,
// connection state machine, TLS): the baseline the binding is measured against.
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "binding/http/uplink_mapping.hpp"
#include "cli_options.hpp"
#include "closed_loop.hpp"
#include "commands.hpp"
#include "https_server_tls.hpp"
#include "lwm2m/format/link_format.hpp"
#include "resident_memory.hpp"
#include "service_runtime.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/event_loop.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"

namespace tether::app {

namespace {
namespace hb = binding::http_binding;

struct HttpBenchOptions : LoadOptions {
  std::string target = "http://127.0.0.1:5690";
  std::string ca;  // https: the server's CA
};
}  // namespace

int bench_http(const std::vector<std::string>& args) {
  HttpBenchOptions o;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--target")) {
      o.target = r.value();
    } else if (r.is("--ca")) {
      o.ca = r.value();
    } else if (parse_load_option(r, o)) {
      // --clients, --window, --seconds, --pid, --bare
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether bench http [--target URL] [--ca FILE] [--clients N] [--window W]\n"
          "                         [--seconds S] [--pid P] [--bare]\n"
          "  N devices register on URL's /rd (tether server --http-binding-port), then Update\n"
          "  for S seconds over W keep-alive connections. --ca: the https server's CA. --pid:\n"
          "  the server's memory per registration. --bare: the same loop against tether bench\n"
          "  http-echo.\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + r.current());
    }
  }
  auto origin = transport::parse_origin(o.target);
  if (!origin) throw std::invalid_argument(o.target + ": " + origin.error().reason);
  transport::EventLoop loop;
  tls::GnutlsBackend client_tls;
  tls::ClientCredentials credentials;
  credentials.mode = tls::Mode::kCertificate;
  credentials.pkix = true;
  credentials.server_name = origin->host;
  if (!o.ca.empty()) credentials.trust_anchors = {read_binary_file(o.ca)};
  transport::HttpClientOptions options;
  options.tls = &client_tls;
  options.max_connections_per_origin = std::max<std::uint64_t>(1, o.window);
  options.max_queued_per_origin = o.clients + 1;
  options.idle_timeout = Duration{600'000};
  transport::HttpClient client(loop, options);

  const auto objects = *lwm2m::format::link_format::parse_registration("</1/0>,</3/0>,</3303/0>");
  std::vector<std::string> locations(o.clients);
  bool registering = !o.bare;
  std::unique_ptr<ClosedLoop> load;
  load = std::make_unique<ClosedLoop>(loop, o.clients, o.window, [&](std::uint64_t i) {
    http::Request request;
    if (registering) {
      lwm2m::RegisterRequest reg;
      reg.params.endpoint = "bench-" + std::to_string(i);
      reg.params.lifetime = 86400;
      reg.params.version = "1.2";
      reg.params.binding = "H";
      reg.objects = objects;
      request = hb::encode_uplink(reg);
      // The device's own server: never called here.
      hb::announce_device_origin(request, "http://127.0.0.1:9");
    } else if (o.bare) {
      request.method = "POST";
      request.target = request.path = "/rd/bench-" + std::to_string(i);
    } else {
      request = hb::encode_uplink(lwm2m::UpdateRequest{locations[i], {}, std::nullopt});
      hb::announce_device_origin(request, "http://127.0.0.1:9");  // as our client does
    }
    client.request(
        o.target, std::move(request),
        [&, i, was_register = registering](Result<http::Response> response) {
          const bool ok = response && response->status / 100 == 2;
          if (ok && was_register) {
            const auto where = response->headers.get("Location").value_or("");
            locations[i] = std::string(where.substr(where.rfind('/') + 1));
          }
          load->finish(i, ok);
        },
        &credentials);
  });

  const long rss_before = o.pid != 0 ? rss_kib(o.pid) : -1;
  if (registering) {
    LoadPhase reg = load->run(o.clients, std::chrono::seconds(300));
    print_registration(reg, o.pid, rss_before);
    registering = false;
  }
  const double cpu_before = o.pid != 0 ? cpu_seconds(o.pid) : -1;
  LoadPhase updates = load->run(~std::uint64_t{0}, std::chrono::seconds(o.seconds));
  print_rate(o.bare ? "bare-round-trips" : "updates", o.clients, o.window, updates);
  if (o.pid != 0 && updates.done > 0) {
    // The measured side's own cost, whichever side limits the rate.
    std::printf("server_cpu_us_per_request=%.1f\n",
                (cpu_seconds(o.pid) - cpu_before) * 1e6 / static_cast<double>(updates.done));
  }
  std::printf("connections=%zu\n", client.connection_count());
  return updates.failed == 0 ? 0 : 1;
}

int bench_http_echo(const std::vector<std::string>& args) {
  std::uint16_t port = 0;
  std::string cert, key;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--port")) {
      port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--cert")) {
      cert = r.value();
    } else if (r.is("--key")) {
      key = r.value();
    } else {
      throw std::invalid_argument(
          "usage: tether bench http-echo --port N [--cert FILE --key FILE]");
    }
  }
  transport::EventLoop loop;
  auto tls = https_server_tls(cert, key, {}, "--cert/--key");
  transport::HttpServerOptions options;
  options.port = port;
  options.tls = tls ? &*tls : nullptr;
  options.max_connections = 100'000;
  transport::HttpServer server(loop, options,
                               [](const http::Request&, transport::HttpServer::Responder to) {
                                 http::Response response;
                                 response.status = 204;
                                 to.respond(std::move(response));
                               });
  if (auto ok = server.start(); !ok) throw std::invalid_argument(ok.error().reason);
  install_stop_handlers();
  while (!stop_requested()) loop.run_once(Duration{200});
  return 0;
}

}  // namespace tether::app
