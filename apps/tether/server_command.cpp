// `tether server`: the LwM2M server on CoAP over UDP and TCP, with the REST API, the
// embedded SQLite store and structured logs. Options come from flags and an optional JSON
// config file (flags win).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/http_api.hpp"
#include "api/json_mapping.hpp"
#include "cli_options.hpp"
#include "commands.hpp"
#include "server/server_loop.hpp"
#include "server/store/memory/memory_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) {
  g_stop = 1;
}

struct ServerOptions {
  std::string bind = "::";
  std::uint16_t coap_port = 5683;
  bool udp = true;
  bool tcp = true;
  std::string http_host = "0.0.0.0";
  std::uint16_t http_port = 8080;
  std::string store = "sqlite";
  std::string data_dir = "tether-data";
  std::string models;
  std::int64_t awake_window_ms = 93'000;
  std::int64_t request_timeout_ms = 30'000;
  std::uint32_t expiry_grace = 0;
  bool quiet = false;
};

void apply_config_file(const std::string& file, ServerOptions& o) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read config file " + file);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::invalid_argument(file + " is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "bind")
      o.bind = v.get<std::string>();
    else if (k == "coapPort")
      o.coap_port = v.get<std::uint16_t>();
    else if (k == "udp")
      o.udp = v.get<bool>();
    else if (k == "tcp")
      o.tcp = v.get<bool>();
    else if (k == "httpHost")
      o.http_host = v.get<std::string>();
    else if (k == "httpPort")
      o.http_port = v.get<std::uint16_t>();
    else if (k == "store")
      o.store = v.get<std::string>();
    else if (k == "dataDir")
      o.data_dir = v.get<std::string>();
    else if (k == "models")
      o.models = v.get<std::string>();
    else if (k == "awakeWindowMs")
      o.awake_window_ms = v.get<std::int64_t>();
    else if (k == "requestTimeoutMs")
      o.request_timeout_ms = v.get<std::int64_t>();
    else if (k == "expiryGraceSeconds")
      o.expiry_grace = v.get<std::uint32_t>();
    else
      throw std::invalid_argument(file + ": unknown setting " + k);
  }
}

ServerOptions parse_options(const std::vector<std::string>& args) {
  ServerOptions o;
  // The config file first, so that flags override it wherever they appear.
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") apply_config_file(args[i + 1], o);
  }
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--config")) {
      r.value();
    } else if (r.is("--bind")) {
      o.bind = r.value();
    } else if (r.is("--coap-port", "-p")) {
      o.coap_port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--udp-only")) {
      o.tcp = false;
    } else if (r.is("--tcp-only")) {
      o.udp = false;
    } else if (r.is("--http-host")) {
      o.http_host = r.value();
    } else if (r.is("--http-port")) {
      o.http_port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--store")) {
      o.store = r.value();
      if (o.store != "sqlite" && o.store != "memory") {
        throw std::invalid_argument("--store is sqlite or memory");
      }
    } else if (r.is("--data-dir")) {
      o.data_dir = r.value();
    } else if (r.is("--models")) {
      o.models = r.value();
    } else if (r.is("--awake-window-ms")) {
      o.awake_window_ms = static_cast<std::int64_t>(parse_number(r.value(), 86'400'000));
    } else if (r.is("--request-timeout-ms")) {
      o.request_timeout_ms = static_cast<std::int64_t>(parse_number(r.value(), 86'400'000));
    } else if (r.is("--expiry-grace")) {
      o.expiry_grace = static_cast<std::uint32_t>(parse_number(r.value(), 86'400));
    } else if (r.is("--quiet", "-q")) {
      o.quiet = true;
    } else {
      throw std::invalid_argument("unknown option " + r.current() + " (see tether server --help)");
    }
  }
  return o;
}

// logfmt: one line per event, the endpoint in each.
void log_event(const server::ServerEvent& e) {
  std::string line = "ts=" + api::iso8601(server::SystemClock().unix_now()) +
                     " level=info event=" + server::event_kind_name(e.kind) + " ep=" + e.endpoint;
  if (e.registration) {
    line += " id=" + e.registration->id + " addr=" + e.registration->address +
            " lt=" + std::to_string(e.registration->lifetime) + " b=" + e.registration->binding +
            " lwm2m=" + e.registration->version + (e.registration->queue_mode ? " Q" : "");
  }
  if (!e.observation_id.empty()) line += " observation=" + e.observation_id;
  if (e.content) line += " code=" + e.content->code.to_string();
  if (!e.detail.empty()) line += " detail=\"" + e.detail + "\"";
  std::fprintf(stderr, "%s\n", line.c_str());
}

