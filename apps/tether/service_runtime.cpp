#include "service_runtime.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "api/json_mapping.hpp"
#include "common/logfmt.hpp"
#include "common/random.hpp"
#include "https_server_tls.hpp"
#include "option_table.hpp"
#include "resident_memory.hpp"
#include "server/clock.hpp"
#include "tls/gnutls/gnutls_backend.hpp"

namespace tether::app {

namespace {
// Read by every worker's thread; lock-free, so the signal handler may set it.
std::atomic<int> g_stop{0};
static_assert(std::atomic<int>::is_always_lock_free);
extern "C" void on_stop_signal(int) {
  g_stop = 1;
}
}  // namespace

namespace {
// At most this many warn lines a second: hostile input must not flood the log.
constexpr int kWarnLinesPerSecond = 20;
}  // namespace

namespace {
constexpr const char* kLevels[] = {"debug", "info", "warn", "error"};
int g_min_level = 1;  // info
bool g_json = false;

int level_rank(std::string_view level) {
  for (int i = 0; i < 4; ++i) {
    if (level == kLevels[i]) return i;
  }
  return 1;
}
}  // namespace

void configure_logging(const std::string& level, const std::string& format) {
  bool known = false;
  for (const char* l : kLevels) known = known || level == l;
  if (!known) throw std::invalid_argument("--log-level takes debug, info, warn or error");
  if (format != "logfmt" && format != "json") {
    throw std::invalid_argument("--log-format takes logfmt or json");
  }
  g_min_level = level_rank(level);
  g_json = format == "json";
}

void log_line(const std::string& fields, const char* level) {
  if (level_rank(level) < g_min_level) return;
  // --workers: lines come from several threads; each is whole, and the warning budget one.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  static std::int64_t window = 0;
  static int in_window = 0;
  static std::uint64_t suppressed = 0;
  const UnixMillis now = server::SystemClock().unix_now();
  std::string extra;
  if (std::string_view(level) == "warn") {
    if (now / 1000 != window) {
      window = now / 1000;
      in_window = 0;
    }
    if (++in_window > kWarnLinesPerSecond) {
      ++suppressed;
      return;
    }
  }
  // The next line that goes out, of any level, says how many warnings were left out.
  if (suppressed != 0) {
    extra = " suppressed_warnings=" + std::to_string(suppressed);
    suppressed = 0;
  }
  if (g_json) {
    nlohmann::ordered_json j{{"ts", api::iso8601(now)}, {"level", level}};
    for (auto& [key, value] : parse_logfmt(fields + extra)) {
      if (value) {
        j[key] = std::move(*value);
      } else {
        j[key] = true;
      }
    }
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    std::fprintf(stderr, "%s\n", line.c_str());
    return;
  }
  std::fprintf(stderr, "ts=%s level=%s %s%s\n", api::iso8601(now).c_str(), level, fields.c_str(),
               extra.c_str());
}

void log_event(const server::ServerEvent& e) {
  std::string line = "event=" + std::string(server::event_kind_name(e.kind));
  line += logfmt_field("ep", e.endpoint);
  if (e.registration) {
    line += logfmt_field("id", e.registration->id) + logfmt_field("addr", e.registration->address) +
            " lt=" + std::to_string(e.registration->lifetime) +
            logfmt_field("b", e.registration->binding) +
            logfmt_field("lwm2m", e.registration->version) +
            (e.registration->queue_mode ? " Q" : "");
  }
  if (!e.address.empty()) line += logfmt_field("addr", e.address);
  if (!e.observation_id.empty()) line += logfmt_field("observation", e.observation_id);
  if (e.content) line += " code=" + e.content->code.to_string();
  if (!e.detail.empty()) line += logfmt_field("detail", e.detail);
  log_line(line, e.kind == server::ServerEvent::Kind::kRefused ? "warn" : "info");
}

void log_loop_errors(transport::EventLoop& loop) {
  loop.set_error_handler([](const std::string& what) {
    log_line("event=internal-error" + logfmt_field("detail", what) +
                 logfmt_field("action", "kept serving"),
             "error");
  });
}

api::ApiConfig api_config(const ServiceOptions& o, Duration default_timeout,
                          std::optional<tls::GnutlsBackend>& tls) {
  api::ApiConfig c;
  c.software_version = TETHER_VERSION;
  c.host = o.http_host;
  c.port = o.http_port;
  c.default_timeout = default_timeout;
  c.limits.max_body_bytes = static_cast<std::size_t>(o.api_max_body);
  if (!o.api_users_file.empty()) {
    auto j = nlohmann::json::parse(to_string(read_binary_file(o.api_users_file)), nullptr, false);
    auto users = api::ApiUsers::from_json(j);
    if (!users) throw std::invalid_argument(o.api_users_file + ": " + users.error().reason);
    c.users = std::move(*users);
  }
  if (!o.api_token_file.empty()) {
    std::string token = read_secret_file(o.api_token_file, "token");
    if (auto ok = c.users.add(api::ApiUser{"token", api::Role::kOperator, token, {}}); !ok) {
      throw std::invalid_argument(o.api_token_file + ": " + ok.error().reason);
    }
  }
  emplace_https_server_tls(tls, o.api_cert, o.api_key, o.api_client_ca, "--api-cert/--api-key");
  c.tls = tls ? &*tls : nullptr;
  // Seed 004: with users, they prove themselves; without, the API is open to its address.
  std::string modes = c.users.empty() ? "none" : c.users.has_passwords() ? "token,digest" : "token";
  if (!o.api_client_ca.empty()) modes = c.users.empty() ? "certificate" : modes + ",certificate";
  c.auth = interface_auth_config(o.api_auth, modes, "--api-auth");
  c.nonce_secret.resize(32);
  SystemRandom().fill(c.nonce_secret);
  if (!is_loopback_host(c.host) && c.auth.anonymous) {
    log_line("event=api-open" + logfmt_field("host", c.host) +
                 logfmt_field("detail",
                              "the REST API takes calls from the network from anyone; "
                              "set --api-users (or --api-token-file)"),
             "warn");
  }
  return c;
}

void prepare_data_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  ::umask(077);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  } else if ((fs::status(dir).permissions() & (fs::perms::group_all | fs::perms::others_all)) !=
             fs::perms::none) {
    log_line("event=data-dir-open" + logfmt_field("dir", dir) +
                 logfmt_field("detail", "others may read it; it holds keys (chmod 700)"),
             "warn");
  }
  for (const char* name : {"tether.db", "tether.db-wal", "tether.db-shm", "bootstrap.json"}) {
    const fs::path file = fs::path(dir) / name;
    // Only our own regular files: a link planted there must not make us chmod its target.
    if (fs::symlink_status(file, ec).type() == fs::file_type::regular) {
      fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write,
                      fs::perm_options::replace | fs::perm_options::nofollow, ec);
    }
  }
}

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() {
  return g_stop != 0;
}

