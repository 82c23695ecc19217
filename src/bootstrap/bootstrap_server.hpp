#pragma once
// The LwM2M Bootstrap-Server over any number of bindings (server/server_link.hpp; Core TS 5.2
// and 6.1, Transport TS 6.4.2 and 8.3.1). A client's Bootstrap-Request (or an operator, for
// server-initiated bootstrap) starts a session that runs the endpoint's configuration as a sequence
// of requests, one at a time: Bootstrap-Discover and -Read if asked for, the Deletes, one
// Bootstrap-Write per instance, the seed 001 replacement of the Bootstrap-Server Account,
// then Bootstrap-Finish, whose 4.06 means the client found the result inconsistent.
// Bootstrap-Pack-Request is answered with the configuration's writes in one payload.
//
// Single-threaded and sans-I/O like the LwM2M server: every call comes from the loop that
// drives the transports, and the owner calls on_timer() at next_deadline().
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bootstrap/bootstrap_config.hpp"
#include "bootstrap/store/bootstrap_store.hpp"
#include "coap/timer_queue.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/operation/bootstrap_request.hpp"
#include "lwm2m/operation/downlink_request.hpp"
#include "lwm2m/operation/uplink.hpp"
#include "oscore/keyring.hpp"
#include "server/clock.hpp"
#include "server/credential_index.hpp"
#include "server/registration_registry.hpp"
#include "server/server_event.hpp"
#include "server/server_link.hpp"
#include "transport/transport.hpp"

namespace tether::server {
class CoapServerLink;
}

namespace tether::bootstrap {

struct BootstrapServerConfig {
  // How long one request of a session may wait for its answer (CoAP retransmissions
  // included) before the session fails.
  Duration step_timeout{60'000};
  // Seed 000: when a configuration's client credentials change (through the API, or after
  // a seed 001 account replacement), the (D)TLS session proved with the old ones is closed.
  bool renew_sessions_on_credential_change = true;
};

// One request of a session and what came of it.
struct BootstrapStep {
  lwm2m::Operation op = lwm2m::Operation::kBootstrapFinish;
  lwm2m::Path path;
  std::string result;  // the client's code ("2.04"), or "timeout" / "unreachable" / "skipped"
  std::optional<lwm2m::DownlinkResponse> response;  // what a Discover or Read returned
};

// A session as the API shows it: running, or the last one per endpoint.
struct BootstrapSession {
  enum class State : std::uint8_t { kRunning, kFinished, kFailed };
  std::string endpoint;
  State state = State::kRunning;
  bool server_initiated = false;
  std::string transport;
  std::string address;
  server::UnixMillis started_at = 0;
  server::UnixMillis ended_at = 0;
  std::vector<BootstrapStep> steps;
  std::string error;
  bool account_replaced = false;  // seed 001: the Bootstrap-Server Account was replaced
};
const char* session_state_name(BootstrapSession::State s);

struct BootstrapMetrics {
  std::uint64_t requests = 0, refused = 0, packs = 0, server_initiated = 0;
  std::uint64_t finished = 0, failed = 0;
};

using BootstrapEventHandler = std::function<void(const server::ServerEvent&)>;

class BootstrapServer {
 public:
  BootstrapServer(BootstrapServerConfig config, server::Clock& clock, BootstrapStore& store,
                  const lwm2m::model::ObjectRegistry& models);
  ~BootstrapServer();
  BootstrapServer(const BootstrapServer&) = delete;
  BootstrapServer& operator=(const BootstrapServer&) = delete;

  // Serves the Bootstrap interface on `transport` under `name` ("udp", "tcp").
  void attach(transport::Transport& transport, std::string name);
  // Serves it on any binding (server/link/).
  server::ServerLink& attach(std::unique_ptr<server::ServerLink> link);
  // OSCORE (Transport TS 5.5): configurations whose credentials are in mode oscore bootstrap
  // their clients through contexts in `keyring`, which the transports' OSCORE layers use;
  // the Sender Sequence Number bound is kept with the configuration. Call before restore().
  void use_oscore(oscore::Keyring& keyring);
  // Loads the configurations from the store.
  Result<Ok> restore();

  // --- configurations (the API) ---------------------------------------------
  Result<Ok> put_config(BootstrapConfig config);
  // For the (D)TLS servers in front: the key of a PSK identity and whether a raw public key
  // is one a configuration names (what clients prove to us).
  std::optional<Bytes> psk_key_for(ByteView identity) const;
  bool knows_public_key(ByteView spki) const;
  bool remove_config(const std::string& endpoint);
  // Several nodes on one store: another node changed or removed an endpoint's
  // configuration, or this node may have missed changes (its bus was down); this node
  // reads them again (ending a session keyed with credentials that changed).
  Result<Ok> reload_config(const std::string& endpoint);
  Result<Ok> reload_configs();
  const BootstrapConfig* config(const std::string& endpoint) const;
  std::size_t config_count() const { return configs_.size(); }
  // The configurations in endpoint order, paged (the API's lists).
  void walk_configs(std::string_view after, std::string_view prefix,
                    const std::function<bool(const BootstrapConfig&)>& visit) const;
  // What put_config would refuse, without storing anything (the API's dry run).
  Result<Ok> check_config(const BootstrapConfig& config) const;

