#pragma once
// The seam between the LwM2M client engine and the bindings that carry it to its servers
// (Transport TS 6 CoAP, 8 MQTT). A ClientLink reaches the servers of some URI schemes: it
// turns a Server URI into a Route, carries the client's requests (Register, Update, Send,
// Bootstrap-Request, ...) as lwm2m::Uplink values and their answers back, hands the
// servers' requests up as DeviceRequests, and carries notifications. The engine sees no
// socket, CoAP message or MQTT topic.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/time.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/answer_body.hpp"
#include "lwm2m/operation/downlink_request.hpp"
#include "lwm2m/operation/uplink.hpp"
#include "tls/failure.hpp"

namespace tether::client {

class ClientLink;

// A way to one server: the link, and what the link calls that peer (opaque to the engine).
struct Route {
  ClientLink* link = nullptr;
  std::uint64_t peer = 0;
  bool known() const { return link != nullptr; }
  friend bool operator==(const Route&, const Route&) = default;
};

// A link's handle on an observation a server made; 0: none.
using ObservationHandle = std::uint64_t;

// What happened to a route on the link's side.
struct RouteEvent {
  enum class Kind : std::uint8_t {
    kReleased,            // RFC 8323 5.5: the server closed the connection in order
    kNewSecurityContext,  // a new (D)TLS session (not resumed) with the server
  };
  Kind kind = Kind::kReleased;
  std::optional<Duration> hold_off;       // kReleased: wait this long
  std::vector<std::string> alternatives;  // kReleased: "host:port" to use next
};

// A server's request as the link received it.
class DeviceRequest {
 public:
  virtual ~DeviceRequest() = default;
  virtual Route from() const = 0;
  // "GET /3/0", for the request event.
  virtual std::string summary() const = 0;
  // `from_bootstrap`: the sender is the Bootstrap-Server (CoAP needs this to tell
  // Bootstrap-Read from Read). Errors carry the code to answer.
  virtual Result<lwm2m::DownlinkRequest> decode(bool from_bootstrap,
                                                const lwm2m::model::Model& model) const = 0;
  // Answers at most once. With `open_observation` and a 2.xx, the observation stays open for
  // notify() and its handle is returned.
  virtual std::optional<ObservationHandle> answer(const lwm2m::EncodedAnswer& answer,
                                                  bool open_observation, Instant now) = 0;
  // The sender's MSISDN when the request came by SMS (Transport TS 6.6: over SMS, a client
  // registered on another binding takes only triggers); empty otherwise.
  virtual std::string sms_sender() const { return {}; }
};

class ClientLink {
 public:
  using AnswerHandler = std::function<void(Result<lwm2m::UplinkAnswer>)>;

  virtual ~ClientLink() = default;

  // Whether Server URIs of `scheme` ("coap", "coaps+tcp", "mqtt", ...) go through this link.
  virtual bool serves(std::string_view scheme) const = 0;
  // Core TS 6.2.1.1: the binding letters of the carriers this link has ("UT", "M"), and the
  // one a route uses.
  virtual std::string binding_letters() const = 0;
  virtual char binding_letter(const Route& route) const = 0;
  // The route to the server at `uri`, secured with the credentials of Security instance
  // `security` (and its OSCORE link). `alternative` ("host:port") replaces the URI's
  // authority (a Release's Alternative-Address). `bootstrap`: the server is the
  // Bootstrap-Server (MQTT talks to it on other topics).
  virtual Result<Route> route(const std::string& uri, std::optional<std::uint16_t> security,
                              const std::string& alternative, bool bootstrap) = 0;
  // Whether `address` may stand in for the authority of `uri` (a Release's advice).
  virtual bool takes_alternative(const std::string& uri, const std::string& address) const {
    (void)uri;
    (void)address;
    return false;
  }

  virtual void send(const Route& route, const lwm2m::Uplink& request, AnswerHandler done,
                    Instant now) = 0;
  // A notification (or, with an error code, the end) of an observation; false when it is gone.
  virtual bool notify(ObservationHandle observation, const lwm2m::EncodedAnswer& content,
                      bool confirmable, Instant now) = 0;

  virtual void set_request_handler(std::function<void(DeviceRequest&)> handler) = 0;
  virtual void set_observation_ended_handler(std::function<void(ObservationHandle)> handler) = 0;
  virtual void set_route_event_handler(
      std::function<void(const Route&, const RouteEvent&)> handler) = 0;

  // (D)TLS state of a route; links without (D)TLS keep the defaults.
  virtual bool secured(const Route& route) const {
    (void)route;
    return false;
  }
  // Gives the route the current credentials of `security` and says whether its session is
  // established with them (false: the next message starts a new security context).
  virtual bool session_current(const Route& route, const std::string& uri, std::uint16_t security,
                               Instant now) {
    (void)route;
    (void)uri;
    (void)security;
    (void)now;
    return true;
  }
  virtual const tls::Failure* security_failure(const Route& route) const {
    (void)route;
    return nullptr;
  }
  virtual bool handshaking(const Route& route) const {
    (void)route;
    return false;
  }
  virtual void reset_security(const Route& route, Instant now) {
    (void)route;
    (void)now;
  }

  // Queue mode (Transport TS 6.5): every session on this route is asleep, so nothing is
  // expected on it until our next uplink. A carrier that can rests (the MQTT link leaves
  // the broker); the next send wakes it.
  virtual void sleep(const Route& route) { (void)route; }

  // GETs a resource by URI (a firmware package); only links whose protocol has one.
  virtual void fetch(const std::string& uri, std::function<void(Result<Bytes>)> done, Instant now) {
    (void)uri;
    (void)now;
    done(fail("unsupported protocol"));
  }
};

}  // namespace tether::client
