// `tether bootstrap`: the LwM2M Bootstrap-Server on CoAP over UDP and TCP (port 5783), with
// its REST API (port 8081) and per-endpoint configurations kept in a JSON file in the data
// directory. Options come from flags and an optional JSON config file (flags win).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "api/bootstrap_api.hpp"
#include "bootstrap/config_sync.hpp"
#include "bootstrap/store/file/file_bootstrap_store.hpp"
#include "bootstrap/store/memory/memory_bootstrap_store.hpp"
#include "bootstrap/store/redis/redis_bootstrap_store.hpp"
#include "cli_options.hpp"
#include "commands.hpp"
#include "common/logfmt.hpp"
#include "console_source.hpp"
#include "http_binding_service.hpp"
#include "mqtt_service.hpp"
#include "option_table.hpp"
#include "server/server_loop.hpp"
#include "server/store/redis/redis_node_bus.hpp"
#include "service_runtime.hpp"
#include "sms_service.hpp"

namespace tether::app {

namespace {
struct BootstrapOptions : ServiceOptions {
  BootstrapOptions() {
    coap_port = 5783;
    coaps_port = 5784;
    http_port = 8081;
    store = "file";
  }
  std::string configs;
  std::int64_t step_timeout_ms = 60'000;
};

BootstrapOptions parse_options(const std::vector<std::string>& args) {
  BootstrapOptions o;
  OptionTable table("bootstrap");
  add_service_options(table, o);
  table.text("--configs", "configs", o.configs)
      .number("--step-timeout-ms", "stepTimeoutMs", o.step_timeout_ms, 86'400'000);
  table.parse(args);
  configure_logging(o.log_level, o.log_format);
  if (o.store != "file" && o.store != "memory" && !names_redis(o.store)) {
    throw std::invalid_argument("--store is file, memory, " + std::string(kRedisUrls));
  }
  return o;
}
}  // namespace

int bootstrap_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(
          "usage: tether bootstrap [options]\n"
          "  --config FILE          JSON settings, each flag in camelCase (bind, coapPort,\n"
          "                         coapsPort, tcpOnly, udpOnly, key, cert, clientCa,\n"
          "                         keepSessions, sessionIdleTimeout, echoAfterSilence, logLevel, "
          "logFormat,\n"
          "                         httpHost, httpPort, apiTokenFile, apiMaxBody, store,\n"
          "                         dataDir, configs, models,\n"
          "                         stepTimeoutMs)\n"
          "  --bind HOST            CoAP address (default :: , dual-stack)\n"
          "  --coap-port N          CoAP port for UDP and TCP (default 5783)\n"
          "  --coaps-port N         DTLS and TLS port (default 5784; 0: off)\n"
          "  --key FILE / --cert FILE / --client-ca FILE   as for tether server\n"
          "  --keep-sessions / --session-idle-timeout S    as for tether server\n"
          "  --echo-after-silence S  as for tether server (Bootstrap-Request, -Pack-Request)\n"
          "  --max-stray-peers N    as for tether server\n"
          "  --udp-only | --tcp-only\n"
          "  --mqtt URL, --mqtt-prefix P, --mqtt-client-id ID, --mqtt-ca FILE, --mqtt-cert FILE,\n"
          "  --mqtt-key FILE, --mqtt-username U, --mqtt-password-file FILE,\n"
          "  --mqtt-session-expiry S\n"
          "                         serve the Bootstrap interface on an MQTT broker too, on\n"
          "                         [P/]lwm2m/bs/EP (as for tether server)\n"
          "  --http-binding-port N, --http-binding-host H, --http-binding-cert FILE,\n"
          "  --http-binding-key FILE, --http-binding-client-ca FILE, --http-device-ca FILE,\n"
          "  --http-device-port N, --http-binding-auth MODES, --http-binding-trusted-proxy A,\n"
          "  --http-binding-identity-header NAME\n"
          "                         the HTTP binding's Bootstrap interface (as for tether "
          "server)\n",
          stdout);
      std::fputs(kSmsGatewayHelp, stdout);
      std::fputs(
          "  --api-bind HOST        REST API address (default 127.0.0.1; also --http-host)\n"
          "  --http-port N          REST API port (default 8081)\n"
          "  --api-users FILE, --api-token-file FILE, --api-auth MODES, --api-trusted-proxy A,\n"
          "  --api-identity-header NAME, --api-cert FILE, --api-key FILE, --api-client-ca FILE,\n"
          "  --api-max-body N       as for tether server\n"
          "  --store file|memory|redis://HOST[:PORT][/DB]  where configurations live\n"
          "                         (default file: DATA-DIR/bootstrap.json; docs/redis.md),\n"
          "                         redis+sentinel://HOST[:PORT][,...]/NAME[/DB]\n"
          "                         or redis+cluster://HOST[:PORT][,...]\n"
          "  --redis-password-file FILE  the Redis password (or redis://:PASSWORD@HOST)\n"
          "  --node-id NAME         this node among those sharing a Redis store (default\n"
          "                         HOSTNAME:COAP_PORT)\n"
          "  --data-dir DIR         data directory (default ./tether-data)\n"
          "  --configs FILE         configurations to load at start ({\"ep\": {...}}), replacing\n"
          "                         stored ones of the same endpoints (docs/bootstrap.md)\n"
          "  --models DIR           extra object definitions (LWM2M.xsd XML)\n"
          "  --no-console, --console-dir DIR   as for tether server\n"
          "  --step-timeout-ms N    wait for each answer of a session (60000)\n"
          "  -q, --quiet            no per-event log lines\n"
          "  --log-level L          debug, info, warn, error (default info)\n"
          "  --log-format F         logfmt (default) or json, one object per line\n",
          stdout);
      return 0;
    }
  }
  const BootstrapOptions o = parse_options(args);
  auto models = lwm2m::model::ObjectRegistry::with_builtin();
  if (!o.models.empty()) {
    auto loaded = models.load_directory(o.models);
    if (!loaded) throw std::invalid_argument(loaded.error().reason);
  }
  std::unique_ptr<bootstrap::BootstrapStore> store;
  std::string store_name = o.store;  // for the log: never a Redis password
  const auto redis_address = redis_store_address(o);
  const std::string node = node_name(o);
  if (o.store == "file") {
    prepare_data_dir(o.data_dir);
    auto opened = bootstrap::FileBootstrapStore::open(o.data_dir + "/bootstrap.json", models);
    if (!opened) throw std::invalid_argument(opened.error().reason);
    store = std::move(*opened);
    store_name += logfmt_field("data", o.data_dir);
  } else if (redis_address) {
    auto opened = bootstrap::RedisBootstrapStore::open(*redis_address, models);
    if (!opened) throw std::invalid_argument(opened.error().reason);
    (*opened)->set_problem_sink([](const std::string& why) {
      log_line("event=config_refused" + logfmt_field("detail", why), "error");
    });
    store = std::move(*opened);
    store_name = redis_address->url() + logfmt_field("node", node);
  } else {
    store = std::make_unique<bootstrap::MemoryBootstrapStore>();
  }

  transport::EventLoop loop;
  log_loop_errors(loop);
  SystemRandom random;
  server::SystemClock clock;
  // The (D)TLS servers ask the bootstrap server (made below) what clients prove to it.
  bootstrap::BootstrapServer* credentials_source = nullptr;
  oscore::Keyring keyring;  // the OSCORE contexts of configurations' credentials
  CoapListeners listeners =
      listen_coap(loop, random, o, credentials_lookup(credentials_source), keyring);
  bootstrap::BootstrapServerConfig config;
  config.step_timeout = Duration{o.step_timeout_ms};
  config.renew_sessions_on_credential_change = o.renew_sessions;
  bootstrap::BootstrapServer bs(config, clock, *store, models);
  credentials_source = &bs;
  bs.use_oscore(keyring);
  listeners.attach_to(bs);
  // Transport TS 6.8.3: CoAP over SMS through a Kannel gateway.
  std::unique_ptr<SmsService> sms;
  if (!o.sms.gateway.empty()) {
    sms = std::make_unique<SmsService>(loop, random, o.sms, keyring,
                                       credentials_lookup(credentials_source));
    bs.attach(sms->transport(), "sms");
  }
  // Transport TS 7: the HTTP binding on its own port.
  std::unique_ptr<HttpBindingService> http_binding;
  if (o.http_binding.port != 0) {
    auto options = o.http_binding;
    if (options.host.empty()) options.host = o.bind;
    http_binding = std::make_unique<HttpBindingService>(loop, options, true, models);
    bs.attach(http_binding->take_link());
    http_binding->set_digest_passwords([&bs](std::string_view ep) -> std::optional<std::string> {
      const auto* c = bs.config(std::string(ep));
      if (c == nullptr || !c->credentials ||
          c->credentials->kind != server::Credentials::Kind::kDigest) {
        return std::nullopt;
      }
      return c->credentials->http_password;
    });
  }
  std::unique_ptr<MqttService> mqtt;
  if (!o.mqtt.url.empty()) {
    mqtt = std::make_unique<MqttService>(loop, random, o.mqtt, binding::mqtt::Interface::kBootstrap,
                                         models);
    bs.attach(mqtt->take_link());
    // Configurations whose credentials are in mode cose bootstrap over COSE (Transport TS 8.6).
    mqtt->set_cose_keys([&bs](const std::string& ep) -> std::optional<binding::mqtt::CoseKey> {
      const auto* c = bs.config(ep);
      if (c == nullptr || !c->credentials ||
          c->credentials->kind != server::Credentials::Kind::kCose) {
        return std::nullopt;
      }
      const auto& k = c->credentials->cose;
      return binding::mqtt::CoseKey{k.kid, k.key, k.algorithm};
    });
  }
  // Several nodes on one Redis: a configuration this node changes (API, --configs, a
  // replaced account) is read again by the others (docs/redis.md). Subscribed before the
  // configurations are read, so no change made meanwhile goes unheard.
  std::unique_ptr<server::RedisNodeBus> bus;
  std::unique_ptr<bootstrap::ConfigSync> sync;
  if (redis_address) {
    bus = std::make_unique<server::RedisNodeBus>(loop, *redis_address, node, "bootstrap");
    sync = std::make_unique<bootstrap::ConfigSync>(*bus, bs);
    sync->set_error_sink([](const std::string& why) {
      log_line("event=config_reload_failed" + logfmt_field("detail", why), "error");
    });
    bus->set_status_handler([s = sync.get()](const std::string& error) {
      if (error.empty()) {
        log_line("event=node_bus_recovered");
        s->resync();  // what changed meanwhile was not heard
      } else {
        log_line("event=node_bus_failing" + logfmt_field("error", error), "error");
      }
    });
    if (auto started = bus->start(); !started) {
      log_line("event=node_bus_failing" + logfmt_field("error", started.error().reason), "error");
    }
  }
  if (auto restored = bs.restore(); !restored) {
    throw std::invalid_argument("cannot load configurations: " + restored.error().reason);
  }
  if (!o.configs.empty()) {
    auto configs = bootstrap::read_config_file(o.configs, models);
    if (!configs) throw std::invalid_argument(configs.error().reason);
    for (auto& c : *configs) {
      if (auto put = bs.put_config(std::move(c)); !put) {
        throw std::invalid_argument(o.configs + ": " + put.error().reason);
      }
    }
  }

  std::optional<tls::GnutlsBackend> api_tls;  // --api-cert: HTTPS
  api::BootstrapApi http(api_config(o, Duration{30'000}, api_tls), loop, bs);
  http.set_error_sink([](const std::string& what) {
    log_line("event=api-error" + logfmt_field("detail", what), "error");
  });
  bs.set_event_handler([&](const server::ServerEvent& e) {
    if (!o.quiet || e.kind == server::ServerEvent::Kind::kRefused) log_event(e);
    http.publish(e);
  });
  serve_console(http, o);
  http.set_extra_metrics([&listeners, &bus, &sync] {
    return listeners.metrics() + (bus ? bus->metrics_text() + sync->metrics_text() : std::string{});
  });
  if (auto started = http.start(); !started) throw std::invalid_argument(started.error().reason);
  if (mqtt) mqtt->start();
  if (http_binding) http_binding->start();
  if (sms) sms->start();

  log_line("event=started role=bootstrap configs=" + std::to_string(bs.config_count()) + " " +
           listeners.describe() + (mqtt ? mqtt->describe() : std::string{}) +
           (http_binding ? http_binding->describe() : std::string{}) +
           (sms ? sms->describe() : std::string{}) +
           logfmt_field("http", o.http_host + ":" + std::to_string(http.port())) +
           " store=" + store_name);
  install_stop_handlers();
  EngineWithMqtt<bootstrap::BootstrapServer> engines{bs, mqtt.get(), loop};
  while (!stop_requested()) server::run_step(loop, engines, Duration{200});
  log_line("event=stopping role=bootstrap");
  if (bus) bus->set_status_handler(nullptr);  // before the ConfigSync it calls goes
  http.stop();
  log_line("event=stopped role=bootstrap");
  return 0;
}

}  // namespace tether::app
