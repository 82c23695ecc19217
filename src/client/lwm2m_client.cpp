#include "client/lwm2m_client.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include "client/link/coap_client_link.hpp"
#include "common/text.hpp"
#include "lwm2m/format/codec.hpp"

namespace tether::client {

namespace {
using lwm2m::DownlinkRequest;
using lwm2m::DownlinkResponse;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
namespace codes = lwm2m::status;
namespace fmt = lwm2m::format;

Duration seconds(double s) {
  return Duration{static_cast<std::int64_t>(s * 1000)};
}

// When to Update: well before the lifetime ends, half way or MAX_TRANSMIT_WAIT (93 s)
// early. Lifetime 0 is infinite (Core TS E.2): no periodic Update.
std::optional<Instant> next_update(Instant now, std::uint32_t lifetime) {
  if (lifetime == 0) return std::nullopt;
  const double lt = lifetime;
  return now + seconds(std::max(1.0, lt - std::min(lt / 2, 93.0)));
}

bool is_account_object(std::uint16_t object) {
  return object == oid::kSecurity || object == oid::kServer || object == oid::kAccessControl ||
         object == oid::kOscore;
}
}  // namespace

const char* event_name(ClientEvent::Kind kind) {
  switch (kind) {
    case ClientEvent::Kind::kBootstrapStarted:
      return "bootstrap-started";
    case ClientEvent::Kind::kBootstrapped:
      return "bootstrapped";
    case ClientEvent::Kind::kBootstrapFailed:
      return "bootstrap-failed";
    case ClientEvent::Kind::kRegistered:
      return "registered";
    case ClientEvent::Kind::kUpdated:
      return "updated";
    case ClientEvent::Kind::kRegistrationFailed:
      return "registration-failed";
    case ClientEvent::Kind::kDeregistered:
      return "deregistered";
    case ClientEvent::Kind::kRequest:
      return "request";
    case ClientEvent::Kind::kNotified:
      return "notified";
    case ClientEvent::Kind::kSent:
      return "sent";
    case ClientEvent::Kind::kSleeping:
      return "sleeping";
    case ClientEvent::Kind::kAccountsChanged:
      return "accounts-changed";
    case ClientEvent::Kind::kReleased:
      return "released";
  }
  return "?";
}

struct Lwm2mClient::Session {
  ServerAccount account;
  Route route;
  State state = State::kIdle;
  std::string location;
  lwm2m::RegistrationParams sent;
  fmt::link_format::RegistrationPayload sent_objects;
  std::optional<Instant> wake;  // the next Register attempt or Update
  bool in_flight = false;
  bool update_requested = false;
  int attempt = 0;
  int sequence = 0;
  Instant last_traffic{};
  bool sleeping = false;
  bool disabled = false;  // Disable (/1/x/4): silent until `wake`
  // RFC 8323 5.5, the server's Release: no new connection before `hold_off_until`; the next
  // one to `alternative` ("host:port") instead of the URI's authority, until it fails.
  std::optional<Instant> hold_off_until;
  std::string alternative;
  bool released = false;  // the connection in `route` is gone: find a new one
  // stop() came while the Register was out: De-register once it is answered, then this.
  std::function<void()> after_register;
};

struct Lwm2mClient::Observation {
  ClientLink* link = nullptr;
  ObservationHandle id = 0;
  std::uint16_t ssid = 0;
  DownlinkRequest request;  // the Observe or Observe-Composite
  lwm2m::Attributes query;  // attributes given with the Observe itself
  Instant last_sent{};
  Instant last_evaluated{};
  std::optional<Value> last_value;  // single resources: what was last notified
  Bytes last_payload;
  bool dirty = false;
  std::optional<Instant> due;
  std::deque<lwm2m::EncodedAnswer> stored;  // queue mode: gathered while asleep
};

struct Lwm2mClient::BootstrapRun {
  Instant deadline;
  bool account_rewritten = false;  // the Bootstrap-Server wrote a new account for itself
};

Lwm2mClient::Lwm2mClient(ClientConfig config, Clock& clock, DataModel& data)
    : config_(std::move(config)), clock_(clock), data_(data) {
  data_.set_lwm2m_version(config_.version);
  data_.set_change_listener([this](const Path& p) { on_change(p); });
}

Lwm2mClient::~Lwm2mClient() {
  data_.set_change_listener(nullptr);
  for (auto& l : links_) {
    l->set_request_handler(nullptr);
    l->set_observation_ended_handler(nullptr);
    l->set_route_event_handler(nullptr);
  }
}

void Lwm2mClient::attach(transport::Transport& t, const std::string& scheme) {
  if (coap_link_ == nullptr) {
    auto link = std::make_unique<CoapClientLink>(
        CoapLinkConfig{config_.trust_anchors, config_.proxy}, clock_, data_);
    link->use_oscore(oscore_);
    coap_link_ = link.get();
    attach(std::move(link));
  }
  coap_link_->attach(t, scheme);
}

ClientLink& Lwm2mClient::attach(std::unique_ptr<ClientLink> link) {
  links_.push_back(std::move(link));
  ClientLink& l = *links_.back();
  l.set_request_handler([this](DeviceRequest& r) { handle_request(r); });
  l.set_observation_ended_handler([this, &l](ObservationHandle id) {
    std::erase_if(observations_, [&](const auto& o) { return o->link == &l && o->id == id; });
  });
  l.set_route_event_handler(
      [this](const Route& route, const RouteEvent& e) { on_route_event(route, e); });
  return l;
}

void Lwm2mClient::use_oscore(oscore::Keyring& keyring) {
  oscore_ = &keyring;
  if (coap_link_ != nullptr) coap_link_->use_oscore(&keyring);
}

void Lwm2mClient::on_route_event(const Route& route, const RouteEvent& e) {
  if (e.kind == RouteEvent::Kind::kReleased) {
    on_released(route, e);
    return;
  }
  // A new security context with a server we are registered with: register again, so the
  // server binds the registration to it.
  for (auto& [ssid, s] : sessions_) {
    if (s->route != route) continue;
    if (s->state != State::kRegistered || s->in_flight) continue;
    s->location.clear();
    s->state = State::kIdle;
    s->wake = clock_.now();
  }
}

// RFC 8323 5.5: a server closing a CoAP/TCP or TLS connection in order says when and where
// to come back. A hold-off beyond a day is taken as a day: the account can still be
// disabled the LwM2M way (/1/x/4).
void Lwm2mClient::on_released(const Route& route, const RouteEvent& advice) {
  constexpr Duration kLongestHoldOff{86'400'000};
  for (auto& [ssid, s] : sessions_) {
    if (s->route != route) continue;
    s->released = true;
    std::string detail = "the server released the connection";
    if (advice.hold_off) {
      s->hold_off_until = clock_.now() + std::min(*advice.hold_off, kLongestHoldOff);
      detail += "; hold-off " +
                std::to_string(std::min(*advice.hold_off, kLongestHoldOff).count() / 1000) + " s";
    }
    s->alternative.clear();
    for (const auto& address : advice.alternatives) {
      if (route.link->takes_alternative(s->account.uri, address)) {
        s->alternative = address;
        detail += "; next connection to " + address;
        break;
      }
    }
    emit(ClientEvent::Kind::kReleased, ssid, detail);
  }
}

// True while a Release's hold-off lasts; what was due waits for its end.
bool Lwm2mClient::held_off(Session& s) {
  if (!s.hold_off_until) return false;
  if (clock_.now() >= *s.hold_off_until) {
    s.hold_off_until.reset();
    return false;
  }
  s.wake = *s.hold_off_until;
  return true;
}

void Lwm2mClient::emit(ClientEvent::Kind kind, std::uint16_t ssid, std::string detail) {
  if (on_event_) on_event_(ClientEvent{kind, ssid, std::move(detail)});
}

ClientLink* Lwm2mClient::link_for(const std::string& uri) const {
  const auto end = uri.find("://");
  if (end == std::string::npos) return nullptr;
  std::string scheme = uri.substr(0, end);
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& l : links_) {
    if (l->serves(scheme)) return l.get();
  }
  return nullptr;
}