void log_line(const std::string& text) {
  std::fprintf(stderr, "ts=%s level=info %s\n",
               api::iso8601(server::SystemClock().unix_now()).c_str(), text.c_str());
}
}  // namespace

int server_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(
          "usage: tether server [options]\n"
          "  --config FILE          JSON settings (keys: bind, coapPort, udp, tcp, httpHost,\n"
          "                         httpPort, store, dataDir, models, awakeWindowMs,\n"
          "                         requestTimeoutMs, expiryGraceSeconds); flags win\n"
          "  --bind HOST            CoAP address (default :: , dual-stack)\n"
          "  --coap-port N          CoAP port for UDP and TCP (default 5683)\n"
          "  --udp-only | --tcp-only\n"
          "  --http-host HOST       REST API address (default 0.0.0.0)\n"
          "  --http-port N          REST API port (default 8080)\n"
          "  --store sqlite|memory  where registrations live (default sqlite)\n"
          "  --data-dir DIR         SQLite data directory (default ./tether-data)\n"
          "  --models DIR           extra object definitions (LWM2M.xsd XML)\n"
          "  --awake-window-ms N    queue mode: awake time after a client's message (93000)\n"
          "  --request-timeout-ms N default wait for a client's answer (30000)\n"
          "  --expiry-grace S       seconds a registration outlives its lifetime (0)\n"
          "  -q, --quiet            no per-event log lines\n",
          stdout);
      return 0;
    }
  }
  const ServerOptions o = parse_options(args);

  auto models = lwm2m::model::ObjectRegistry::with_builtin();
  if (!o.models.empty()) {
    auto loaded = models.load_directory(o.models);
    if (!loaded) throw std::invalid_argument(loaded.error().reason);
  }
  std::unique_ptr<server::ServerStore> store;
  if (o.store == "sqlite") {
    std::filesystem::create_directories(o.data_dir);
    auto opened = server::SqliteStore::open(o.data_dir + "/tether.db");
    if (!opened) throw std::invalid_argument(opened.error().reason);
    store = std::move(*opened);
  } else {
    store = std::make_unique<server::MemoryStore>();
  }

  transport::EventLoop loop;
  SystemRandom random;
  server::SystemClock clock;
  // Declared before the server: the server keeps pointers to them while it lives.
  std::unique_ptr<transport::UdpTransport> udp;
  std::unique_ptr<transport::TcpTransport> tcp;
  server::ServerConfig config;
  config.awake_window = Duration{o.awake_window_ms};
  config.default_timeout = Duration{o.request_timeout_ms};
  config.registry.expiry_grace_seconds = o.expiry_grace;
  server::Lwm2mServer server(config, clock, random, *store, models);

  coap::EndpointConfig coap_config;
  if (o.udp) {
    udp = std::make_unique<transport::UdpTransport>(loop, coap_config, random,
                                                    transport::UdpOptions{o.bind, o.coap_port});
    server.attach(*udp, "udp");
  }
  if (o.tcp) {
    transport::TcpOptions t;
    t.bind_host = o.bind;
    t.port = o.coap_port;
    tcp = std::make_unique<transport::TcpTransport>(loop, coap_config, random, t);
    server.attach(*tcp, "tcp");
  }

  api::ApiConfig api_config;
  api_config.host = o.http_host;
  api_config.port = o.http_port;
  api_config.default_timeout = config.default_timeout;
  api::HttpApi http(api_config, loop, server);
  server.set_event_handler([&](const server::ServerEvent& e) {
    if (!o.quiet) log_event(e);
    http.publish(e);
  });
  if (auto restored = server.restore(); !restored) {
    throw std::invalid_argument("cannot restore state: " + restored.error().reason);
  }
  if (auto started = http.start(); !started) throw std::invalid_argument(started.error().reason);

  log_line("event=started registrations=" + std::to_string(server.registration_count()) +
           (udp ? " udp=" + std::to_string(udp->local_port()) : std::string{}) +
           (tcp ? " tcp=" + std::to_string(tcp->local_port()) : std::string{}) +
           " http=" + std::to_string(http.port()) + " store=" + o.store +
           (o.store == "sqlite" ? " data=" + o.data_dir : std::string{}));
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  while (!g_stop) server::run_step(loop, server, Duration{200});

  // Graceful shutdown: stop taking API calls, then make everything durable.
  log_line("event=stopping");
  http.stop();
  server.shutdown();
  log_line("event=stopped registrations=" + std::to_string(server.registration_count()));
  return 0;
}

}  // namespace tether::app