void read_settings_file(
    const std::string& file,
    const std::function<void(const std::string&, const nlohmann::json&)>& apply) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read config file " + file);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw std::invalid_argument(file + " is not a JSON object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    try {
      apply(it.key(), it.value());
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(file + ": " + it.key() + ": " + e.what());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(file + ": " + e.what());
    }
  }
}

std::string CoapListeners::describe() const {
  std::string out;
  auto add = [&out](const char* name, std::uint16_t port) {
    out += std::string(out.empty() ? "" : " ") + name + "=" + std::to_string(port);
  };
  if (udp) add("udp", udp->local_port());
  if (tcp) add("tcp", tcp->local_port());
  if (dtls) add("dtls", dtls->local_port());
  if (tls) add("tls", tls->local_port());
  return out;
}

std::string CoapListeners::metrics() const {
  const long rss = rss_kib(static_cast<int>(getpid()));
  return session_metrics() +
         "# HELP tether_process_resident_bytes Resident memory of this process.\n"
         "# TYPE tether_process_resident_bytes gauge\ntether_process_resident_bytes " +
         std::to_string(rss < 0 ? 0 : rss * 1024) + "\n";
}

std::string CoapListeners::session_metrics() const {
  std::string sessions =
      "# HELP tether_secure_sessions (D)TLS sessions held, handshaking or up.\n"
      "# TYPE tether_secure_sessions gauge\n";
  std::string handshakes =
      "# HELP tether_secure_handshakes (D)TLS handshakes in progress.\n"
      "# TYPE tether_secure_handshakes gauge\n";
  std::string compact =
      "# HELP tether_secure_sessions_compact DTLS sessions carried on by their record keys "
      "alone (GnuTLS's state freed once the peer sent data under them).\n"
      "# TYPE tether_secure_sessions_compact gauge\n";
  std::string compacted =
      "# HELP tether_secure_sessions_compacted_total DTLS sessions that went on on their "
      "record keys alone.\n"
      "# TYPE tether_secure_sessions_compacted_total counter\n";
  auto add = [&](const char* name, transport::Transport* t) {
    const tls::SecureLayer* layer = t != nullptr ? t->secure_layer() : nullptr;
    if (layer == nullptr) return;
    const std::string label = std::string("{transport=\"") + name + "\"} ";
    sessions += "tether_secure_sessions" + label + std::to_string(layer->session_count()) + "\n";
    handshakes +=
        "tether_secure_handshakes" + label + std::to_string(layer->half_open_count()) + "\n";
    compact +=
        "tether_secure_sessions_compact" + label + std::to_string(layer->compact_count()) + "\n";
    compacted += "tether_secure_sessions_compacted_total" + label +
                 std::to_string(layer->compacted_total()) + "\n";
  };
  add("dtls", dtls.get());
  add("tls", tls.get());
  return sessions + handshakes + compact + compacted;
}