Result<Route> Lwm2mClient::route_for(const std::string& uri, std::optional<std::uint16_t> security,
                                     const std::string& alternative, bool bootstrap) {
  ClientLink* link = link_for(uri);
  if (link == nullptr) {
    const auto end = uri.find("://");
    if (end == std::string::npos) return fail("bad server URI \"" + uri + "\": no scheme");
    return fail("no " + uri.substr(0, end) + " transport for " + uri);
  }
  return link->route(uri, security, alternative, bootstrap);
}

void Lwm2mClient::request(const Route& route, const lwm2m::Uplink& uplink,
                          std::function<void(Result<lwm2m::UplinkAnswer>)> done) {
  route.link->send(route, uplink, std::move(done), clock_.now());
}

// --- start and stop -----------------------------------------------------------

void Lwm2mClient::start() {
  started_ = true;
  // Every OSCORE account's peer is bound before anything arrives from it, so a plain
  // request forged with a server's address (a server-initiated bootstrap, say) is refused
  // by the OSCORE layer even before we first spoke to that server.
  if (oscore_ != nullptr) {
    if (auto account = data_.bootstrap_account()) {
      (void)route_for(account->uri, account->security_instance, {}, true);
    }
    for (const auto& account : data_.server_accounts()) {
      (void)route_for(account.uri, account.security_instance);
    }
  }
  sync_sessions();
  if (sessions_.empty()) {
    bootstrap();
    return;
  }
  for (auto& [ssid, s] : sessions_) s->wake = clock_.now();
}

void Lwm2mClient::sync_sessions() {
  auto accounts = data_.server_accounts();
  std::erase_if(sessions_, [&](const auto& e) {
    auto same = [&](const ServerAccount& a) { return a.ssid == e.first; };
    const bool exists = std::any_of(accounts.begin(), accounts.end(), same);
    const bool kept = std::any_of(accounts.begin(), accounts.end(), [&](const ServerAccount& a) {
      return same(a) && a.uri == e.second->account.uri;
    });
    if (!kept) {
      std::erase_if(observations_, [&](const auto& o) { return o->ssid == e.first; });
      data_.forget_attributes(e.first);
    }
    if (!exists) data_.unbootstrap(e.first);  // Core TS 5.2.5
    return !kept;
  });
  accounts = data_.server_accounts();
  for (const auto& a : accounts) {
    auto& s = sessions_[a.ssid];
    if (!s) {
      s = std::make_unique<Session>();
      s->account = a;
      if (started_ && !bootstrap_) s->wake = clock_.now();
    }
    s->account.server_instance = a.server_instance;
    s->account.security_instance = a.security_instance;
  }
}

void Lwm2mClient::stop(std::function<void()> done) {
  auto pending = std::make_shared<std::size_t>(0);
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  auto one_done = [pending, finish] {
    if (--*pending == 0 && *finish) (*finish)();
  };
  for (auto& [ssid, s] : sessions_) {
    s->wake.reset();
    if (s->state == State::kRegistering && s->in_flight) {
      // A registration the server may already hold: not left to expire.
      ++*pending;
      s->after_register = one_done;
      continue;
    }
    if (s->state != State::kRegistered || s->location.empty()) continue;
    ++*pending;
    deregister(*s, s->location, one_done);
    s->state = State::kDeregistered;
    s->location.clear();
  }
  started_ = false;
  if (*pending == 0 && *finish) (*finish)();
}

// --- registration (Core TS 6.2) -------------------------------------------------

