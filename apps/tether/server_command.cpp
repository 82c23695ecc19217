// `tether server`: the LwM2M server on CoAP over UDP and TCP, with the REST API, the
// embedded SQLite store and structured logs. Options come from flags and an optional JSON
// config file (flags win).
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/http_api.hpp"
#include "api/json_mapping.hpp"
#include "binding/coap/lorawan_registration.hpp"
#include "cli_options.hpp"
#include "commands.hpp"
#include "common/logfmt.hpp"
#include "console_source.hpp"
#include "http_binding_service.hpp"
#include "lorawan_service.hpp"
#include "mqtt_service.hpp"
#include "nidd_service.hpp"
#include "option_table.hpp"
#include "server/link/coap_server_link.hpp"
#include "server/server_loop.hpp"
#include "server/store/memory/memory_store.hpp"
#include "server/store/redis/redis_node_bus.hpp"
#include "server/store/redis/redis_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"
#include "server/workers/group_node_bus.hpp"
#include "server/workers/local_node_bus.hpp"
#include "server/workers/worker_group.hpp"
#include "server/workers/worker_store.hpp"
#include "server_worker.hpp"
#include "service_runtime.hpp"
#include "sms_service.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

namespace {
struct ServerOptions : ServiceOptions {
  ServerOptions() { store = "sqlite"; }
  std::int64_t awake_window_ms = 93'000;
  std::int64_t request_timeout_ms = 30'000;
  std::uint32_t expiry_grace = 0;
  bool sync_writes = false;
  // 0: one per 16 KiB of the machine's memory.
  std::uint64_t max_registrations = 0;
  std::uint32_t max_queued_per_client = 100;
  // Event loops serving CoAP, each on its own thread and core (server_worker.hpp); 0: one
  // per core this process may run on.
  std::uint32_t workers = 0;
};

// The cores this process may run on (taskset, a container's cpuset), at most 256.
std::uint32_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return static_cast<std::uint32_t>(std::clamp(CPU_COUNT(&set), 1, 256));
}

ServerOptions parse_options(const std::vector<std::string>& args) {
  ServerOptions o;
  OptionTable table("server");
  add_service_options(table, o);
  table.number("--awake-window-ms", "awakeWindowMs", o.awake_window_ms, 86'400'000)
      .number("--request-timeout-ms", "requestTimeoutMs", o.request_timeout_ms, 86'400'000)
      .number("--expiry-grace", "expiryGrace", o.expiry_grace, 86'400)
      .boolean("--sync-writes", "syncWrites", o.sync_writes)
      .number("--max-registrations", "maxRegistrations", o.max_registrations,
              std::uint64_t{1} << 40)
      .number("--max-queued-per-client", "maxQueuedPerClient", o.max_queued_per_client, 1'000'000)
      .number("--workers", "workers", o.workers, 256);
  table.parse(args);
  configure_logging(o.log_level, o.log_format);
  if (o.store != "sqlite" && o.store != "memory" && !names_redis(o.store)) {
    throw std::invalid_argument("--store is sqlite, memory, " + std::string(kRedisUrls));
  }
  if (o.workers == 0) o.workers = usable_cores();
  return o;
}

// A node is full before the kernel's OOM killer decides for it: a NoSec registration takes
// ~2-4 KB, one with a DTLS session ~17 KB (docs/performance.md). The memory is the machine's,
// or the container's limit when it has a lower one (cgroup v2's memory.max).
std::size_t default_max_registrations() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 1'000'000;
  std::uint64_t memory = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
  std::ifstream limit("/sys/fs/cgroup/memory.max");
  std::uint64_t cap = 0;
  if (limit >> cap && cap > 0 && cap < memory) memory = cap;  // "max" (no limit) reads nothing
  return static_cast<std::size_t>(memory / 16'384);
}

}  // namespace

