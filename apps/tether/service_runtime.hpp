#pragma once
// What the long-running commands (`tether server`, `tether bootstrap`) share: logfmt lines,
// SIGINT/SIGTERM handling, JSON config files and the CoAP transports they listen on.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/http_service.hpp"
#include "binding/coap/freshness_gate.hpp"
#include "common/random.hpp"
#include "oscore/keyring.hpp"
#include "server/server_event.hpp"
#include "server/store/redis/redis_connection.hpp"
#include "tls/credentials.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

// logfmt lines on stderr: "ts=... level=... " then `fields` (built with logfmt_field, so
// nothing a peer sent can split or forge a line). Warn lines are limited to 20 a second;
// the ones left out are counted, and the next line says how many (suppressed_warnings=N).
void log_line(const std::string& fields, const char* level = "info");
// --log-level (debug, info, warn, error: lines below it are left out) and --log-format
// (logfmt, or json: one object per line with the same fields). Throws std::invalid_argument.
void configure_logging(const std::string& level, const std::string& format);
// One line per event, the endpoint in each; refusals are warn lines.
void log_event(const server::ServerEvent& e);
// Exceptions caught at the loop's boundary become error lines.
void log_loop_errors(transport::EventLoop& loop);

struct ServiceOptions;

// The REST API's settings from the service options: address, port, body cap, and seed 004's
// protection: users (--api-users, and the --api-token-file token as operator "token"), the
// authentication modes (--api-auth), and HTTPS (--api-cert/--api-key/--api-client-ca, whose
// backend goes in `tls`, which must outlive the API). Throws std::invalid_argument for
// files that cannot be read or settings that do not fit together.
api::ApiConfig api_config(const ServiceOptions& o, Duration default_timeout,
                          std::optional<tls::GnutlsBackend>& tls);
// Creates the data directory 0700 (it holds keys) and makes new files 0600 (umask 077);
// files already there that hold keys are made 0600 too.
void prepare_data_dir(const std::string& dir);

// SIGINT and SIGTERM set the flag that stop_requested() reads.
void install_stop_handlers();
bool stop_requested();

// Reads a JSON object file and hands each key and value to `apply`, which throws
// std::invalid_argument for a setting it does not know.
void read_settings_file(
    const std::string& file,
    const std::function<void(const std::string&, const nlohmann::json&)>& apply);

// CoAP over UDP and TCP on one port, either may be off; and with a secure port, coaps
// (DTLS) and coaps+tcp (TLS) on it.
struct CoapListeners {
  std::unique_ptr<tls::Backend> tls_backend;  // before the transports that use it
  // Echo before unsafe requests after a silence, per datagram transport (--echo-after-silence).
  std::unique_ptr<binding::coap_binding::FreshnessGate> udp_gate;
  std::unique_ptr<binding::coap_binding::FreshnessGate> dtls_gate;
  std::unique_ptr<transport::UdpTransport> udp;
  std::unique_ptr<transport::TcpTransport> tcp;
  std::unique_ptr<transport::UdpTransport> dtls;
  std::unique_ptr<transport::TcpTransport> tls;
  // "udp=5683 tcp=5683 dtls=5684 tls=5684" for the start-up line.
  std::string describe() const;
  // --workers: drops what the UDP and DTLS sockets received while the workers' sockets were
  // still joining their port (UdpTransport::discard_queued); returns how many.
  std::size_t discard_queued() {
    return (udp ? udp->discard_queued() : 0) + (dtls ? dtls->discard_queued() : 0);
  }
  // /metrics lines: (D)TLS sessions and handshakes in progress per secure listener, and
  // the process's resident memory (the console's server page).
  std::string metrics() const;
  // The sessions and handshakes only (a worker's part; the process's memory is counted once).
  std::string session_metrics() const;
  // Serves on each listener that is up, under the names stored with registrations.
  template <typename Engine>
  void attach_to(Engine& engine) {
    if (udp) engine.attach(*udp, "udp");
    if (tcp) engine.attach(*tcp, "tcp");
    if (dtls) engine.attach(*dtls, "dtls");
    if (tls) engine.attach(*tls, "tls");
  }
};
// What the (D)TLS servers ask `*engine` (a server or bootstrap server, set once it is made)
// during handshakes: the key of a PSK identity, whether a raw public key is known.
template <typename Engine>
tls::ServerCredentials credentials_lookup(Engine* const& engine) {
  tls::ServerCredentials c;
  c.psk_key_for = [&engine](ByteView id) { return engine->psk_key_for(id); };
  c.knows_public_key = [&engine](ByteView spki) { return engine->knows_public_key(spki); };
  return c;
}

// `lookup` tells the (D)TLS servers which PSK identities and raw public keys are known;
// it is called during handshakes, so the engine it asks may be created later. Every
// listener has an OSCORE layer over `keyring` (Transport TS 5.5: OSCORE over plain CoAP and
// inside (D)TLS alike), keyed by the listener's name. `ticket_key`: the session-ticket key
// the nodes sharing a store use alike (empty: the backend's own).
// `tether server --workers N`: every worker's listeners bind with SO_REUSEPORT, and those
// after the first join its ports (which may have been chosen by the system).
struct PortSharing {
  bool reuse = false;
  const CoapListeners* join = nullptr;
  // How many listeners share the ports (--workers): a node-wide cap such as
  // --max-stray-peers is split between them.
  std::size_t shares = 1;
};
CoapListeners listen_coap(transport::EventLoop& loop, Random& random, const ServiceOptions& o,
                          const tls::ServerCredentials& lookup, oscore::Keyring& keyring,
                          const Bytes& ticket_key = {}, PortSharing sharing = {});
// --store redis://...: where Redis is, with the password of --redis-password-file;
// nullopt for any other store. Throws std::invalid_argument on a bad URL.
std::optional<server::RedisConnection::Address> redis_store_address(const ServiceOptions& o);
// Whether a --store value is a Redis URL (docs/redis.md), and the forms, for messages.
bool names_redis(const std::string& store);
inline constexpr const char* kRedisUrls =
    "redis://HOST[:PORT][/DB], redis+sentinel://HOST[:PORT][,...]/NAME[/DB] or "
    "redis+cluster://HOST[:PORT][,...]";
// This node among those sharing a store: --node-id, else HOSTNAME:COAP_PORT (stable across
// restarts, so a node restarted at once still finds what it owns).
std::string node_name(const ServiceOptions& o);
// Reads a PEM or DER file (a key or certificate).
Bytes read_binary_file(const std::string& file);
// A password or token kept in a file, off the command line: the file without its trailing
// line ends (an editor's newline; other white space is part of the secret). Throws
// std::invalid_argument when it holds nothing; `what` names it ("password", "token").
std::string read_secret_file(const std::string& file, const std::string& what);
// 127.0.0.1, ::1 or localhost: an address only this machine reaches.
bool is_loopback_host(const std::string& host);

}  // namespace tether::app