namespace {
std::optional<std::string> lower_version(const std::string& version) {
  if (version == "1.2") return "1.1";
  if (version == "1.1") return "1.0";
  return std::nullopt;
}
}  // namespace

std::optional<double> Lwm2mClient::server_value(const Session& s, std::uint16_t resource) const {
  auto v = data_.value(Path{oid::kServer, s.account.server_instance, resource});
  if (!v) return std::nullopt;
  if (const auto* b = v->get_if<bool>()) return *b ? 1.0 : 0.0;
  return v->as_number();
}

lwm2m::RegistrationParams Lwm2mClient::current_params(const Session& s) const {
  lwm2m::RegistrationParams p;
  p.endpoint = config_.endpoint;
  p.version = config_.version;
  p.lifetime = static_cast<std::uint32_t>(server_value(s, server_res::kLifetime).value_or(86400));
  // Core TS 6.2.1.1: claim only carriers we have; queue mode in the form of our version.
  std::string carriers;
  for (const auto& l : links_) carriers += l->binding_letters();
  const char fallback = s.route.link != nullptr ? s.route.link->binding_letter(s.route) : 'U';
  const auto claim = lwm2m::claim_binding(server_binding(s), config_.version, config_.queue_mode,
                                          carriers, fallback);
  p.binding = claim.binding;
  p.queue_mode = claim.queue_mode;
  if (!config_.sms_number.empty()) p.sms = config_.sms_number;
  return p;
}

std::string Lwm2mClient::server_binding(const Session& s) const {
  auto b = data_.value(Path{oid::kServer, s.account.server_instance, server_res::kBinding});
  const auto* text = b ? b->get_if<std::string>() : nullptr;
  return text != nullptr ? *text : std::string{};
}

// Queue mode as last claimed to the server (the flag, or a 1.0-style "UQ" in /1/x/7): what
// the server acts on, and no data-model read on the timer path.
bool Lwm2mClient::queue_mode_of(const Session& s) const {
  return s.sent.queue_mode || (s.sent.binding && s.sent.binding->find('Q') != std::string::npos);
}

void Lwm2mClient::mark_traffic(Session& s) {
  s.last_traffic = clock_.now();
  s.sleeping = false;
}

// The session's connection from now on (its URI's, or a Release's alternative); false when
// there is none, which counts as a failed registration.
bool Lwm2mClient::take_route(Session& s) {
  auto route = route_for(s.account.uri, s.account.security_instance, s.alternative);
  if (!route) {
    registration_failed(s, route.error().reason);
    return false;
  }
  s.route = *route;
  s.released = false;
  return true;
}

void Lwm2mClient::deregister(Session& s, const std::string& location, std::function<void()> then) {
  const std::uint16_t id = s.account.ssid;
  request(s.route, lwm2m::DeregisterRequest{location},
          [this, id, then = std::move(then)](Result<lwm2m::UplinkAnswer> r) {
            emit(ClientEvent::Kind::kDeregistered, id,
                 r ? r->code.describe() : "no answer: " + r.error().reason);
            then();
          });
}

void Lwm2mClient::register_with(Session& s) {
  if (s.in_flight || held_off(s)) return;
  s.wake.reset();
  s.disabled = false;
  if (!take_route(s)) return;
  s.state = State::kRegistering;
  lwm2m::RegisterRequest r;
  r.params = current_params(s);
  r.objects = data_.registration_payload();
  s.in_flight = true;
  const std::uint16_t ssid = s.account.ssid;
  request(s.route, r, [this, ssid, r](Result<lwm2m::UplinkAnswer> answer) {
    auto it = sessions_.find(ssid);
    if (it == sessions_.end()) return;
    Session& live = *it->second;
    live.in_flight = false;
    if (live.after_register) {
      auto then = std::move(live.after_register);
      live.after_register = nullptr;
      live.state = State::kDeregistered;
      if (answer && answer->code == codes::kCreated) {
        deregister(live, answer->location, std::move(then));
      } else {
        then();
      }
      return;
    }
    // Core TS 6.2.1.1: 4.12 means the server speaks another version; try the next lower
    // one at once (1.2, 1.1, 1.0), so a 1.2 device still reaches a 1.1 or 1.0 server.
    if (answer && answer->code == codes::kPreconditionFailed) {
      if (auto lower = lower_version(config_.version)) {
        emit(ClientEvent::Kind::kRegistrationFailed, ssid,
             "Register answered 4.12 for LwM2M " + config_.version + "; retrying with " + *lower);
        config_.version = *lower;
        data_.set_lwm2m_version(*lower);
        live.state = State::kIdle;
        live.wake = clock_.now();
        return;
      }
    }
    if (!answer || answer->code != codes::kCreated) {
      registration_failed(live,
                          answer ? "Register answered " + answer->code.describe()
                                 : "no answer: " + answer.error().reason,
                          answer ? answer->retry_after : std::nullopt);
      return;
    }
    // What Update and De-register name (the binding keeps its own form: CoAP's /rd/{id}).
    live.location = answer->location;
    live.state = State::kRegistered;
    live.sent = r.params;
    live.sent_objects = r.objects;
    live.attempt = live.sequence = 0;
    live.update_requested = false;
    live.wake = next_update(clock_.now(), r.params.lifetime.value_or(86400));
    mark_traffic(live);
    emit(ClientEvent::Kind::kRegistered, ssid, live.account.uri + " as /rd/" + live.location);
    flush_stored(live);
  });
}

