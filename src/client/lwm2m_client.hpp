#pragma once
// The LwM2M client (Core TS 6): bootstrap, registration with every Server Account, the
// Device Management operations (through DataModel), Observe and notifications with the
// attribute rules of Core TS 5.1.2, Send, and queue mode (Transport TS 6.5).
//
// Sans-I/O over the binding plug point (client_link.hpp): it reaches its servers through the
// links it is given (CoAP transports, an MQTT broker), never a socket, and reads time from a
// Clock. Single-threaded: every call comes from
// the loop that drives the transports; the owner calls on_timer() at next_deadline().
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client_link.hpp"
#include "client/data_model.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "lwm2m/format/content_format.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "oscore/keyring.hpp"
#include "transport/transport.hpp"

namespace tether::client {

class CoapClientLink;

struct ClientConfig {
  std::string endpoint;
  std::string version = "1.2";  // lwm2m= of Register
  bool queue_mode = false;      // Q of Register (Transport TS 6.5)
  // pct of Bootstrap-Request: the format we like Bootstrap-Writes in.
  std::optional<lwm2m::format::ContentFormat> preferred_format;
  // Ask for a Bootstrap-Pack (GET /bspack) instead of a Bootstrap-Request.
  bool bootstrap_pack = false;
  // A bootstrap session that sees no Bootstrap-Finish within this long failed.
  Duration bootstrap_timeout{120'000};
  // Queue mode: asleep this long after the last exchange (MAX_TRANSMIT_WAIT).
  Duration awake_window{93'000};
  // Notifications stored per observation while asleep, when hqmax does not say.
  std::size_t stored_notifications = 16;
  // Seed 001: whether the factory Bootstrap-Server Account holds persistent keys. When it
  // does not, and the Bootstrap-Server did not replace it, it is purged after a successful
  // bootstrap (after its Account Timeout /0/x/12 when set, else at once). A set timeout
  // purges any account (Core TS E.1).
  bool bootstrap_keys_persistent = true;
  // Transport TS 5.2.9.7: PKIX trust anchors for certificate usages 0 and 1, which the
  // Security object does not carry. Empty: the system's trust store.
  std::vector<Bytes> trust_anchors;
  // A forward proxy (coap:// or coap+tcp://) that requests to coap and coap+tcp servers go
  // through (RFC 7252 5.7.2), its scheme choosing our transport; empty: none. With OSCORE
  // the proxy sees neither payloads nor protected options (seed 003). The servers' own
  // requests cannot come back through a forward proxy.
  std::string proxy;
  // Core TS 6.2.1.1 / Transport TS 6.8.3: our MSISDN, sent as Register's sms= parameter,
  // when we can be reached by SMS; empty: none.
  std::string sms_number;
};

struct ClientEvent {
  enum class Kind : std::uint8_t {
    kBootstrapStarted,
    kBootstrapped,
    kBootstrapFailed,
    kRegistered,
    kUpdated,
    kRegistrationFailed,
    kDeregistered,
    kRequest,  // a server's operation and our answer
    kNotified,
    kSent,
    kSleeping,
    kAccountsChanged,  // Security, Server or ACL values changed: persist them
    kReleased,         // a server released the connection (RFC 8323 5.5)
  };
  Kind kind = Kind::kRequest;
  std::uint16_t ssid = 0;  // 0: the Bootstrap-Server
  std::string detail;
};
const char* event_name(ClientEvent::Kind kind);

class Lwm2mClient {
 public:
  enum class State : std::uint8_t { kIdle, kRegistering, kRegistered, kDeregistered, kFailed };

  Lwm2mClient(ClientConfig config, Clock& clock, DataModel& data);
  ~Lwm2mClient();
  Lwm2mClient(const Lwm2mClient&) = delete;
  Lwm2mClient& operator=(const Lwm2mClient&) = delete;

  // Servers under URIs of `scheme` ("coap", "coap+tcp", "coaps", "coaps+tcp") are reached
  // through `transport`; the secure schemes need a transport with a (D)TLS layer.
  void attach(transport::Transport& transport, const std::string& scheme);
  // Servers under the URI schemes `link` serves ("mqtt", ...) are reached through it.
  ClientLink& attach(std::unique_ptr<ClientLink> link);
  // OSCORE (Transport TS 5.5): the transports' OSCORE layers use `keyring`, keyed by scheme;
  // an account whose Security instance links an OSCORE instance (/0/x/17) talks to its
  // server through that context. Call before start().
  void use_oscore(oscore::Keyring& keyring);
  void set_event_handler(std::function<void(const ClientEvent&)> handler) {
    on_event_ = std::move(handler);
  }

  // Registers with every Server Account, or bootstraps when there is none.
  void start();
  // Client-initiated bootstrap (Core TS 6.1.3), now.
  void bootstrap();
  // De-registers from every server; `done` runs when all answered or gave up.
  void stop(std::function<void()> done);

  // Send (Core TS 6.4.6): the values under `paths` to server `ssid` (0: the first one).
  // `done` gets the server's code, or an error when nothing could be sent.
  void send(std::uint16_t ssid, std::vector<lwm2m::Path> paths,
            std::function<void(Result<lwm2m::Status>)> done,
            lwm2m::format::ContentFormat format = lwm2m::format::ContentFormat::kSenmlCbor);

  // GETs `uri` (coap:// or coap+tcp://, block-wise to the end) through the attached
  // transports: the pull of a Firmware Update Package URI. Failures start with "invalid URI",
  // "unsupported protocol", or say what else went wrong.
  void fetch(const std::string& uri, std::function<void(Result<Bytes>)> done);

  void on_timer();
  std::optional<Instant> next_deadline() const;

  // --- inspection ------------------------------------------------------------
  bool bootstrapping() const { return bootstrap_ != nullptr; }
  std::optional<State> state(std::uint16_t ssid) const;
  std::string location(std::uint16_t ssid) const;
  bool asleep(std::uint16_t ssid) const;
  std::size_t observation_count() const { return observations_.size(); }

 private:
  struct Session;
  struct Observation;
  struct BootstrapRun;
  // The attributes in force for an observation: stored ones, overlaid by its own query.
  lwm2m::Attributes attributes_of(const Observation& o) const;
  void handle_request(DeviceRequest& request);
  // Transport TS 6.6: a trigger by SMS from a server we are registered with elsewhere.
  void handle_sms_trigger(DeviceRequest& request);
  void after_operation(const lwm2m::DownlinkRequest& r, const lwm2m::DownlinkResponse& answer,
                       std::uint16_t ssid);
  void emit(ClientEvent::Kind kind, std::uint16_t ssid, std::string detail);

  // Connections.
  ClientLink* link_for(const std::string& uri) const;
  // The link and route for `uri`, secured with Security instance `security`.
  Result<Route> route_for(const std::string& uri, std::optional<std::uint16_t> security,
                          const std::string& alternative = {}, bool bootstrap = false);
  void on_route_event(const Route& route, const RouteEvent& event);
  void on_released(const Route& route, const RouteEvent& event);
  bool held_off(Session& s);
  bool take_route(Session& s);
  void request(const Route& route, const lwm2m::Uplink& uplink,
               std::function<void(Result<lwm2m::UplinkAnswer>)> done);

  // Registration.
  void sync_sessions();
  void register_with(Session& s);
  // Sends De-register for `location`; `then` runs on its answer or failure.
  void deregister(Session& s, const std::string& location, std::function<void()> then);
  void update(Session& s);
  // `retry_after`: the server's own word on when to try again (a 5.03's Max-Age).
  void registration_failed(Session& s, const std::string& why,
                           std::optional<std::uint32_t> retry_after = std::nullopt);
  lwm2m::RegistrationParams current_params(const Session& s) const;
  std::string server_binding(const Session& s) const;
  bool queue_mode_of(const Session& s) const;
  std::optional<double> server_value(const Session& s, std::uint16_t resource) const;
  void mark_traffic(Session& s);

  // Bootstrap.
  void bootstrap_done(bool ok, const std::string& why);
  void purge_bootstrap_account();
  void disable(Session& s);
  void apply_pack(const lwm2m::UplinkAnswer& pack);

  // Observations.
  void evaluate(Observation& o);
  void deliver(Observation& o, lwm2m::EncodedAnswer content);
  void flush_stored(Session& s);
  lwm2m::EncodedAnswer observed_content(const Observation& o) const;
  void on_change(const lwm2m::Path& path);

  ClientConfig config_;
  Clock& clock_;
  DataModel& data_;
  std::vector<std::unique_ptr<ClientLink>> links_;
  CoapClientLink* coap_link_ = nullptr;  // made at the first attach of a transport
  std::map<std::uint16_t, std::unique_ptr<Session>> sessions_;  // by Short Server ID
  std::unique_ptr<BootstrapRun> bootstrap_;
  std::optional<Route> bootstrap_route_;
  std::optional<Instant> bootstrap_retry_at_;
  std::optional<Instant> purge_at_;  // seed 001: when the Bootstrap-Server Account goes
  int bootstrap_attempts_ = 0;
  std::vector<std::unique_ptr<Observation>> observations_;
  bool changes_pending_ = false;
  bool started_ = false;
  std::function<void(const ClientEvent&)> on_event_;
  oscore::Keyring* oscore_ = nullptr;
};

}  // namespace tether::client
