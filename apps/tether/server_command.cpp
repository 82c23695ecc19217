// `tether server`: the LwM2M server on CoAP over UDP and TCP, with the REST API, the
// embedded SQLite store and structured logs. Options come from flags and an optional JSON
// config file (flags win).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/http_api.hpp"
#include "api/json_mapping.hpp"
#include "cli_options.hpp"
#include "commands.hpp"
#include "server/server_loop.hpp"
#include "server/store/memory/memory_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "service_runtime.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

namespace {
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
  read_settings_file(file, [&o](const std::string& k, const nlohmann::json& v) {
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
      throw std::invalid_argument("unknown setting " + k);
  });
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
  CoapListeners listeners = listen_coap(loop, random, o.bind, o.coap_port, o.udp, o.tcp);
  server::ServerConfig config;
  config.awake_window = Duration{o.awake_window_ms};
  config.default_timeout = Duration{o.request_timeout_ms};
  config.registry.expiry_grace_seconds = o.expiry_grace;
  server::Lwm2mServer server(config, clock, random, *store, models);

  if (listeners.udp) server.attach(*listeners.udp, "udp");
  if (listeners.tcp) server.attach(*listeners.tcp, "tcp");

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

  log_line("event=started registrations=" + std::to_string(server.registration_count()) + " " +
           listeners.describe() + " http=" + std::to_string(http.port()) + " store=" + o.store +
           (o.store == "sqlite" ? " data=" + o.data_dir : std::string{}));
  install_stop_handlers();
  while (!stop_requested()) server::run_step(loop, server, Duration{200});

  // Graceful shutdown: stop taking API calls, then make everything durable.
  log_line("event=stopping");
  http.stop();
  server.shutdown();
  log_line("event=stopped registrations=" + std::to_string(server.registration_count()));
  return 0;
}

}  // namespace tether::app