void Lwm2mClient::update(Session& s) {
  if (s.in_flight || held_off(s)) return;
  // After a Release the registration stands; the Update goes over a new connection (a new
  // TLS session is a new security context, which takes a Register).
  if (s.released && s.route.link->secured(s.route)) {
    s.location.clear();
    s.state = State::kIdle;
    register_with(s);
    return;
  }
  if (s.released && !take_route(s)) return;
  // The Security instance may have changed since (a Bootstrap-Write of new keys): the
  // layer gets the current credentials and drops a session made with others. Without an
  // established session the next message starts a new security context, which takes a
  // Register, not an Update.
  if (!s.route.link->session_current(s.route, s.account.uri, s.account.security_instance,
                                     clock_.now())) {
    s.location.clear();
    s.state = State::kIdle;
    register_with(s);
    return;
  }
  s.wake.reset();
  s.update_requested = false;
  lwm2m::UpdateRequest u;
  u.location = s.location;
  const auto wanted = current_params(s);
  if (wanted.lifetime != s.sent.lifetime) u.params.lifetime = wanted.lifetime;
  if (wanted.binding != s.sent.binding) u.params.binding = wanted.binding;
  auto objects = data_.registration_payload();
  if (objects != s.sent_objects) u.objects = objects;
  s.in_flight = true;
  const std::uint16_t ssid = s.account.ssid;
  request(s.route, u, [this, ssid, wanted, objects](Result<lwm2m::UplinkAnswer> answer) {
    auto it = sessions_.find(ssid);
    if (it == sessions_.end()) return;
    Session& live = *it->second;
    live.in_flight = false;
    if (answer && answer->code == codes::kChanged) {
      live.sent = wanted;
      live.sent_objects = objects;
      live.wake = next_update(clock_.now(), wanted.lifetime.value_or(86400));
      mark_traffic(live);
      emit(ClientEvent::Kind::kUpdated, ssid, live.location);
      flush_stored(live);
      return;
    }
    // Core TS 6.2.2: a failed Update means registering again, over a new (D)TLS session
    // when there was no answer (the server may have lost ours, or our address changed).
    if (!answer) live.route.link->reset_security(live.route, clock_.now());
    emit(ClientEvent::Kind::kRegistrationFailed, ssid,
         answer ? "Update answered " + answer->code.describe()
                : "Update got no answer: " + answer.error().reason);
    live.location.clear();
    live.state = State::kIdle;
    register_with(live);
  });
}

void Lwm2mClient::registration_failed(Session& s, const std::string& why,
                                      std::optional<std::uint32_t> retry_after) {
  std::string detail = why;
  // Transport TS 5.2.10: a handshake that failed with a "Fail" alert cannot recover by
  // retrying, so this retry sequence ends at once; "Retry" ones back off as usual.
  const tls::Failure* handshake =
      s.route.link != nullptr ? s.route.link->security_failure(s.route) : nullptr;
  const bool hopeless = handshake != nullptr && handshake->recovery == tls::Recovery::kFail;
  if (handshake != nullptr) {
    detail += "; (D)TLS: " + handshake->describe();
  } else if (s.route.link != nullptr && s.route.link->handshaking(s.route)) {
    // The request gave up first (a slow or loaded peer): the cause is still the handshake.
    detail += "; (D)TLS: the handshake had not completed (peer unreachable, or a wrong key)";
  }
  emit(ClientEvent::Kind::kRegistrationFailed, s.account.ssid, detail);
  // A server that answered (a full one's 5.03) proved the session works: keep it.
  if (s.route.link != nullptr && !retry_after) s.route.link->reset_security(s.route, clock_.now());
  s.alternative.clear();  // a Release's address that fails is not tried again
  s.state = State::kFailed;
  s.location.clear();
  ++s.attempt;
  // Core TS 6.2.1.1: Communication Retry Count/Timer within a sequence, then the Sequence
  // Delay Timer between sequences; after the last, bootstrap when the account allows.
  const double count = server_value(s, server_res::kRetryCount).value_or(5);
  if (hopeless) s.attempt = static_cast<int>(count);
  const double timer = server_value(s, server_res::kRetryTimer).value_or(60);
  if (s.attempt < count) {
    s.wake = clock_.now() + seconds(timer * std::pow(2.0, s.attempt - 1));
    // A full server's 5.03 names when to come back (Max-Age); never sooner.
    s.wake = std::max(*s.wake, clock_.now() + seconds(retry_after.value_or(0)));
    return;
  }
  ++s.sequence;
  s.attempt = 0;
  const Instant not_before = clock_.now() + seconds(retry_after.value_or(0));
  if (s.sequence < server_value(s, server_res::kSequenceRetryCount).value_or(1)) {
    s.wake = std::max(
        not_before,
        clock_.now() + seconds(server_value(s, server_res::kSequenceDelay).value_or(86400)));
    return;
  }
  s.wake.reset();
  if (server_value(s, server_res::kBootstrapOnFailure).value_or(1) != 0 &&
      data_.bootstrap_account()) {
    bootstrap_retry_at_ = not_before;
  }
}

// --- bootstrap (Core TS 6.1) ------------------------------------------------------

void Lwm2mClient::bootstrap() {
  if (bootstrap_) return;
  bootstrap_retry_at_.reset();
  auto account = data_.bootstrap_account();
  if (!account) {
    emit(ClientEvent::Kind::kBootstrapFailed, 0, "no Bootstrap-Server Account");
    return;
  }
  auto route = route_for(account->uri, account->security_instance, {}, true);
  if (!route) {
    bootstrap_done(false, route.error().reason);
    return;
  }
  bootstrap_route_ = *route;
  bootstrap_ =
      std::make_unique<BootstrapRun>(BootstrapRun{clock_.now() + config_.bootstrap_timeout});
  emit(ClientEvent::Kind::kBootstrapStarted, 0, account->uri);
  if (config_.bootstrap_pack) {
    lwm2m::BootstrapPackRequest r;
    r.endpoint = config_.endpoint;
    r.accept = static_cast<std::uint16_t>(ContentFormat::kSenmlCbor);
    request(*route, r, [this](Result<lwm2m::UplinkAnswer> answer) {
      if (!bootstrap_) return;
      if (!answer || answer->code != codes::kContent) {
        bootstrap_done(false, answer ? "Bootstrap-Pack-Request answered " + answer->code.describe()
                                     : "no answer: " + answer.error().reason);
        return;
      }
      apply_pack(*answer);
    });
    return;
  }
  lwm2m::BootstrapRequest r;
  r.endpoint = config_.endpoint;
  if (config_.preferred_format) {
    r.preferred_format = static_cast<std::uint16_t>(*config_.preferred_format);
  }
  request(*route, r, [this](Result<lwm2m::UplinkAnswer> answer) {
    if (!bootstrap_) return;
    if (!answer || answer->code != codes::kChanged) {
      bootstrap_done(false, answer ? "Bootstrap-Request answered " + answer->code.describe()
                                   : "no answer: " + answer.error().reason);
    }
  });
}