int server_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(
          "usage: tether server [options]\n"
          "  --config FILE          JSON settings, each flag in camelCase (bind, coapPort,\n"
          "                         coapsPort, tcpOnly, udpOnly, key, cert, clientCa,\n"
          "                         keepSessions, sessionIdleTimeout, echoAfterSilence, logLevel, "
          "logFormat,\n"
          "                         httpHost, httpPort, apiTokenFile, apiMaxBody, store,\n"
          "                         dataDir, models, awakeWindowMs, requestTimeoutMs,\n"
          "                         expiryGrace, syncWrites, mqtt, mqttPrefix, ...); flags win\n"
          "  --bind HOST            CoAP address (default :: , dual-stack)\n"
          "  --coap-port N          CoAP port for UDP and TCP (default 5683)\n"
          "  --udp-only | --tcp-only\n"
          "  --coaps-port N         DTLS and TLS port (default 5684; 0: off)\n"
          "  --key FILE             private key for raw public key and certificate mode\n"
          "  --cert FILE            certificate chain (PEM) for certificate mode\n"
          "  --client-ca FILE       CA certificates that issue client certificates\n"
          "  --keep-sessions        keep a client's (D)TLS session when its credentials change\n"
          "  --session-idle-timeout S  close (D)TLS sessions silent for S seconds (0: never)\n"
          "  --echo-after-silence S  Register, Update, De-register and Send over UDP/DTLS\n"
          "                         from an address silent for S seconds (or never heard)\n"
          "                         prove freshness with CoAP Echo first (0: off, default)\n"
          "  --max-stray-peers N    UDP/DTLS addresses kept that no registration holds\n"
          "                         (default 262144, split between the workers; the\n"
          "                         longest idle go first)\n"
          "  --mqtt URL             serve LwM2M on an MQTT broker too (mqtt://HOST:PORT,\n"
          "                         mqtts://HOST:PORT; Transport TS 8)\n"
          "  --mqtt-prefix P        topic prefix, the tenant (default none: lwm2m/rd/EP)\n"
          "  --mqtt-client-id ID    our MQTT client id (default tether-<random>)\n"
          "  --mqtt-ca FILE         mqtts: CA of the broker's certificate\n"
          "  --mqtt-cert FILE, --mqtt-key FILE  mqtts: our certificate and key\n"
          "  --mqtt-username U, --mqtt-password-file FILE  broker login\n"
          "  --mqtt-session-expiry S  a persistent broker session (needs --mqtt-client-id):\n"
          "                         the broker keeps devices' messages for S seconds while\n"
          "                         the server is away\n"
          "  --http-binding-port N  serve the HTTP binding (Transport TS 7) on this port too\n"
          "  --http-binding-host H  its address (default: --bind)\n"
          "  --http-binding-cert FILE, --http-binding-key FILE  HTTPS with this certificate\n"
          "  --http-binding-client-ca FILE  accept client certificates issued by this CA\n"
          "  --http-device-ca FILE  the CA of devices' HTTPS servers (default: the system's)\n"
          "  --http-device-port N   where a device that announces no origin listens (8080)\n"
          "  --http-binding-auth MODES  how devices authenticate (seed 004), of none, digest,\n"
          "                         certificate, proxy (default none,digest,certificate;\n"
          "                         an endpoint's credentials still decide)\n"
          "  --http-binding-trusted-proxy ADDR[,ADDR]  the proxies whose identity header\n"
          "                         (--http-binding-identity-header, X-Authenticated-User)\n"
          "                         names the device; ignored from anyone else\n",
          stdout);
      std::fputs(kSmsGatewayHelp, stdout);
      std::fputs(kLorawanHelp, stdout);
      std::fputs(kNiddHelp, stdout);
      std::fputs(
          "  --api-bind HOST        REST API address (default 127.0.0.1; also --http-host)\n"
          "  --http-port N          REST API port (default 8080)\n"
          "  --api-users FILE       API users with roles read or operator (docs/api.md)\n"
          "  --api-token-file FILE  a bearer token for an operator named \"token\"\n"
          "  --api-auth MODES       of none, token, digest, certificate, proxy (default:\n"
          "                         token, and digest when a user has a password; none\n"
          "                         without users)\n"
          "  --api-trusted-proxy ADDR[,ADDR], --api-identity-header NAME  as for the binding\n"
          "  --api-cert FILE --api-key FILE [--api-client-ca FILE]  HTTPS for the API\n"
          "  --api-max-body N       largest API request body in bytes (default 4194304)\n"
          "  --store sqlite|memory|redis://HOST[:PORT][/DB]  where registrations live\n"
          "                         (default sqlite; docs/redis.md), or Sentinel-managed:\n"
          "                         redis+sentinel://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB],\n"
          "                         or a Redis Cluster: redis+cluster://HOST[:PORT][,...]\n"
          "  --redis-password-file FILE  the Redis password (or redis://:PASSWORD@HOST)\n"
          "  --node-id NAME         this node among those sharing a Redis store (default\n"
          "                         HOSTNAME:COAP_PORT; docs/redis.md)\n"
          "  --data-dir DIR         SQLite data directory (default ./tether-data)\n"
          "  --models DIR           extra object definitions (LWM2M.xsd XML)\n"
          "  --no-console           no web console at / on the API port\n"
          "  --console-dir DIR      serve the console from DIR (node console/build.mjs --out DIR)\n"
          "  --awake-window-ms N    queue mode: awake time after a client's message (93000)\n"
          "  --request-timeout-ms N default wait for a client's answer (30000)\n"
          "  --expiry-grace S       seconds a registration outlives its lifetime (0)\n"
          "  --sync-writes          answer Register/Update/De-register only once stored\n"
          "                         (default: at once, stored within 1 s)\n"
          "  --max-registrations N  beyond N, a new endpoint's Register gets 5.03 with\n"
          "                         Max-Age 30-90 s (default: one per 16 KiB of memory)\n"
          "  --max-queued-per-client N  requests waiting for one client; beyond, the API\n"
          "                         answers 503 with Retry-After (default 100)\n"
          "  --workers N            CoAP event loops, each on a thread of its own sharing\n"
          "                         the ports (SO_REUSEPORT); the API, MQTT, SMS and the\n"
          "                         HTTP binding stay on the first (default: one per core\n"
          "                         this process may use); on Redis, worker k > 0 is the\n"
          "                         node NODE/w<k> (docs/redis.md)\n"
          "  -q, --quiet            no per-event log lines\n"
          "  --log-level L          debug, info, warn, error (default info)\n"
          "  --log-format F         logfmt (default) or json, one object per line\n",
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
  std::string store_name = o.store;                          // for the log: never a Redis password
  std::optional<server::RedisStore::Address> redis_address;  // several nodes share it
  server::RedisStore* redis_store = nullptr;
  std::string node;
  if (o.store == "sqlite") {
    prepare_data_dir(o.data_dir);
    auto opened = server::SqliteStore::open(worker_database(o.data_dir, 0), o.sync_writes);
    if (!opened) throw std::invalid_argument(opened.error().reason);
    store = std::move(*opened);
    store_name += logfmt_field("data", o.data_dir);
  } else if (auto address = redis_store_address(o)) {
    node = node_name(o);
    store_name = address->url() + logfmt_field("node", node);
    server::RedisStore::Options options;
    options.node = node;
    auto opened = server::RedisStore::open(*address, options);
    if (!opened) throw std::invalid_argument(opened.error().reason);
    redis_store = opened->get();
    store = std::move(*opened);
    redis_address = std::move(*address);
  } else {
    store = std::make_unique<server::MemoryStore>(server::MemoryStore::Keeps::kCredentialsOnly);
  }

  // --workers: worker 0 keeps the store opened above, where every worker's credentials
  // live; the others get one each (server_worker.hpp). A Register tells the directory, and
  // the worker that served the endpoint before lets it go; an Update reaching a worker
  // that does not hold its registration asks the others for it (WorkerGroup). On Redis
  // each worker is a node of its own, NODE/w<k> (docs/redis.md, "Workers").
  const std::size_t worker_count = o.workers;
  std::vector<std::string> worker_names;
  for (std::size_t k = 0; k < worker_count; ++k) {
    worker_names.push_back(redis_address ? worker_node_name(node, k)
                                         : server::LocalNodeHub::name_of(k));
  }
  server::WorkerDirectory directory;
  server::WorkerGroup group(worker_count, directory);
  std::unique_ptr<server::SharedCredentials> shared_credentials;
  std::unique_ptr<server::WorkerStore> worker0_store;
  server::WorkerStore::MovedHandler moved = [&group](std::size_t from, const std::string& ep) {
    group.moved(from, ep);
  };
  if (worker_count > 1) {
    shared_credentials = std::make_unique<server::SharedCredentials>(*store);
    worker0_store =
        std::make_unique<server::WorkerStore>(*store, *shared_credentials, directory, 0, moved);
    worker0_store->set_naming({worker_names, redis_address.has_value()});
  }
  server::ServerStore& store0 = worker0_store ? *worker0_store : *store;

  transport::EventLoop loop;
  log_loop_errors(loop);
  std::vector<std::unique_ptr<transport::EventLoop>> worker_loops;
  std::vector<transport::EventLoop*> all_loops{&loop};
  for (std::size_t k = 1; k < worker_count; ++k) {
    all_loops.push_back(worker_loops.emplace_back(std::make_unique<transport::EventLoop>()).get());
  }
  server::LocalNodeHub hub(all_loops);
  SystemRandom random;
  server::SystemClock clock;
  // Declared before the server: the server keeps pointers to them while it lives.
  // The (D)TLS servers ask the LwM2M server (made below) for the credentials on file.
  server::Lwm2mServer* credentials_source = nullptr;
  // The OSCORE contexts of credentials in mode oscore. Every worker keeps a copy of each:
  // they reserve sequence numbers from one bound in the shared store, and a copy proves
  // freshness again (Echo) after another worker acted on a request under it.
  oscore::ContextHolders context_holders;
  oscore::Keyring keyring;
  if (worker_count > 1) keyring.share_holding(context_holders, 0);
  // Nodes on one Redis share the DTLS session-ticket key: a device moved to another node
  // resumes its session there (docs/redis.md).
  Bytes ticket_key;
  if (redis_store != nullptr && o.coaps_port != 0) {
    Bytes candidate(tls::kTicketKeySize);
    random.fill(candidate);
    auto shared = redis_store->shared_secret("tls-ticket-key", candidate);
    if (!shared) throw std::invalid_argument(shared.error().reason);
    if (shared->size() != tls::kTicketKeySize) {
      throw std::invalid_argument("the session-ticket key in Redis has the wrong size");
    }
    ticket_key = std::move(*shared);
  }
  // Workers share one too: a device whose datagrams reach another worker resumes there.
  if (ticket_key.empty() && worker_count > 1 && o.coaps_port != 0) {
    ticket_key.resize(tls::kTicketKeySize);
    random.fill(ticket_key);
  }
  CoapListeners listeners =
      listen_coap(loop, random, o, credentials_lookup(credentials_source), keyring, ticket_key,
                  PortSharing{worker_count > 1, nullptr, worker_count});
  server::ServerConfig config;
  config.awake_window = Duration{o.awake_window_ms};
  config.default_timeout = Duration{o.request_timeout_ms};
  config.registry.expiry_grace_seconds = o.expiry_grace;
  config.renew_sessions_on_credential_change = o.renew_sessions;
  config.sync_writes = o.sync_writes;
  config.max_registrations =
      o.max_registrations != 0 ? o.max_registrations : default_max_registrations();
  // The cap counts every worker's registrations.
  if (worker_count > 1) config.fleet_size = [&directory] { return directory.size(); };
  config.max_queued_per_client = std::max<std::uint32_t>(o.max_queued_per_client, 1);
  server::Lwm2mServer server(config, clock, random, store0, models);
  if (worker_count > 1) group.join(0, loop, server);
  credentials_source = &server;
  server.use_oscore(keyring);
  listeners.attach_to(server);
  // Transport TS 6.8.3: CoAP over SMS through a Kannel gateway.
  std::unique_ptr<SmsService> sms;
  if (!o.sms.gateway.empty()) {
    sms = std::make_unique<SmsService>(loop, random, o.sms, keyring,
                                       credentials_lookup(credentials_source));
    server.attach(sms->transport(), "sms");
  }
  // Transport TS 6.8.4: LoRaWAN devices through a network server's MQTT integration.
  std::unique_ptr<LorawanService> lorawan;
  if (!o.lorawan.broker.empty()) {
    lorawan = std::make_unique<LorawanService>(loop, random, o.lorawan);
    auto& link = server.attach(lorawan->transport(), "lorawan");
    link.set_register_completion([t = &lorawan->transport(), any_name = o.lorawan.any_name](
                                     coap::PeerId peer, lwm2m::RegisterRequest& r) {
      return binding::coap_binding::complete_lorawan_register(r, t->dev_eui_of(peer), any_name);
    });
  }
  // Transport TS Appendix D.3: NB-IoT/LTE-M devices over non-IP data through an SCEF.
  std::unique_ptr<NiddService> nidd;
  if (!o.nidd.scef.empty()) {
    nidd = std::make_unique<NiddService>(loop, random, o.nidd);
    auto& link = server.attach(nidd->transport(), "nidd");
    link.set_register_completion([n = nidd.get()](coap::PeerId peer, lwm2m::RegisterRequest& r) {
      return n->complete_register(peer, r);
    });
  }
  // Transport TS 7: the HTTP binding on its own port.
  std::unique_ptr<HttpBindingService> http_binding;
  if (o.http_binding.port != 0) {
    auto options = o.http_binding;
    if (options.host.empty()) options.host = o.bind;
    http_binding = std::make_unique<HttpBindingService>(loop, options, false, models);
    server.attach(http_binding->take_link());
    http_binding->set_digest_passwords(
        [&server](std::string_view ep) -> std::optional<std::string> {
          auto c = server.credentials(std::string(ep));
          if (!c || c->kind != server::Credentials::Kind::kDigest) return std::nullopt;
          return c->http_password;
        });
  }
  std::unique_ptr<MqttService> mqtt;
  if (!o.mqtt.url.empty()) {
    mqtt = std::make_unique<MqttService>(loop, random, o.mqtt,
                                         binding::mqtt::Interface::kRegistration, models);
    server.attach(mqtt->take_link());
    // Endpoints with credentials in mode cose talk COSE_Encrypt0 (Transport TS 8.6).
    mqtt->set_cose_keys([&server](const std::string& ep) -> std::optional<binding::mqtt::CoseKey> {
      auto c = server.credentials(ep);
      if (!c || c->kind != server::Credentials::Kind::kCose) return std::nullopt;
      return binding::mqtt::CoseKey{c->cose.kid, c->cose.key, c->cose.algorithm};
    });
  }

  // Several nodes on one Redis: API calls and events between them (docs/redis.md). With
  // workers, each is a node on the bus, and the workers of this process reach each other
  // through the hub.
  std::unique_ptr<server::RedisNodeBus> bus;
  std::unique_ptr<server::GroupNodeBus> group_bus;
  std::unique_ptr<api::NodeRouting> routing;
  if (redis_address) {
    bus = start_node_bus(loop, *redis_address, node, "");
    server::NodeBus* routed = bus.get();
    if (worker_count > 1) {
      group_bus =
          std::make_unique<server::GroupNodeBus>(*bus, hub.bus(0), group_siblings(worker_names, 0));
      routed = group_bus.get();
    }
    routing = std::make_unique<api::NodeRouting>(
        loop, *routed, [&store0](const std::string& ep) { return store0.owner_of(ep); });
    if (worker_count > 1) {
      const std::vector<std::string> others(worker_names.begin() + 1, worker_names.end());
      routing->set_siblings(others);
      routing->set_group(others);
    }
    // A device the load balancer moved: the node that served it lets its copy go, and asks
    // the device to prove freshness before acting under its OSCORE context again.
    server.set_taken_handler(
        [&routing](const std::string& ep, const std::string& id, const std::string& from) {
          routing->tell_taken(from, ep, id);
        });
    routing->set_taken_sink(
        [&server](const std::string& ep, const std::string& id) { server.release_taken(ep, id); });
    // A device that registered anew through this node: the node it left is told likewise.
    if (redis_store != nullptr) {
      redis_store->set_replaced_handler(
          [&routing](const std::string& ep, const std::string& id, const std::string& owner) {
            routing->tell_taken(owner, ep, id);
          });
    }
  } else if (worker_count > 1) {
    routing = std::make_unique<api::NodeRouting>(
        loop, hub.bus(0), [&store0](const std::string& ep) { return store0.owner_of(ep); });
    std::vector<std::string> siblings;
    for (std::size_t k = 1; k < worker_count; ++k) {
      siblings.push_back(server::LocalNodeHub::name_of(k));
    }
    routing->set_siblings(std::move(siblings));
    routing->serve_as_worker();
  }
  std::optional<tls::GnutlsBackend> api_tls;  // --api-cert: HTTPS
  const api::ApiConfig api_settings = api_config(o, config.default_timeout, api_tls);
  api::HttpApi http(api_settings, loop, server);
  if (routing) {
    http.set_nodes(routing.get());
    routing->set_credentials_sink([&server](const std::string& ep) {
      if (auto ok = server.reload_credentials(ep); !ok) {
        log_line("event=credentials_reload_failed" + logfmt_field("ep", ep) +
                     logfmt_field("detail", ok.error().reason),
                 "error");
      }
    });
  }
  if (sms) {
    http.set_waker(
        [&sms](const server::Registration& r, bool bootstrap) { return sms->wake(r, bootstrap); });
  }
  // Transport TS 6.6 with --workers: SMS lives on worker 0, so the other workers' wakes
  // are posted to its loop (answered 202 once the registration shows it can be woken).
  api::HttpApi::Waker worker_waker;
  server::Lwm2mServer::SleeperHandler worker_sleeper;
  if (sms) {
    auto wake_logged = [&sms](const server::Registration& r, bool bootstrap) {
      auto sent = sms->wake(r, bootstrap);
      if (!sent) {
        log_line("event=sms-trigger-failed" + logfmt_field("ep", r.endpoint) +
                     logfmt_field("detail", sent.error().reason),
                 "warn");
      }
      return sent;
    };
    worker_waker = [&loop, wake_logged](const server::Registration& r,
                                        bool bootstrap) -> Result<std::string> {
      auto to = SmsService::wake_target(r);
      if (!to) return to.error();
      loop.post([wake_logged, r, bootstrap] { (void)wake_logged(r, bootstrap); });
      return "sms:" + *to;
    };
    if (o.sms.auto_wake) {
      server.set_sleeper_handler([wake_logged](const server::Registration& r) {
        return SmsService::wake_target(r).ok() && wake_logged(r, false).ok();
      });
      worker_sleeper = [worker_waker](const server::Registration& r) {
        return worker_waker(r, false).ok();
      };
    }
  }
  http.set_error_sink([](const std::string& what) {
    log_line("event=api-error" + logfmt_field("detail", what), "error");
  });
  server.set_store_health_handler([](const std::string& error) {
    if (error.empty()) {
      log_line("event=store_recovered");
    } else {
      log_line("event=store_failing" + logfmt_field("error", error), "error");
    }
  });
  server.set_event_handler([&](const server::ServerEvent& e) {
    if (!o.quiet || e.kind == server::ServerEvent::Kind::kRefused) log_event(e);
    http.publish(e);
  });
  server.set_event_filter([&](server::ServerEvent::Kind kind, const std::string& endpoint) {
    const char* name = server::event_kind_name(kind);
    return !o.quiet || http.anyone_wants(name, endpoint) ||
           (routing && routing->wanted_elsewhere(name));
  });
  // Workers 1..N-1: made and restored here, then each serves on its own thread.
  std::vector<std::unique_ptr<ServerWorker>> workers;
  if (worker_count > 1) {
    const WorkerSetup setup{o,
                            models,
                            config,
                            ticket_key,
                            listeners,
                            *shared_credentials,
                            directory,
                            hub,
                            group,
                            api_settings,
                            moved,
                            context_holders,
                            worker_count,
                            worker_waker,
                            worker_sleeper,
                            redis_address ? &*redis_address : nullptr,
                            worker_names};
    for (std::size_t k = 1; k < worker_count; ++k) {
      std::unique_ptr<server::ServerStore> own;
      if (o.store == "sqlite") {
        auto opened = server::SqliteStore::open(worker_database(o.data_dir, k), o.sync_writes);
        if (!opened) throw std::invalid_argument(opened.error().reason);
        own = std::move(*opened);
      } else if (redis_address) {
        server::RedisStore::Options options;
        options.node = worker_names[k];
        auto opened = server::RedisStore::open(*redis_address, options);
        if (!opened) throw std::invalid_argument(opened.error().reason);
        own = std::move(*opened);
      } else {
        own = std::make_unique<server::MemoryStore>(server::MemoryStore::Keeps::kCredentialsOnly);
      }
      workers.push_back(
          std::make_unique<ServerWorker>(k, *worker_loops[k - 1], setup, std::move(own)));
    }
  }
  // Every worker's sockets are bound now. A datagram that came while they were joining the
  // port was hashed among fewer sockets than serve it from now on: its device's next ones
  // reach another worker, which would not know the exchange (an answer to the first
  // worker's request lost). Dropped unread instead; the device repeats it.
  if (worker_count > 1) {
    std::size_t early = listeners.discard_queued();
    for (auto& w : workers) early += w->listeners().discard_queued();
    if (early > 0) {
      log_line("event=early-datagrams-dropped count=" + std::to_string(early) +
                   " detail=\"received while the workers joined the port; senders repeat them\"",
               "info");
    }
  }
  if (o.store == "sqlite") {
    std::vector<server::ServerStore*> stores{&store0};
    for (auto& w : workers) stores.push_back(&w->store());
    fold_worker_files(o.data_dir, stores);
  }
  // Workers 1..N-1 first, each serving as soon as it holds its registrations: on Redis its
  // loop refreshes its heartbeat every second, and a long restore of the others must not
  // let it lapse (other nodes would claim what it holds). Worker 0 is restored last, just
  // before its own loop runs; the others' asks wait in its loop's queue until then.
  std::size_t restored_count = 0;
  for (auto& w : workers) {
    w->restore();
    restored_count += w->server().registration_count();
    w->start();
  }
  if (auto restored = server.restore(); !restored) {
    throw std::invalid_argument("cannot restore state: " + restored.error().reason);
  }
  restored_count += server.registration_count();
  serve_console(http, o);
  http.set_extra_metrics([&listeners, &bus] {
    return listeners.metrics() + (bus ? bus->metrics_text() : std::string{});
  });
  if (auto started = http.start(); !started) throw std::invalid_argument(started.error().reason);
  if (mqtt) mqtt->start();
  if (http_binding) http_binding->start();
  if (sms) sms->start();
  if (lorawan) lorawan->start();
  if (nidd) nidd->start();

  log_line("event=started registrations=" + std::to_string(restored_count) +
           (worker_count > 1 ? " workers=" + std::to_string(worker_count) : std::string{}) + " " +
           listeners.describe() + (mqtt ? mqtt->describe() : std::string{}) +
           (http_binding ? http_binding->describe() : std::string{}) +
           (sms ? sms->describe() : std::string{}) +
           (lorawan ? lorawan->describe() : std::string{}) +
           (nidd ? nidd->describe() : std::string{}) +
           logfmt_field("http", o.http_host + ":" + std::to_string(http.port())) +
           " store=" + store_name + (o.sync_writes ? " writes=sync" : " writes=behind"));
  install_stop_handlers();
  EngineWithMqtt<server::Lwm2mServer> engines{server, mqtt.get(), loop};
  while (!stop_requested()) server::run_step(loop, engines, Duration{200});

  // Graceful shutdown: stop taking API calls, then make everything durable.
  log_line("event=stopping");
  http.stop();
  std::size_t stopped_count = 0;
  for (auto& w : workers) {
    w->join();  // each makes its own store durable first
    stopped_count += w->server().registration_count();
  }
  server.shutdown();
  // The routing goes before the store, whose last flush must not tell through it.
  if (redis_store != nullptr) redis_store->set_replaced_handler(nullptr);
  log_line("event=stopped registrations=" +
           std::to_string(stopped_count + server.registration_count()));
  return 0;
}

}  // namespace tether::app