Bytes read_binary_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + file);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string read_secret_file(const std::string& file, const std::string& what) {
  std::string secret = to_string(read_binary_file(file));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.empty()) throw std::invalid_argument(file + " holds no " + what);
  return secret;
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost";
}

bool names_redis(const std::string& store) {
  return store.starts_with("redis://") || store.starts_with("redis+sentinel://") ||
         store.starts_with("redis+cluster://");
}

std::optional<server::RedisConnection::Address> redis_store_address(const ServiceOptions& o) {
  if (!names_redis(o.store)) return std::nullopt;
  auto address = server::RedisConnection::Address::parse_url(o.store);
  if (!address) throw std::invalid_argument(address.error().reason);
  // From a file, as --mqtt-password-file: out of the command line, where `ps` shows it.
  if (!o.redis_password_file.empty()) {
    address->password = read_secret_file(o.redis_password_file, "Redis password");
  }
  return std::move(*address);
}

std::string node_name(const ServiceOptions& o) {
  if (!o.node_id.empty()) return o.node_id;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(o.coap_port);
}

CoapListeners listen_coap(transport::EventLoop& loop, Random& random, const ServiceOptions& o,
                          const tls::ServerCredentials& lookup, oscore::Keyring& keyring,
                          const Bytes& ticket_key, PortSharing sharing) {
  CoapListeners l;
  // Another worker's listener on the same carrier: its port, shared.
  auto port_of = [](const transport::Transport* t, std::uint16_t port) {
    return t != nullptr ? t->local_port() : port;
  };
  const CoapListeners* join = sharing.join;
  coap::EndpointConfig plain_config;
  // Refused OSCORE requests (a replay, a wrong key, an unknown kid) are warn lines naming
  // the address they came from; the transports are made below.
  auto by_name = std::make_shared<std::map<std::string, transport::Transport*>>();
  keyring.set_refusal_handler(
      [by_name](const std::string& carrier, coap::PeerId peer, const oscore::Refusal& r) {
        auto it = by_name->find(carrier);
        log_line("event=oscore-refused" + logfmt_field("transport", carrier) +
                     logfmt_field("addr", it != by_name->end() ? it->second->describe(peer) : "") +
                     " code=" + r.code.to_string() + logfmt_field("detail", r.diagnostic),
                 "warn");
      });
  auto config_for = [&plain_config, &keyring, &o](const char* name) {
    coap::EndpointConfig c = plain_config;
    c.decorator = std::make_shared<oscore::OscoreDecorator>(keyring.peers(name));
    // A forward proxy that kept our address in the request (Proxy-Scheme, Uri-Port) passes
    // on a request for us: served (OSCORE through proxies, seed 003).
    const bool secure = std::string_view(name) == "dtls" || std::string_view(name) == "tls";
    const std::uint16_t port = secure ? o.coaps_port : o.coap_port;
    c.names_self = [port](const std::string&, std::uint16_t p) { return port != 0 && p == port; };
    return c;
  };
  auto tcp_at = [&o, &sharing](std::uint16_t port) {
    transport::TcpOptions t;
    t.bind_host = o.bind;
    t.port = port;
    t.reuse_port = sharing.reuse;
    t.first_of_group = sharing.join == nullptr;
    return t;
  };
  // Over datagrams a delayed request can be replayed (Transport TS 5.7); streams need no gate.
  auto gated = [&o, &config_for](std::unique_ptr<binding::coap_binding::FreshnessGate>& gate,
                                 const char* name) {
    coap::EndpointConfig c = config_for(name);
    if (o.echo_after_silence == 0) return c;
    binding::coap_binding::FreshnessRules rules;
    rules.after_silence = Duration{std::int64_t{o.echo_after_silence} * 1000};
    gate = std::make_unique<binding::coap_binding::FreshnessGate>(rules);
    gate->install(c);
    return c;
  };
  auto udp_options = [&o, &sharing](std::uint16_t port) {
    auto u = transport::udp_at(o.bind, port);
    const std::size_t shares = std::max<std::size_t>(sharing.shares, 1);
    u.peers.max_loose = std::max<std::size_t>((o.max_stray_peers + shares - 1) / shares, 1);
    u.reuse_port = sharing.reuse;
    u.first_of_group = sharing.join == nullptr;
    return u;
  };
  if (o.udp) {
    l.udp = std::make_unique<transport::UdpTransport>(
        loop, gated(l.udp_gate, "udp"), random,
        udp_options(port_of(join ? join->udp.get() : nullptr, o.coap_port)));
    (*by_name)["udp"] = l.udp.get();
  }
  if (o.tcp) {
    l.tcp = std::make_unique<transport::TcpTransport>(
        loop, config_for("tcp"), random,
        tcp_at(port_of(join ? join->tcp.get() : nullptr, o.coap_port)));
    (*by_name)["tcp"] = l.tcp.get();
  }
  if (o.coaps_port == 0) return l;
  tls::GnutlsOptions g;
  g.server = lookup;
  g.ticket_key = ticket_key;
  if (!o.key.empty()) g.server->private_key = read_binary_file(o.key);
  if (!o.cert.empty()) {
    if (o.key.empty()) throw std::invalid_argument("--cert needs --key");
    g.server->certificate_chain = read_binary_file(o.cert);
  }
  if (!o.client_ca.empty()) g.server->client_trust_anchors = {read_binary_file(o.client_ca)};
  try {
    l.tls_backend = std::make_unique<tls::GnutlsBackend>(std::move(g));
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(std::string("(D)TLS configuration: ") + e.what());
  }
  transport::SecureOptions secure;
  secure.backend = l.tls_backend.get();
  secure.layer.role = tls::Role::kServer;
  if (o.session_idle_timeout != 0) {
    secure.layer.idle_timeout = Duration{std::int64_t{o.session_idle_timeout} * 1000};
  }
  // A handshake that fails says why, in a warn line: a wrong key, an unknown identity, a
  // certificate that does not verify.
  auto report_failures = [](transport::Transport& t, const char* name) {
    t.secure_layer()->set_event_handler([&t, name](const tls::SecureEvent& e) {
      if (e.kind != tls::SecureEvent::Kind::kFailed) return;
      log_line(std::string("event=handshake-failed") + logfmt_field("transport", name) +
                   logfmt_field("addr", t.describe(e.peer)) +
                   logfmt_field("detail", e.failure.describe()),
               "warn");
    });
  };
  if (o.udp) {
    auto u = udp_options(port_of(join ? join->dtls.get() : nullptr, o.coaps_port));
    u.secure = secure;
    l.dtls = std::make_unique<transport::UdpTransport>(loop, gated(l.dtls_gate, "dtls"), random, u);
    (*by_name)["dtls"] = l.dtls.get();
    report_failures(*l.dtls, "dtls");
  }
  if (o.tcp) {
    auto t = tcp_at(port_of(join ? join->tls.get() : nullptr, o.coaps_port));
    t.secure = secure;
    l.tls = std::make_unique<transport::TcpTransport>(loop, config_for("tls"), random, t);
    (*by_name)["tls"] = l.tls.get();
    report_failures(*l.tls, "tls");
  }
  return l;
}

}  // namespace tether::app