void Lwm2mClient::apply_pack(const lwm2m::UplinkAnswer& pack) {
  const auto f = fmt::content_format_from(pack.content_format.value_or(0));
  auto records = f ? fmt::decode_records(*f, pack.body, data_.model())
                   : Result<std::vector<lwm2m::Record>>(fail("unknown pack format"));
  auto tree = records ? lwm2m::Tree::from_records(*records) : Result<lwm2m::Tree>(records.error());
  if (!tree) {
    bootstrap_done(false, "Bootstrap-Pack: " + tree.error().reason);
    return;
  }
  // Each instance of the pack lands as a Bootstrap-Write would.
  for (const auto& [id, object] : tree->objects) {
    for (const auto& [iid, instance] : object.instances) {
      DownlinkRequest w;
      w.op = Operation::kBootstrapWrite;
      w.path = Path{id, iid};
      w.content.objects[id].instances[iid] = instance;
      auto answer = data_.handle(w, Requester{0, true});
      if (!answer.code.is_success()) {
        bootstrap_done(false,
                       "Bootstrap-Pack " + w.path.to_string() + ": " + answer.code.describe());
        return;
      }
    }
  }
  auto ok = data_.check_bootstrap_consistency();
  bootstrap_done(static_cast<bool>(ok), ok ? "from a Bootstrap-Pack" : ok.error().reason);
}

void Lwm2mClient::purge_bootstrap_account() {
  purge_at_.reset();
  auto account = data_.bootstrap_account();
  Object* security = data_.find(oid::kSecurity);
  if (!account || security == nullptr) return;
  (void)security->remove(account->security_instance);
  bootstrap_route_.reset();
  emit(ClientEvent::Kind::kAccountsChanged, 0, "Bootstrap-Server Account purged (seed 001)");
}

void Lwm2mClient::bootstrap_done(bool ok, const std::string& why) {
  const bool rewritten = bootstrap_ && bootstrap_->account_rewritten;
  bootstrap_.reset();
  if (!ok) {
    ++bootstrap_attempts_;
    emit(ClientEvent::Kind::kBootstrapFailed, 0, why);
    // Back off: 15 s, 30 s, ... up to an hour.
    const double wait = std::min(3600.0, 15.0 * std::pow(2.0, bootstrap_attempts_ - 1));
    bootstrap_retry_at_ = clock_.now() + seconds(wait);
    return;
  }
  bootstrap_attempts_ = 0;
  emit(ClientEvent::Kind::kBootstrapped, 0, why);
  if (auto account = data_.bootstrap_account()) {
    const auto timeout =
        data_.value(Path{oid::kSecurity, account->security_instance, security::kAccountTimeout});
    const double seconds_left = timeout && timeout->as_number() ? *timeout->as_number() : 0;
    if (seconds_left > 0) {
      purge_at_ = clock_.now() + seconds(seconds_left);
    } else if (!config_.bootstrap_keys_persistent && !rewritten) {
      purge_bootstrap_account();
    }
  }
  emit(ClientEvent::Kind::kAccountsChanged, 0, "bootstrap");
  started_ = true;
  sync_sessions();
  for (auto& [ssid, s] : sessions_) {
    if (s->state != State::kRegistered) s->wake = clock_.now();
  }
}

// --- requests from servers ---------------------------------------------------------