  // Server-initiated bootstrap (Core TS 5.2.1.2 of seed 001): runs the endpoint's
  // configuration against the client at `address` ("host:port") over the named transport,
  // or where the client last spoke from.
  Result<Ok> start(const std::string& endpoint, const std::optional<std::string>& address,
                   const std::optional<std::string>& transport);
  const BootstrapSession* session(const std::string& endpoint) const;
  std::vector<const BootstrapSession*> sessions() const;

  void set_event_handler(BootstrapEventHandler handler) { on_event_ = std::move(handler); }
  // Told the endpoint whose configuration this node stored or removed (through the API, a
  // configurations file, or a replaced Bootstrap-Server Account), so the nodes sharing the
  // store can read it again (bootstrap/config_sync). Not told of reloads.
  void set_change_handler(std::function<void(const std::string& endpoint)> handler) {
    on_change_ = std::move(handler);
  }
  const BootstrapMetrics& metrics() const { return metrics_; }
  const lwm2m::model::ObjectRegistry& models() const { return models_; }
  std::size_t running() const { return runs_.size(); }

  void on_timer();
  std::optional<Instant> next_deadline();

 private:
  using ServerLink = server::ServerLink;
  using PeerKey = server::PeerKey;
  struct Run;
  struct Timeout {
    std::string endpoint;
    std::uint64_t run_id = 0;
    std::size_t step = 0;
  };

  void handle_uplink(const server::UplinkFrom& from, Result<lwm2m::Uplink> uplink,
                     server::UplinkReply& reply);
  // The answers, as values the carrying binding encodes.
  lwm2m::UplinkAnswer answer_bootstrap_request(const server::UplinkFrom& from,
                                               const lwm2m::BootstrapRequest& br, bool& start_run,
                                               std::optional<lwm2m::format::ContentFormat>& format);
  lwm2m::UplinkAnswer answer_pack_request(const server::UplinkFrom& from,
                                          const lwm2m::BootstrapPackRequest& pr);
  Result<Ok> check_peer(const BootstrapConfig& config, const ServerLink& link,
                        const PeerKey& peer) const;
  // Takes a configuration as stored (nullopt: none) into configs_ and the indexes.
  Result<Ok> adopt(const std::string& endpoint, std::optional<BootstrapConfig> stored);
  // Keeps credentials_ in step with a configuration's `credentials`.
  void index_credentials(const BootstrapConfig& config);
  void begin(const BootstrapConfig& config, ServerLink& link, const PeerKey& peer,
             std::optional<lwm2m::format::ContentFormat> format, bool server_initiated);
  void advance(Run& run);
  void on_answer(const std::string& endpoint, std::uint64_t run_id,
                 Result<lwm2m::DownlinkResponse> m);
  // Records a failure; the rest of the plan gives way to Bootstrap-Finish unless the client
  // cannot be reached at all.
  void abandon(Run& run, const std::string& why, bool send_finish);
  void end(Run& run, BootstrapSession::State state);
  // A refused request: counted, and reported as a kRefused event (a warn log line).
  void emit_refused(const std::string& endpoint, const ServerLink& link, const PeerKey& peer,
                    const std::string& reason);
  void emit(const std::string& endpoint, std::string detail,
            std::optional<lwm2m::DownlinkResponse> content = std::nullopt);
  void flush_transports();
  // Where an endpoint spoke from last (for server-initiated runs and session renewal).
  void remember(const std::string& endpoint, ServerLink& link, const PeerKey& peer);
  // Closes the endpoint's (D)TLS session after its credentials changed.
  void renew_session(const std::string& endpoint);

  BootstrapServerConfig config_;
  server::Clock& clock_;
  BootstrapStore& store_;
  const lwm2m::model::ObjectRegistry& models_;
  BootstrapEventHandler on_event_;
  std::function<void(const std::string&)> on_change_;
  BootstrapMetrics metrics_;
  server::LinkSet links_;
  std::vector<server::CoapServerLink*> coap_links_;  // they learn the OSCORE keyring
  std::map<std::string, BootstrapConfig> configs_;
  server::CredentialIndex credentials_;  // what the configurations' clients prove
  oscore::Keyring* oscore_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Run>> runs_;  // by endpoint
  std::map<std::string, BootstrapSession> history_;             // the last ended session
  struct Seen {
    ServerLink* link = nullptr;
    PeerKey peer;
    std::string address;
    server::PeerIdentity identity;  // what its (D)TLS session proved, if any
  };
  std::map<std::string, Seen> last_seen_;
  coap::TimerQueue<Timeout> timers_;
  std::uint64_t next_run_ = 1;
};

}  // namespace tether::bootstrap
