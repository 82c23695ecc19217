#pragma once
// The LwM2M server over any number of bindings (server_link.hpp: CoAP, MQTT). It answers the
// Registration interface and Send, and carries the API's Device Management and Information
// Reporting requests to clients: one at a time per client (NSTART = 1), held while a
// queue-mode client sleeps (Transport TS 6.5). Observations and registrations go to the
// store and are restored from it at start.
//
// Single-threaded: every call comes from the loop that drives the transports. Timers are
// sans-I/O: the owner calls on_timer() at next_deadline().
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "coap/timer_queue.hpp"
#include "common/random.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/operation/downlink_request.hpp"
#include "lwm2m/operation/uplink.hpp"
#include "oscore/keyring.hpp"
#include "server/clock.hpp"
#include "server/credential_index.hpp"
#include "server/registration_handover.hpp"
#include "server/registration_registry.hpp"
#include "server/server_event.hpp"
#include "server/server_link.hpp"
#include "server/store/server_store.hpp"
#include "transport/transport.hpp"

namespace tether::server {

class CoapServerLink;

struct ServerConfig {
  RegistryConfig registry;
  // Transport TS 6.5: a queue-mode client counts as asleep this long after its last message
  // (MAX_TRANSMIT_WAIT with the default transmission parameters).
  Duration awake_window{93'000};
  // How long a request may wait for its answer when the caller gives no timeout.
  Duration default_timeout{30'000};
  // How often buffered store writes are flushed.
  Duration store_flush_interval{1'000};
  // Off (default): Register, Update and De-register are answered at once and written
  // behind, within store_flush_interval; a crash loses at most that window, which clients
  // repair with their next Update or Register. On: they are answered only once the store
  // has committed them (group commit: the answers of one loop turn share one transaction).
  bool sync_writes = false;
  // Transport TS 5.2.4 (seed 000): replacing an endpoint's credentials ends its live (D)TLS
  // session, so its next message handshakes with the new ones.
  bool renew_sessions_on_credential_change = true;
  // Back-pressure (issue 22). Registrations held at most; a Register for a new endpoint
  // beyond it gets 5.03 with Max-Age (between half and 1.5 times full_retry_after, so a
  // refused fleet does not come back at once). 0: no cap. Updates are always served.
  std::size_t max_registrations = 0;
  // The registrations that cap counts: this server's own when empty; with --workers, every
  // worker's (WorkerDirectory::size), so no worker is full while the node is not.
  std::function<std::size_t()> fleet_size;
  Duration full_retry_after{60'000};
  // Requests waiting for one client (a sleeping one, say); beyond it send() reports kBusy.
  std::size_t max_queued_per_client = 100;
  // Several nodes on one store: at most this many store lookups a second for locations this
  // node does not hold (a takeover costs a round trip to the store).
  std::size_t max_store_lookups_per_second = 1'000;
  // --workers: registrations asked of the other workers at once (RegistrationHandover);
  // beyond it, a location this worker does not hold is answered 4.04 at once.
  std::size_t max_handovers_in_flight = 1'024;
  // How often to look for nodes that died, whose registrations this node then takes.
  Duration orphan_check_interval{5'000};
};

struct DownlinkOptions {
  // Gives up (and reports kTimeout) after this long, queued or in flight. 0: default_timeout.
  Duration timeout{0};
  // Queue mode: when the client is asleep, report kQueued at once; the answer comes later
  // as a kResponse event carrying the ticket.
  bool return_when_queued = false;
};

struct DownlinkResult {
  enum class Status : std::uint8_t {
    kAnswered,       // `response` holds the client's answer (any code)
    kQueued,         // queued for a sleeping client; see DownlinkOptions
    kNotRegistered,  // no such endpoint
    kBadRequest,     // the request cannot be sent (e.g. the body does not encode)
    kTimeout,
    kUnreachable,  // RST, connection closed, retransmissions exhausted
    kEnded,        // the registration ended before an answer came
    kBusy,         // the client already has max_queued_per_client requests waiting
  };
  Status status = Status::kAnswered;
  std::optional<lwm2m::DownlinkResponse> response;
  std::string message;
  std::uint64_t ticket = 0;
  std::string observation_id;  // Observe that succeeded
};
const char* downlink_status_name(DownlinkResult::Status s);

using DownlinkCallback = std::function<void(DownlinkResult)>;
using EventHandler = std::function<void(const ServerEvent&)>;

// Counters for /metrics.
struct ServerMetrics {
  std::uint64_t registers = 0, updates = 0, deregisters = 0, expirations = 0, sends = 0;
  std::uint64_t notifications = 0, rejected_uplinks = 0;
  std::uint64_t refused_full = 0;    // Registers answered 5.03: max_registrations reached
  std::uint64_t store_failures = 0;  // flushes the store refused (kept, tried again)
  std::uint64_t takeovers = 0;       // registrations taken over from another node or worker
  // Downlink requests by operation name and result ("2.05", "timeout", ...).
  std::map<std::pair<std::string, std::string>, std::uint64_t> requests;
  // Downlink latency histogram: upper bounds in ms, counts per bucket, plus sum and count.
  static constexpr std::array<std::int64_t, 10> kLatencyBoundsMs{5,   10,   25,   50,    100,
                                                                 250, 1000, 2500, 10000, 60000};
  std::array<std::uint64_t, 11> latency_buckets{};
  std::int64_t latency_sum_ms = 0;
  std::uint64_t latency_count = 0;
};

class Lwm2mServer {
 public:
  Lwm2mServer(ServerConfig config, Clock& clock, Random& random, ServerStore& store,
              const lwm2m::model::ObjectRegistry& models);
  ~Lwm2mServer();
  Lwm2mServer(const Lwm2mServer&) = delete;
  Lwm2mServer& operator=(const Lwm2mServer&) = delete;

  // Serves LwM2M on `transport` under `name` ("udp", "tcp"): names are stored with each
  // registration, so they must stay the same across restarts.
  CoapServerLink& attach(transport::Transport& transport, std::string name);
  // Serves LwM2M on any binding (server/link/): the same rule for its name.
  ServerLink& attach(std::unique_ptr<ServerLink> link);
  // OSCORE (Transport TS 5.5): credentials of mode oscore become contexts in `keyring`, which
  // the transports' OSCORE layers use, and the server's Sender Sequence Number bound goes to
  // the store. Call before restore().
  void use_oscore(oscore::Keyring& keyring);
  // Loads registrations, observations and credentials from the store; drops what expired
  // while the server was down.
  Result<Ok> restore();
  // Flushes the store; the owner stops feeding the transports after this.
  void shutdown();

  // --- API side -----------------------------------------------------------
  const Registration* find(const std::string& endpoint) const { return registry_.find(endpoint); }
  std::size_t registration_count() const { return registry_.size(); }
  // What --max-registrations counts (ServerConfig::fleet_size): every worker's with
  // --workers, else registration_count().
  std::size_t held() const { return config_.fleet_size ? config_.fleet_size() : registry_.size(); }
  // The registrations in endpoint order, paged (RegistrationRegistry::walk).
  void walk_registrations(std::string_view after, std::string_view prefix,
                          const std::function<bool(const Registration&)>& visit) const {
    registry_.walk(after, prefix, visit);
  }
  const FleetCounts& fleet_counts() const { return registry_.counts(); }
  // Queue-mode clients awake now (the rest of FleetCounts::queue_mode sleep).
  std::size_t awake_count() const { return awake_count_; }
  bool is_awake(const std::string& endpoint) const;
  std::size_t queue_depth(const std::string& endpoint) const;
  // Requests waiting for or in flight to any client (for /metrics).
  std::size_t total_queue_depth() const;
  // Sends `request` to the client. `done` runs exactly once (perhaps before this returns).
  std::uint64_t send(const std::string& endpoint, lwm2m::DownlinkRequest request,
                     DownlinkOptions options, DownlinkCallback done);
  // Ends an observation: active sends a cancelling request, passive forgets it locally.
  // Either way the server stops listening at once. An active cancel reports the client's
  // answer to `done` (and in the observation-ended event) when it comes.
  bool cancel_observation(const std::string& observation_id, bool active,
                          DownlinkCallback done = nullptr);
  std::vector<ObservationRecord> observations(const std::string& endpoint) const;
  // Removes a registration as if it had expired (operator action).
  bool evict(const std::string& endpoint);
  // Several workers (--workers): the endpoint registered with another worker, whose socket
  // its datagrams reach now; this one lets its registration go without an event (the
  // client did not leave) and ends what waited on it here.
  bool release(const std::string& endpoint);
  // Several nodes on one store: another node took registration `id` of `endpoint` over (its
  // device reached that node); this node lets its copy go as release() does, if it still
  // holds that very registration.
  bool release_taken(const std::string& endpoint, const std::string& id);
  // Told each registration this node took over from node `from`, for that node to let its
  // copy go (NodeRouting::tell_taken).
  using TakenHandler = std::function<void(const std::string& endpoint, const std::string& id,
                                          const std::string& from)>;
  void set_taken_handler(TakenHandler handler) { on_taken_ = std::move(handler); }
  // --workers: asks `handover` for a registration at a location this worker does not hold
  // before answering 4.04 (registration_handover.hpp). It outlives the server.
  void set_handover(RegistrationHandover* handover) { handover_ = handover; }
  // A copy of the registration at `location`, with its observations, for the worker its
  // device reaches now: only for the identity that registered (Transport TS 5.2.6) and only
  // before it runs out; nullopt otherwise. It stays here until that worker has it (the
  // directory then says so, and release() lets it go without an event).
  std::optional<ServerStore::Found> hand_over(const std::string& location,
                                              const PeerIdentity& identity);
  // An answer to set_handover's ask: the registration another worker holds, or nullopt
  // from a worker that does not. The Update or De-register that asked then goes on (after
  // kHandoverWait without every answer, as for a location nobody holds).
  void handed(std::uint64_t ask, std::optional<ServerStore::Found> found);

  // Per-endpoint credentials (Transport TS 5.2.6): kept in the store, checked at Register.
  Result<Ok> put_credentials(Credentials credentials);
  // False when there were none; an error (5.00) when the store cannot make it durable.
  Result<bool> remove_credentials(const std::string& endpoint);
  // Several nodes: another node changed or removed an endpoint's credentials in the shared
  // store; this node reads them again (ending a session keyed with the old ones, as after a
  // change made here).
  Result<Ok> reload_credentials(const std::string& endpoint);
  std::optional<Credentials> credentials(const std::string& endpoint) const;
  std::size_t credential_count() const { return credentials_.all().size(); }
  // The credentials in endpoint order, paged (as walk_registrations).
  void walk_credentials(std::string_view after, std::string_view prefix,
                        const std::function<bool(const Credentials&)>& visit) const;
  // For the (D)TLS servers in front: the key of a PSK identity, and whether a raw public
  // key belongs to an endpoint on file.
  std::optional<Bytes> psk_key_for(ByteView identity) const;
  bool knows_public_key(ByteView spki) const;

  void set_event_handler(EventHandler handler) { on_event_ = std::move(handler); }
  // Which frequent events (kUpdated) the handler wants, so that the engine builds no event
  // nobody reads; none set: all of them.
  void set_event_filter(std::function<bool(ServerEvent::Kind, const std::string& endpoint)> f) {
    event_filter_ = std::move(f);
  }
  // Transport TS 6.6: called when a request waits for a sleeping queue-mode client, once
  // until the client is heard from again (the app wakes it by SMS, --sms-auto-wake). It
  // returns whether a wake-up went out; if not, the next queued request asks again.
  using SleeperHandler = std::function<bool(const Registration&)>;
  void set_sleeper_handler(SleeperHandler handler) { on_sleeper_ = std::move(handler); }
  // Told when the store starts refusing its periodic flush (the reason), when the reason
  // changes, and when it takes writes again (""), so a log says it once, not every second.
  using StoreHealthHandler = std::function<void(const std::string& error)>;
  void set_store_health_handler(StoreHealthHandler handler) {
    on_store_health_ = std::move(handler);
  }
  void set_registration_policy(RegistrationPolicy policy);
  const lwm2m::model::ObjectRegistry& models() const { return models_; }
  const ServerMetrics& metrics() const { return metrics_; }
  // Each link's own counters (ServerLink::counters), by link name.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::uint64_t>>>>
  link_counters() const {
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::uint64_t>>>> out;
    for (const auto& l : links_.all()) out.emplace_back(l->name(), l->counters());
    return out;
  }
  ServerStore& store() { return store_; }

  // --- timers -------------------------------------------------------------
  void on_timer();
  std::optional<Instant> next_deadline();

 private:
  struct Session;
  struct Pending;
  struct Observation;
  enum class TimerKind : std::uint8_t { kRequestTimeout, kSleep, kStoreFlush, kHandover };
  struct TimerEntry {
    TimerKind kind;
    std::string key;
    std::uint64_t id = 0;
  };

  void handle_uplink(const UplinkFrom& from, Result<lwm2m::Uplink> uplink, UplinkReply& reply);
  // Points the client's session at the link and peer it spoke from, and counts it awake.
  Session& bind_session(ServerLink& link, const PeerKey& peer, const Registration& r);
  // Back-pressure: whether a Register for `endpoint` finds the server full, and its answer.
  bool full_for(const std::optional<std::string>& endpoint) const;
  lwm2m::UplinkAnswer server_full();
  void on_registered(ServerLink& link, const PeerKey& peer, const Registration& r,
                     const std::optional<Registration>& replaced);
  lwm2m::UplinkAnswer handle_send(const UplinkFrom& from, const PeerIdentity& identity,
                                  ByteView payload, std::uint16_t content_format);
  // Whether the session's peer is still the client that registered (Transport TS 5.2.6).
  bool reaches_registrant(Session& s) const;
  // `released`: another worker or node serves it now (release()): its record is left to
  // that one (ServerStore::let_go), and no event says it ended.
  void end_registration(const Registration& r, ServerEvent::Kind why, bool released = false);
  Session& session_for(const Registration& r);
  Session* session_of(const std::string& endpoint);
  // Puts credentials already stored into the index (and OSCORE keyring); `changed`: they
  // replace different ones, so a session keyed with those ends.
  Result<Ok> apply_credentials(Credentials credentials, bool changed);
  // The session that last spoke from the link's peer, if any.
  Session* session_at(const ServerLink& link, const PeerKey& peer);
  // Forgets the session's (link, peer) unless another session has been bound there since.
  void unbind_peer(Session& s);
  // Names the session at its (link, peer) in session_by_peer_.
  void index_peer(Session& s);
  void heard_from(Session& s);
  void pump(Session& s);
  void dispatch(Session& s, std::unique_ptr<Pending> p);
  void complete(Pending& p, DownlinkResult result);
  void start_observation(Session& s, Pending& p, ExchangeId exchange);
  // Sends the restored observation's request again (RFC 8613 B.1.3); keeps its id.
  void observe_again(Session& s, const Observation& obs);
  // Whether it adopted a registration another node held under `location`.
  bool take_over(const std::string& location, const PeerIdentity& identity);
  // --workers: whether it asked the other workers for the registration at `location` (the
  // uplink then waits in handovers_, answered by handed()).
  bool ask_elsewhere(std::string location, const PeerIdentity& identity, const UplinkFrom& from,
                     lwm2m::Uplink& uplink, UplinkReply& reply);
  // Adopts what another worker gave, at the address `from` speaks from now.
  void adopt_handed(ServerStore::Found found, const UplinkFrom& from);
  struct Handover;
  // The uplink that waited for the other workers runs again (after adopting `found`),
  // without asking them again.
  void go_on(std::unordered_map<std::uint64_t, Handover>::iterator it,
             std::optional<ServerStore::Found> found);
  // kHandover: the answers did not all come (a worker's loop stopped).
  void give_up_handover(std::uint64_t ask);
  static constexpr Duration kHandoverWait{2'000};
  void claim_orphans();
  void adopt_registration(const Registration& r, UnixMillis now);
  void adopt_observations(const std::vector<ObservationRecord>& records);
  void on_notification(const std::string& observation_id, Result<lwm2m::DownlinkResponse> m);
  // Ends the observation's exchange and forgets it; the caller tidies the rest.
  std::unique_ptr<Observation> forget_observation(const std::string& observation_id);
  void drop_observation(const std::string& observation_id, const std::string& why);
  // drop_observation without the event: an active cancel reports when the answer comes.
  std::unique_ptr<Observation> drop_observation_quietly(const std::string& observation_id);
  void emit_observation_ended(const std::string& endpoint, const std::string& observation_id,
                              const std::string& why);
  Result<PeerKey> resolve_peer(Session& s);
  std::optional<lwm2m::format::ContentFormat> body_format(const Registration& r,
                                                          const lwm2m::DownlinkRequest& req) const;
  void record_request(const Pending& p, const std::string& result);
  // Answers a registration-interface request and runs `then`: at once (no allocation on
  // this hot path), or with sync_writes after the store commits (5.00 if it cannot).
  // `made` names the registration the request made or updated (endpoint and ID; empty for
  // De-register): a held `then` runs only if it is still there after the commit.
  using HeldKey = std::pair<std::string, std::string>;
  HeldKey held_key(const Registration& r) const;
  template <typename Then>
  void acknowledge(UplinkReply& reply, lwm2m::UplinkAnswer answer, HeldKey made, Then&& then);
  void commit_held();
  bool wants_event(ServerEvent::Kind kind, const std::string& endpoint) const;
  void emit(ServerEvent e);
  void flush_transports();

  // Issue 22: ending a registration costs a few microseconds; 1,000 of them hold the loop
  // for a few milliseconds at most.
  static constexpr std::size_t kExpiriesPerTurn = 1000;

  ServerConfig config_;
  Clock& clock_;
  Random& random_;
  ServerStore& store_;
  const lwm2m::model::ObjectRegistry& models_;
  RegistrationRegistry registry_;
  EventHandler on_event_;
  std::function<bool(ServerEvent::Kind, const std::string&)> event_filter_;
  SleeperHandler on_sleeper_;
  StoreHealthHandler on_store_health_;
  std::string store_error_;  // the last flush's error; "" while the store takes writes
  Instant orphans_checked_{};
  Instant lookups_since_{};  // take_over's budget: lookups_ made since this instant
  std::size_t lookups_ = 0;
  ServerMetrics metrics_;
  std::size_t awake_count_ = 0;  // sessions in queue mode with `awake` set
  LinkSet links_;
  std::vector<CoapServerLink*> coap_links_;  // they learn the OSCORE keyring
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;  // by endpoint
  // (link, peer) -> the session last bound there, to know who sent an uplink that names no
  // registration. An entry goes with its session (unbind_peer).
  std::unordered_map<LinkPeer, Session*, LinkPeerHash> session_by_peer_;
  std::unordered_map<std::string, std::unique_ptr<Observation>> observations_;
  coap::TimerQueue<TimerEntry> timers_;
  std::uint64_t next_ticket_ = 1;
  std::uint64_t next_observation_ = 1;
  CredentialIndex credentials_;
  oscore::Keyring* oscore_ = nullptr;
  TakenHandler on_taken_;
  struct Held {
    std::unique_ptr<UplinkReply> reply;
    lwm2m::UplinkAnswer answer;
    std::function<void()> then;
    std::string endpoint;  // the registration `then` acts on, if any
    std::string registration_id;
  };
  std::vector<Held> held_;  // sync_writes: answers waiting for the next commit
  RegistrationHandover* handover_ = nullptr;
  // Uplinks waiting for the other workers' answers, by ask.
  struct Handover {
    UplinkFrom from;
    lwm2m::Uplink uplink;
    std::unique_ptr<UplinkReply> reply;
    std::size_t answers_left = 0;
  };
  std::unordered_map<std::uint64_t, Handover> handovers_;
  std::uint64_t next_ask_ = 1;
  bool asked_ = false;  // set while an uplink the other workers answered runs again
};

}  // namespace tether::server