void Lwm2mClient::handle_request(DeviceRequest& request) {
  if (!bootstrap_route_ && data_.bootstrap_account()) {
    // Server-initiated bootstrap may come at any time from the Bootstrap-Server's address.
    auto account = data_.bootstrap_account();
    if (auto route = route_for(account->uri, account->security_instance, {}, true)) {
      bootstrap_route_ = *route;
    }
  }
  const Route from = request.from();
  Session* session = nullptr;
  for (auto& [ssid, s] : sessions_) {
    if (from.peer != 0 && s->route == from) session = s.get();
  }
  const bool from_bootstrap =
      session == nullptr && from.peer != 0 && bootstrap_route_ && *bootstrap_route_ == from;
  if (session == nullptr && !from_bootstrap && !request.sms_sender().empty()) {
    handle_sms_trigger(request);
    return;
  }
  auto refuse = [&](lwm2m::Status code, const std::string& why) {
    lwm2m::EncodedAnswer refused;
    refused.code = code;
    refused.body = to_bytes(why);
    request.answer(refused, false, clock_.now());
  };
  if (session == nullptr && !from_bootstrap) {
    refuse(codes::kUnauthorized, "not one of this client's servers");
    return;
  }
  if (session != nullptr && session->disabled) return;  // E.2: ignored while disabled
  if (session != nullptr) mark_traffic(*session);
  auto decoded = request.decode(from_bootstrap, data_.model());
  if (!decoded) {
    const auto code = lwm2m::status_of(decoded.error());
    emit(ClientEvent::Kind::kRequest, session ? session->account.ssid : 0,
         request.summary() + " -> " + code.describe());
    refuse(code, decoded.error().reason);
    return;
  }
  if (from_bootstrap) {
    if (!bootstrap_) {
      // Server-initiated bootstrap (Core TS 6.1.4).
      emit(ClientEvent::Kind::kBootstrapStarted, 0, "server-initiated");
      bootstrap_ = std::make_unique<BootstrapRun>();
      bootstrap_retry_at_.reset();
    }
    bootstrap_->deadline = clock_.now() + config_.bootstrap_timeout;
  }
  const Requester who{session ? session->account.ssid : std::uint16_t{0}, from_bootstrap};
  const auto answer = data_.handle(*decoded, who);
  const lwm2m::EncodedAnswer response = lwm2m::encode_answer(*decoded, answer, data_.model());
  const bool observe =
      (decoded->op == Operation::kObserve || decoded->op == Operation::kObserveComposite) &&
      response.code.is_success();
  auto id = request.answer(response, observe, clock_.now());
  emit(ClientEvent::Kind::kRequest, who.ssid,
       std::string(lwm2m::operation_name(decoded->op)) + " " +
           (decoded->op == Operation::kBootstrapFinish ? std::string("/bs")
                                                       : decoded->path.to_string()) +
           " -> " + response.code.describe());
  if (observe && id) {
    auto o = std::make_unique<Observation>();
    o->link = from.link;
    o->id = *id;
    o->ssid = who.ssid;
    o->request = *decoded;
    if (auto parsed = lwm2m::parse_update(decoded->attributes)) o->query = parsed->set;
    o->last_sent = clock_.now();
    o->last_evaluated = clock_.now();
    o->last_payload = response.body;
    if (decoded->path.depth() >= 3) {
      if (const auto* v = answer.content.find_value(decoded->path)) o->last_value = *v;
    }
    observations_.push_back(std::move(o));
    evaluate(*observations_.back());  // arm pmax
  }
  after_operation(*decoded, answer, who.ssid);
}

// Transport TS 6.6: over SMS, a server whose session runs on another binding may only execute
// its Registration Update Trigger (/1/x/8) or Bootstrap-Request Trigger (/1/x/9); the
// trigger is acted on without an answer, anything else is ignored without one. The server
// is the account whose Security instance holds the sender as its SMS Number (/0/x/9).
void Lwm2mClient::handle_sms_trigger(DeviceRequest& request) {
  const std::string number = request.sms_sender();
  const auto instance = data_.security_instance_of_sms_number(number);
  Session* session = nullptr;
  for (auto& [ssid, s] : sessions_) {
    if (instance && s->account.security_instance == *instance) session = s.get();
  }
  if (session == nullptr || session->disabled) return;
  const std::uint16_t ssid = session->account.ssid;
  auto decoded = request.decode(false, data_.model());
  const bool trigger = decoded && decoded->op == Operation::kExecute &&
                       decoded->path.depth() == 3 && decoded->path.object_id() == oid::kServer &&
                       decoded->path.instance_id() == session->account.server_instance &&
                       (decoded->path.resource_id() == 8 || decoded->path.resource_id() == 9);
  if (!trigger) {
    emit(ClientEvent::Kind::kRequest, ssid,
         request.summary() + " by SMS -> ignored (only triggers come by SMS)");
    return;
  }
  const Requester who{ssid, false};
  const auto answer = data_.handle(*decoded, who);
  emit(ClientEvent::Kind::kRequest, ssid,
       "Execute " + decoded->path.to_string() + " by SMS -> " + answer.code.describe() +
           " (not answered)");
  after_operation(*decoded, answer, ssid);
}

void Lwm2mClient::after_operation(const DownlinkRequest& r, const DownlinkResponse& answer,
                                  std::uint16_t ssid) {
  if (!answer.code.is_success()) return;
  if (r.op == Operation::kBootstrapFinish) {
    bootstrap_done(true, "Bootstrap-Finish");
    return;
  }
  const bool changes = r.op == Operation::kWrite || r.op == Operation::kCreate ||
                       r.op == Operation::kDelete || r.op == Operation::kWriteComposite ||
                       r.op == Operation::kBootstrapWrite || r.op == Operation::kBootstrapDelete;
  if (changes && (r.path.is_root() || is_account_object(r.path.object_id()))) {
    emit(ClientEvent::Kind::kAccountsChanged, ssid, r.path.to_string());
  }
  if (r.op == Operation::kBootstrapWrite && bootstrap_ && r.path.object_id() == oid::kSecurity) {
    for (const auto& rec : r.content.records()) {
      if (rec.path.resource_id() == security::kBootstrap && rec.value == Value(true)) {
        bootstrap_->account_rewritten = true;
      }
    }
  }
  if (r.op != Operation::kExecute || r.path.object_id() != oid::kServer) return;
  for (auto& [id, s] : sessions_) {
    if (s->account.server_instance != r.path.instance_id()) continue;
    if (r.path.resource_id() == server_res::kUpdateTrigger && s->state == State::kRegistered) {
      s->update_requested = true;  // Registration Update Trigger
    } else if (r.path.resource_id() == server_res::kBootstrapTrigger) {
      bootstrap_retry_at_ = clock_.now();  // Bootstrap-Request Trigger
    } else if (r.path.resource_id() == server_res::kDisable) {
      disable(*s);
    }
  }
}

// Core TS E.2 (Disable, /1/x/4): de-register, stay away for the Disable Timeout (/1/x/5,
// default a day), then register again.
void Lwm2mClient::disable(Session& s) {
  const double away = server_value(s, server_res::kDisableTimeout).value_or(86400);
  if (s.state == State::kRegistered && !s.location.empty()) {
    const std::uint16_t ssid = s.account.ssid;
    request(s.route, lwm2m::DeregisterRequest{s.location},
            [this, ssid](Result<lwm2m::UplinkAnswer> r) {
              emit(ClientEvent::Kind::kDeregistered, ssid,
                   "disabled; " + (r ? r->code.describe() : "no answer"));
            });
  }
  s.location.clear();
  s.state = State::kIdle;
  s.update_requested = false;
  s.disabled = true;
  s.wake = clock_.now() + seconds(away);
  std::erase_if(observations_, [&](const auto& o) { return o->ssid == s.account.ssid; });
}

// --- observations (Core TS 6.4.1, 5.1.2) ---------------------------------------------

void Lwm2mClient::on_change(const Path& path) {
  changes_pending_ = true;
  for (auto& o : observations_) {
    const bool related =
        o->request.op == Operation::kObserveComposite
            ? std::any_of(o->request.paths.begin(), o->request.paths.end(),
                          [&](const Path& p) { return p.covers(path) || path.covers(p); })
            : (o->request.path.covers(path) || path.covers(o->request.path));
    if (related) o->dirty = true;
  }
}

lwm2m::EncodedAnswer Lwm2mClient::observed_content(const Observation& o) const {
  DownlinkRequest read = o.request;
  read.op =
      o.request.op == Operation::kObserveComposite ? Operation::kReadComposite : Operation::kRead;
  const auto answer = data_.handle(read, Requester{o.ssid, false});
  return lwm2m::encode_answer(read, answer, data_.model());
}

lwm2m::Attributes Lwm2mClient::attributes_of(const Observation& o) const {
  const Path where = o.request.op == Operation::kObserveComposite ? Path{} : o.request.path;
  lwm2m::Attributes attrs = data_.effective_attributes(o.ssid, where);
  // Core TS 5.4.1: attributes given with the Observe itself apply to that observation.
  for (std::size_t i = 0; i < lwm2m::kAttributeCount; ++i) {
    const auto a = static_cast<lwm2m::Attribute>(i);
    if (auto v = o.query.get(a)) attrs.set(a, *v);
  }
  return attrs;
}

void Lwm2mClient::evaluate(Observation& o) {
  o.dirty = false;
  const lwm2m::Attributes attrs = attributes_of(o);
  const Instant now = clock_.now();
  // epmin: values are not looked at more often than this; a change waits for it.
  const auto epmin = attrs.get(lwm2m::Attribute::kEpmin);
  if (epmin && now < o.last_evaluated + seconds(*epmin)) {
    const Instant at = o.last_evaluated + seconds(*epmin);
    if (!o.due || at < *o.due) o.due = at;
    return;
  }
  o.last_evaluated = now;
  const double elapsed = std::chrono::duration<double>(now - o.last_sent).count();
  auto content = observed_content(o);
  std::optional<Value> current;
  if (o.request.path.depth() >= 3 && o.request.op == Operation::kObserve) {
    current = data_.value(o.request.path);
  }
  lwm2m::NotifyDecision decision;
  if (!content.code.is_success()) {
    decision = lwm2m::NotifyDecision::kNotify;  // the error ends the observation
  } else if (current) {
    decision =
        lwm2m::notification_due(attrs, o.last_value ? &*o.last_value : nullptr, *current, elapsed);
  } else {
    const auto pmin = attrs.get(lwm2m::Attribute::kPmin).value_or(0);
    const auto pmax = attrs.get(lwm2m::Attribute::kPmax);
    if (pmax && *pmax > 0 && elapsed >= *pmax) {
      decision = lwm2m::NotifyDecision::kNotify;
    } else if (content.body == o.last_payload) {
      decision = lwm2m::NotifyDecision::kNotDue;
    } else {
      decision =
          elapsed >= pmin ? lwm2m::NotifyDecision::kNotify : lwm2m::NotifyDecision::kAfterPmin;
    }
  }
  if (decision == lwm2m::NotifyDecision::kNotify) {
    o.last_sent = now;
    o.last_payload = content.body;
    if (current) o.last_value = current;
    if (!content.code.is_success()) {
      o.due.reset();
      deliver(o, std::move(content));
      return;
    }
    deliver(o, std::move(content));
  }
  const auto pmin = attrs.get(lwm2m::Attribute::kPmin).value_or(0);
  const auto pmax = attrs.get(lwm2m::Attribute::kPmax);
  o.due.reset();
  if (decision == lwm2m::NotifyDecision::kAfterPmin) o.due = o.last_sent + seconds(pmin);
  if (pmax && *pmax > 0) {
    const Instant at = o.last_sent + seconds(*pmax);
    if (!o.due || at < *o.due) o.due = at;
  }
  // epmax: look again at least this often, for values that change without telling
  // (computed on read, like the current time).
  if (const auto epmax = attrs.get(lwm2m::Attribute::kEpmax); epmax && *epmax > 0) {
    const Instant at = now + seconds(*epmax);
    if (!o.due || at < *o.due) o.due = at;
  }
}

void Lwm2mClient::deliver(Observation& o, lwm2m::EncodedAnswer content) {
  auto it = sessions_.find(o.ssid);
  Session* s = it != sessions_.end() ? it->second.get() : nullptr;
  if (s != nullptr && queue_mode_of(*s) && s->sleeping) {
    // Transport TS 6.5: asleep, notifications wait for the next Update (hqmax bounds them).
    const auto hq = attributes_of(o).get(lwm2m::Attribute::kHqmax);
    const std::size_t limit = hq ? static_cast<std::size_t>(*hq) : config_.stored_notifications;
    // Notification Storing When Disabled or Offline (/1/x/6) false: drop them instead.
    if (limit == 0 || server_value(*s, server_res::kNotificationStoring) == 0.0) return;
    o.stored.push_back(std::move(content));
    while (o.stored.size() > limit) o.stored.pop_front();
    if (s->state == State::kRegistered) s->update_requested = true;
    return;
  }
  const auto con = attributes_of(o).get(lwm2m::Attribute::kCon);
  // A notification with an error code ends the observation, and with it `o`.
  const std::uint16_t ssid = o.ssid;
  const std::string path = o.request.path.to_string();
  const bool ok = o.link->notify(o.id, content, con && *con == 1, clock_.now());
  if (s != nullptr) mark_traffic(*s);
  if (ok) emit(ClientEvent::Kind::kNotified, ssid, path);
}

void Lwm2mClient::flush_stored(Session& s) {
  for (auto& o : observations_) {
    if (o->ssid != s.account.ssid) continue;
    while (!o->stored.empty()) {
      lwm2m::EncodedAnswer m = std::move(o->stored.front());
      o->stored.pop_front();
      deliver(*o, std::move(m));
    }
  }
}

// --- Send (Core TS 6.4.6) ---------------------------------------------------------------

void Lwm2mClient::send(std::uint16_t ssid, std::vector<Path> paths,
                       std::function<void(Result<lwm2m::Status>)> done, ContentFormat format) {
  Session* s = nullptr;
  for (auto& [id, candidate] : sessions_) {
    if ((ssid == 0 || id == ssid) && candidate->state == State::kRegistered) {
      s = candidate.get();
      break;
    }
  }
  if (s == nullptr) return done(fail("not registered with that server"));
  if (server_value(*s, server_res::kMuteSend).value_or(0) != 0) {
    return done(fail("Send is muted for this server (/1/x/23)"));
  }
  std::vector<lwm2m::Record> records;
  for (const auto& p : paths) {
    auto tree = data_.read(p);
    if (!tree) return done(tree.error());
    for (auto& r : tree->records()) records.push_back(std::move(r));
  }
  auto body = fmt::encode_records(format, records, data_.model());
  if (!body) return done(body.error());
  lwm2m::SendRequest request{static_cast<std::uint16_t>(format), std::move(*body)};
  mark_traffic(*s);
  const std::uint16_t id = s->account.ssid;
  this->request(s->route, request,
                [this, id, done = std::move(done)](Result<lwm2m::UplinkAnswer> r) {
                  if (!r) return done(r.error());
                  emit(ClientEvent::Kind::kSent, id, r->code.describe());
                  done(r->code);
                });
}

void Lwm2mClient::fetch(const std::string& uri, std::function<void(Result<Bytes>)> done) {
  ClientLink* link = link_for(uri);
  if (link == nullptr) {
    if (uri.find("://") == std::string::npos) return done(fail("invalid URI: no scheme"));
    return done(fail("unsupported protocol: no transport for " + uri));
  }
  link->fetch(uri, std::move(done), clock_.now());
}

// --- time -------------------------------------------------------------------------------

std::optional<Instant> Lwm2mClient::next_deadline() const {
  std::optional<Instant> next;
  auto consider = [&](std::optional<Instant> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (changes_pending_) consider(clock_.now());
  if (bootstrap_) consider(bootstrap_->deadline);
  consider(bootstrap_retry_at_);
  consider(purge_at_);
  for (const auto& [id, s] : sessions_) {
    consider(s->wake);
    if (s->update_requested && !s->in_flight) consider(clock_.now());
    if (queue_mode_of(*s) && s->state == State::kRegistered && !s->sleeping) {
      consider(s->last_traffic + config_.awake_window);
    }
  }
  for (const auto& o : observations_) consider(o->due);
  return next;
}

void Lwm2mClient::on_timer() {
  const Instant now = clock_.now();
  if (bootstrap_retry_at_ && *bootstrap_retry_at_ <= now) bootstrap();
  if (purge_at_ && *purge_at_ <= now) purge_bootstrap_account();
  if (bootstrap_ && bootstrap_->deadline <= now)
    bootstrap_done(false, "no Bootstrap-Finish in time");
  if (changes_pending_) {
    changes_pending_ = false;
    for (auto& [id, s] : sessions_) {
      if (s->state != State::kRegistered) continue;
      if (current_params(*s) != s->sent || data_.registration_payload() != s->sent_objects) {
        s->update_requested = true;
      }
    }
  }
  for (auto& [id, s] : sessions_) {
    if (s->in_flight || bootstrap_) continue;
    const bool due = s->wake && *s->wake <= now;
    if (s->state == State::kRegistered && (due || s->update_requested)) {
      update(*s);
    } else if (s->state != State::kRegistered && s->state != State::kDeregistered && due) {
      register_with(*s);
    } else if (queue_mode_of(*s) && s->state == State::kRegistered && !s->sleeping &&
               s->last_traffic + config_.awake_window <= now) {
      s->sleeping = true;
      emit(ClientEvent::Kind::kSleeping, id, "no traffic for the awake window");
      // (A named route: clang cannot capture a structured binding.)
      const Route route = s->route;
      const bool all_asleep =
          std::all_of(sessions_.begin(), sessions_.end(), [&route](const auto& other) {
            return other.second->route != route || other.second->sleeping;
          });
      if (all_asleep && route.link != nullptr) route.link->sleep(route);
    }
  }
  for (std::size_t i = 0; i < observations_.size(); ++i) {
    auto& o = *observations_[i];
    if (o.dirty || (o.due && *o.due <= now)) evaluate(o);
  }
}

std::optional<Lwm2mClient::State> Lwm2mClient::state(std::uint16_t ssid) const {
  auto it = sessions_.find(ssid);
  if (it == sessions_.end()) return std::nullopt;
  return it->second->state;
}

std::string Lwm2mClient::location(std::uint16_t ssid) const {
  auto it = sessions_.find(ssid);
  return it == sessions_.end() ? std::string{} : it->second->location;
}

bool Lwm2mClient::asleep(std::uint16_t ssid) const {
  auto it = sessions_.find(ssid);
  return it != sessions_.end() && it->second->sleeping;
}

}  // namespace tether::client
