#include "server/lwm2m_server.hpp"

#include <algorithm>

#include "common/bytes.hpp"
#include "common/ordered_walk.hpp"
#include "common/text.hpp"
#include "lwm2m/format/codec.hpp"
#include "server/identity_check.hpp"
#include "server/link/coap_server_link.hpp"
#include "server/lwm2m_server_state.hpp"
#include "server/oscore_credentials.hpp"

namespace tether::server {

namespace {
namespace codes = lwm2m::status;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;

bool is_container_operation(const lwm2m::DownlinkRequest& r) {
  if (r.op == Operation::kCreate || r.op == Operation::kWriteComposite) return true;
  if (r.op != Operation::kWrite) return false;
  if (r.path.is_resource_instance()) return false;
  if (r.path.is_resource()) {
    const auto* res = r.content.find_resource(r.path);
    return res == nullptr || res->multiple;
  }
  return true;
}

// SenML and LwM2M CBOR name every value by its full path, so a Create without an instance
// ID gets the lowest ID the client's registered object list leaves free (TLV alone can
// leave the choice to the client).
void assign_created_instance(const Registration& r, lwm2m::DownlinkRequest& request) {
  auto* object = request.content.objects.find(request.path.object_id());
  if (object == nullptr || object->instances.size() != 1 ||
      object->instances.begin()->first != lwm2m::Path::kUnassigned) {
    return;
  }
  std::vector<std::uint16_t> taken;
  for (const auto& o : r.objects->objects) {
    if (o.id == request.path.object_id()) taken = o.instances;
  }
  std::uint16_t id = 0;
  while (std::find(taken.begin(), taken.end(), id) != taken.end()) ++id;
  lwm2m::InstanceNode node = object->instances.begin()->second;
  object->instances.clear();
  object->instances[id] = std::move(node);
}

bool lists(const Registration& r, ContentFormat f) {
  const auto& cts = r.objects->content_formats;
  return std::find(cts.begin(), cts.end(), static_cast<std::uint16_t>(f)) != cts.end();
}
}  // namespace

const char* downlink_status_name(DownlinkResult::Status s) {
  switch (s) {
    case DownlinkResult::Status::kAnswered:
      return "answered";
    case DownlinkResult::Status::kQueued:
      return "queued";
    case DownlinkResult::Status::kNotRegistered:
      return "not-registered";
    case DownlinkResult::Status::kBadRequest:
      return "bad-request";
    case DownlinkResult::Status::kTimeout:
      return "timeout";
    case DownlinkResult::Status::kUnreachable:
      return "unreachable";
    case DownlinkResult::Status::kEnded:
      return "ended";
    case DownlinkResult::Status::kBusy:
      return "busy";
  }
  return "unknown";
}

Lwm2mServer::Lwm2mServer(ServerConfig config, Clock& clock, Random& random, ServerStore& store,
                         const lwm2m::model::ObjectRegistry& models)
    : config_(config),
      clock_(clock),
      random_(random),
      store_(store),
      models_(models),
      registry_(config.registry, random) {
  set_registration_policy(nullptr);
  timers_.schedule(clock_.now() + config_.store_flush_interval,
                   TimerEntry{TimerKind::kStoreFlush, {}, 0});
}

// Transports outlive the server or are gone already; either way, nothing to undo here.
Lwm2mServer::~Lwm2mServer() = default;

CoapServerLink& Lwm2mServer::attach(transport::Transport& transport, std::string name) {
  auto link = std::make_unique<CoapServerLink>(transport, std::move(name),
                                               UplinkInterface::kRegistration, models_, clock_);
  link->use_oscore(oscore_);
  auto& attached = *link;
  coap_links_.push_back(link.get());
  attach(std::move(link));
  return attached;
}

ServerLink& Lwm2mServer::attach(std::unique_ptr<ServerLink> link) {
  ServerLink& l = links_.add(std::move(link));
  l.set_uplink_handler(
      [this](const UplinkFrom& from, Result<lwm2m::Uplink> uplink, UplinkReply& reply) {
        handle_uplink(from, std::move(uplink), reply);
      });
  return l;
}

void Lwm2mServer::use_oscore(oscore::Keyring& keyring) {
  oscore_ = &keyring;
  for (auto* link : coap_links_) link->use_oscore(&keyring);
  // RFC 8613 B.1.1: the bound is durable before a number past it goes out. The store
  // reserves, so that workers holding copies of one context never send the same number.
  keyring.reserve_sequences(kOscoreSequenceStep,
                            [this](const std::string& endpoint, std::uint64_t from,
                                   std::uint64_t step) -> std::optional<std::uint64_t> {
                              const Credentials* c = credentials_.find(endpoint);
                              if (c == nullptr || !c->has_oscore()) return std::nullopt;
                              auto start = store_.reserve_sequences(endpoint, from, step);
                              if (!start) return std::nullopt;
                              Credentials updated = *c;
                              updated.oscore.sequence_bound = *start + step;
                              credentials_.put(std::move(updated));
                              return *start;
                            });
}

void Lwm2mServer::set_registration_policy(RegistrationPolicy policy) {
  // Transport TS 5.2.6: an endpoint with credentials on file must prove them; the
  // carrier's identity has to match what was provisioned for that name.
  registry_.set_policy([this, policy = std::move(policy)](const std::string& endpoint,
                                                          const PeerIdentity& peer) -> Result<Ok> {
    if (auto ok = credentials_.admit(endpoint, peer, lwm2m::status::kForbidden); !ok) return ok;
    if (policy) return policy(endpoint, peer);
    return Ok{};
  });
}

// --- credentials -------------------------------------------------------------

Result<Ok> Lwm2mServer::put_credentials(Credentials credentials) {
  if (auto unique = credentials_.check_unique(credentials); !unique) return unique;
  if (oscore_ != nullptr) {
    if (auto ok = check_oscore(*oscore_, credentials); !ok) return ok;
  }
  const std::string endpoint = credentials.endpoint;
  const Credentials* old = credentials_.find(endpoint);
  // Before the sequence bound is carried over: the same keys again are no change.
  const bool changed = old != nullptr && !(*old == credentials);
  if (oscore_ != nullptr) carry_sequence_bound(*oscore_, old, credentials);
  // An operator's change is acknowledged only once it is durable; one that is not is taken
  // back, so a later flush cannot make it true behind the operator's back.
  auto saved = store_.save_credentials(credentials);
  if (saved) saved = store_.flush();
  if (!saved) {
    (void)(old != nullptr ? store_.save_credentials(*old) : store_.remove_credentials(endpoint));
    return lwm2m::reject(lwm2m::status::kInternalServerError, saved.error().reason);
  }
  return apply_credentials(std::move(credentials), changed);
}

Result<Ok> Lwm2mServer::reload_credentials(const std::string& endpoint) {
  auto stored = store_.load_credentials_of(endpoint);
  if (!stored) return stored.error();
  const Credentials* old = credentials_.find(endpoint);
  if (!*stored) {
    if (old != nullptr) {
      credentials_.remove(endpoint);
      if (oscore_ != nullptr) oscore_->remove(endpoint);
    }
    return Ok{};
  }
  Credentials credentials = std::move(**stored);
  if (old != nullptr) {
    // The OSCORE sequence bound alone (persisted by whichever node served the device last)
    // is no change.
    Credentials same = credentials;
    same.oscore.sequence_bound = old->oscore.sequence_bound;
    if (*old == same) return Ok{};
  }
  if (auto unique = credentials_.check_unique(credentials); !unique) return unique;
  const bool changed = old != nullptr;
  if (oscore_ != nullptr) carry_sequence_bound(*oscore_, old, credentials);
  return apply_credentials(std::move(credentials), changed);
}

Result<Ok> Lwm2mServer::apply_credentials(Credentials credentials, bool changed) {
  const std::string endpoint = credentials.endpoint;
  if (oscore_ != nullptr) {
    if (auto keyed = key_oscore(*oscore_, credentials); !keyed) {
      return lwm2m::reject(lwm2m::status::kBadRequest, keyed.error().reason);
    }
  }
  credentials_.put(std::move(credentials));
  // Seed 000: a session authenticated with the old credentials must not live on.
  Session* s = session_of(endpoint);
  if (changed && config_.renew_sessions_on_credential_change && s != nullptr &&
      s->link != nullptr && s->peer.known() && s->link->renew_security(s->peer, clock_.now())) {
    flush_transports();
  }
  return Ok{};
}

Result<bool> Lwm2mServer::remove_credentials(const std::string& endpoint) {
  const Credentials* old = credentials_.find(endpoint);
  if (old == nullptr) return false;
  auto removed = store_.remove_credentials(endpoint);
  if (removed) removed = store_.flush();
  if (!removed) {
    (void)store_.save_credentials(*old);  // taken back, as in put_credentials
    return lwm2m::reject(lwm2m::status::kInternalServerError, removed.error().reason);
  }
  credentials_.remove(endpoint);
  if (oscore_ != nullptr) oscore_->remove(endpoint);
  return true;
}

std::optional<Bytes> Lwm2mServer::psk_key_for(ByteView identity) const {
  return credentials_.psk_key_for(identity);
}

bool Lwm2mServer::knows_public_key(ByteView spki) const {
  return credentials_.knows_public_key(spki);
}

std::optional<Credentials> Lwm2mServer::credentials(const std::string& endpoint) const {
  const Credentials* c = credentials_.find(endpoint);
  if (c == nullptr) return std::nullopt;
  return *c;
}

void Lwm2mServer::walk_credentials(std::string_view after, std::string_view prefix,
                                   const std::function<bool(const Credentials&)>& visit) const {
  walk_ordered(credentials_.all(), after, prefix, visit);
}

// --- uplink ------------------------------------------------------------------

Lwm2mServer::HeldKey Lwm2mServer::held_key(const Registration& r) const {
  // Only held answers need it; write-behind copies nothing on this hot path.
  return config_.sync_writes ? HeldKey{r.endpoint, r.id} : HeldKey{};
}

template <typename Then>
void Lwm2mServer::acknowledge(UplinkReply& reply, lwm2m::UplinkAnswer answer, HeldKey made,
                              Then&& then) {
  if (!config_.sync_writes) {
    reply.answer(std::move(answer));
    then();
    return;
  }
  held_.push_back(Held{reply.keep(), std::move(answer), std::forward<Then>(then),
                       std::move(made.first), std::move(made.second)});
}

void Lwm2mServer::handle_uplink(const UplinkFrom& from, Result<lwm2m::Uplink> uplink,
                                UplinkReply& reply) {
  ServerLink& link = *from.link;
  const PeerIdentity identity = link.identify(from.peer);
  // What a client says counts as its; a stranger now at its address does not wake it. A
  // Register or Update that succeeds says so when it binds the session; the rest say it
  // here (two lookups the Update path is spared). A held answer binds only after the
  // commit, so with sync_writes every uplink says it on arrival, as before.
  bool heard = false;
  auto hear = [&] {
    if (heard) return;
    heard = true;
    if (Session* s = session_at(link, from.peer); s != nullptr) {
      const Registration* r = registry_.find(s->endpoint);
      if (r != nullptr && speaks_for(*r, identity)) heard_from(*s);
    }
  };
  if (config_.sync_writes) hear();
  // Every refusal is counted, answered with its code and reason, and reported (a warn log).
  auto refuse = [&](const Error& error, const std::string& endpoint) {
    hear();
    ++metrics_.rejected_uplinks;
    reply.answer(lwm2m::UplinkAnswer::refusal(error));
    ServerEvent e;
    e.kind = ServerEvent::Kind::kRefused;
    e.endpoint = endpoint;
    e.detail = from.summary + ": " + error.reason;
    e.address = link.name() + " " + link.describe(from.peer);
    emit(std::move(e));
  };
  // The endpoint a location belongs to, for the report only: it proves nothing.
  auto owner_of = [this](const std::string& location) {
    const Registration* r = registry_.find_by_id(location);
    return r != nullptr ? r->endpoint : std::string{};
  };
  if (!uplink) {
    refuse(uplink.error(), {});
    flush_transports();
    return;
  }
  // A binding without locations (MQTT, Transport TS 8.3.2) names the registration by the
  // endpoint its topic carries. Only a registration made on the same link is reachable so:
  // a name alone must not move or end one made over (D)TLS elsewhere.
  auto locate = [&](std::string& location) -> Result<Ok> {
    if (!location.empty() || !from.endpoint) return Ok{};
    const Registration* r = registry_.find(*from.endpoint);
    if (r == nullptr || r->transport != link.name()) {
      return lwm2m::reject(codes::kNotFound,
                           "no registration of " + *from.endpoint + " on " + link.name());
    }
    location = r->id;
    return Ok{};
  };
  const UnixMillis now = clock_.unix_now();
  if (auto* reg = std::get_if<lwm2m::RegisterRequest>(&*uplink)) {
    // Transport TS 5.2.6: the name may be left out; the (D)TLS identity then gives it.
    if (!reg->params.endpoint && identity.secure())
      reg->params.endpoint = credentials_.endpoint_for(identity);
    if (full_for(reg->params.endpoint)) {
      ++metrics_.refused_full;
      reply.answer(server_full());
    } else if (auto done = registry_.register_client(*reg, identity, now); !done) {
      refuse(done.error(), reg->params.endpoint.value_or(""));
    } else {
      ++metrics_.registers;
      (void)store_.save_registration(done->registration);
      lwm2m::UplinkAnswer created;
      created.code = codes::kCreated;
      created.location = done->registration.id;
      auto key = held_key(done->registration);
      acknowledge(reply, std::move(created), std::move(key),
                  [this, l = &link, peer = from.peer, r = std::move(done->registration),
                   old = std::move(done->replaced)] { on_registered(*l, peer, r, old); });
    }
  } else if (auto* upd = std::get_if<lwm2m::UpdateRequest>(&*uplink)) {
    auto located = locate(upd->location);
    auto done = located ? registry_.update(*upd, identity, now) : located.error();
    // Only a location this node does not hold costs anything, not every Update: the other
    // workers of this process are asked first (a post each), then the store (a lookup).
    if (!done && located && ask_elsewhere(upd->location, identity, from, *uplink, reply)) {
      flush_transports();
      return;
    }
    if (!done && located && take_over(upd->location, identity)) {
      done = registry_.update(*upd, identity, now);
    }
    if (!done) {
      refuse(done.error(), from.endpoint.value_or(owner_of(upd->location)));
    } else {
      ++metrics_.updates;
      const Registration& updated = **done;
      (void)store_.save_update(updated, upd->objects.has_value());
      auto key = held_key(updated);
      // The event copies the registration only for someone who wants it.
      acknowledge(reply, lwm2m::UplinkAnswer{}, std::move(key),
                  [this, l = &link, peer = from.peer, endpoint = updated.endpoint,
                   at_once = config_.sync_writes ? nullptr : &updated]() {
                    // Run at once, the registration is the one just updated; held, it is
                    // looked up again.
                    const Registration* r = at_once != nullptr ? at_once : registry_.find(endpoint);
                    if (r == nullptr) return;
                    Session& s = bind_session(*l, peer, *r);
                    if (wants_event(ServerEvent::Kind::kUpdated, endpoint)) {
                      ServerEvent e;
                      e.kind = ServerEvent::Kind::kUpdated;
                      e.endpoint = endpoint;
                      e.registration = *r;
                      emit(std::move(e));
                    }
                    pump(s);
                  });
    }
  } else if (auto* dereg = std::get_if<lwm2m::DeregisterRequest>(&*uplink)) {
    auto located = locate(dereg->location);
    auto done = located ? registry_.deregister(*dereg, identity) : located.error();
    if (!done && located && ask_elsewhere(dereg->location, identity, from, *uplink, reply)) {
      flush_transports();
      return;
    }
    if (!done && located && take_over(dereg->location, identity)) {
      done = registry_.deregister(*dereg, identity);
    }
    if (!done) {
      refuse(done.error(), from.endpoint.value_or(owner_of(dereg->location)));
    } else {
      ++metrics_.deregisters;
      // end_registration removes it from the store; with sync_writes the answer waits for
      // that commit. The registration is gone from memory at once either way, so a failed
      // commit gets 5.00 and a retry 4.04: the client registers again, as it would anyway.
      end_registration(*done, ServerEvent::Kind::kDeregistered);
      lwm2m::UplinkAnswer deleted;
      deleted.code = codes::kDeleted;
      acknowledge(reply, std::move(deleted), {}, [] {});
    }
  } else if (auto* send = std::get_if<lwm2m::SendRequest>(&*uplink)) {
    hear();
    reply.answer(handle_send(from, identity, send->payload, send->content_format));
  } else {
    // A Bootstrap-Request on a registration link: not this server's interface.
    refuse(lwm2m::reject(codes::kNotFound, "not a Registration interface request"),
           from.endpoint.value_or(""));
  }
  flush_transports();
}

Lwm2mServer::Session& Lwm2mServer::bind_session(ServerLink& link, const PeerKey& peer,
                                                const Registration& r) {
  Session& s = session_for(r);
  if (s.link != &link || s.peer != peer) {
    unbind_peer(s);
    s.link = &link;
    // A peer the link already forgot (an answer held for the store while a spray filled the
    // transport's table) is not kept: resolve_peer finds the client again by its address.
    if (link.hold(peer)) s.peer = peer;
  }
  if (s.address != r.address) s.address = r.address;
  if (s.awake && s.queue_mode != r.queue_mode) {
    awake_count_ = r.queue_mode ? awake_count_ + 1 : awake_count_ - 1;
  }
  s.queue_mode = r.queue_mode;
  // Written only when it changed (an Update from the same peer costs no lookup here).
  if (s.peer == peer && !s.indexed) index_peer(s);
  heard_from(s);
  return s;
}

void Lwm2mServer::on_registered(ServerLink& link, const PeerKey& peer, const Registration& r,
                                const std::optional<Registration>& replaced) {
  if (replaced) {
    // Core TS 6.2.1: the new registration supersedes the old one; its observations lapse.
    if (Session* old = session_of(replaced->endpoint)) {
      for (const auto& id : std::vector<std::string>(old->observations)) {
        drop_observation(id, "replaced by a new registration");
      }
    }
  }
  Session& s = bind_session(link, peer, r);
  ServerEvent e;
  e.kind = ServerEvent::Kind::kRegistered;
  e.endpoint = r.endpoint;
  e.registration = r;
  if (replaced) e.detail = "replaced registration " + replaced->id;
  emit(std::move(e));
  pump(s);
}

lwm2m::UplinkAnswer Lwm2mServer::handle_send(const UplinkFrom& from, const PeerIdentity& identity,
                                             ByteView payload, std::uint16_t content_format) {
  lwm2m::UplinkAnswer out;
  const Session* who = session_at(*from.link, from.peer);
  const Registration* r = who == nullptr ? nullptr : registry_.find(who->endpoint);
  // The address is the registered client's only if the same identity speaks from it.
  if (r != nullptr && !speaks_for(*r, identity)) r = nullptr;
  if (r == nullptr) {
    out.code = codes::kBadRequest;
    out.body = to_bytes("Send from a client that is not registered");
    return out;
  }
  const auto format = lwm2m::format::content_format_from(content_format);
  if (!format || (*format != ContentFormat::kSenmlJson && *format != ContentFormat::kSenmlCbor &&
                  *format != ContentFormat::kLwm2mCbor)) {
    out.code = codes::kBadRequest;
    out.body = to_bytes("Send carries SenML JSON, SenML CBOR or LwM2M CBOR");
    return out;
  }
  auto records = lwm2m::format::decode_records(*format, payload, models_);
  if (!records) {
    out.code = codes::kBadRequest;
    out.body = to_bytes(records.error().reason);
    return out;
  }
  for (const auto& rec : *records) {
    const auto& objs = r->objects->objects;
    const bool known = std::any_of(objs.begin(), objs.end(),
                                   [&](const auto& o) { return o.id == rec.path.object_id(); });
    if (!known) {
      out.code = codes::kNotFound;
      out.body = to_bytes("object " + std::to_string(rec.path.object_id()) +
                          " is not in the registration");
      return out;
    }
  }
  ++metrics_.sends;
  out.code = codes::kChanged;
  ServerEvent e;
  e.kind = ServerEvent::Kind::kSend;
  e.endpoint = r->endpoint;
  lwm2m::DownlinkResponse content;
  content.code = codes::kChanged;
  content.format = format;
  content.records = std::move(*records);
  e.content = std::move(content);
  emit(std::move(e));
  return out;
}

void Lwm2mServer::end_registration(const Registration& r, ServerEvent::Kind why, bool released) {
  if (why == ServerEvent::Kind::kExpired) ++metrics_.expirations;
  (void)(released ? store_.let_go(r.endpoint) : store_.remove_registration(r.endpoint));
  if (auto it = sessions_.find(r.endpoint); it != sessions_.end()) {
    std::unique_ptr<Session> s = std::move(it->second);
    sessions_.erase(it);
    if (s->queue_mode && s->awake) --awake_count_;
    unbind_peer(*s);
    // The store dropped them with the registration; only the exchanges remain to end.
    for (const auto& id : s->observations) forget_observation(id);
    if (s->in_flight) {
      if (s->in_flight->exchange != 0) s->link->forget(s->in_flight->exchange, clock_.now());
      complete(*s->in_flight,
               DownlinkResult{
                   DownlinkResult::Status::kEnded, std::nullopt, "the registration ended", 0, {}});
    }
    for (auto& p : s->queue) {
      complete(*p,
               DownlinkResult{
                   DownlinkResult::Status::kEnded, std::nullopt, "the registration ended", 0, {}});
    }
  }
  if (released) return;
  ServerEvent e;
  e.kind = why;
  e.endpoint = r.endpoint;
  e.registration = r;
  emit(std::move(e));
}

bool Lwm2mServer::evict(const std::string& endpoint) {
  auto r = registry_.remove(endpoint);
  if (!r) return false;
  end_registration(*r, ServerEvent::Kind::kDeregistered);
  flush_transports();
  return true;
}

bool Lwm2mServer::release(const std::string& endpoint) {
  auto r = registry_.remove(endpoint);
  if (!r) return false;
  end_registration(*r, ServerEvent::Kind::kDeregistered, true);
  flush_transports();
  // Another worker or node acts under the endpoint's OSCORE context from now on, and this
  // copy's replay window misses what it takes: the device proves freshness (Echo) before
  // this one acts on a request again.
  if (oscore_ != nullptr) oscore_->require_freshness(endpoint);
  return true;
}

bool Lwm2mServer::release_taken(const std::string& endpoint, const std::string& id) {
  const Registration* r = registry_.find(endpoint);
  return r != nullptr && r->id == id && release(endpoint);
}

// --- sessions and the downlink queue ------------------------------------------

Lwm2mServer::Session& Lwm2mServer::session_for(const Registration& r) {
  auto& slot = sessions_[r.endpoint];
  if (!slot) {
    slot = std::make_unique<Session>();
    slot->endpoint = r.endpoint;
    slot->queue_mode = r.queue_mode;
    slot->address = r.address;
    slot->link = links_.find(r.transport);
  }
  return *slot;
}

Lwm2mServer::Session* Lwm2mServer::session_of(const std::string& endpoint) {
  auto it = sessions_.find(endpoint);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Lwm2mServer::Session* Lwm2mServer::session_at(const ServerLink& link, const PeerKey& peer) {
  auto it = session_by_peer_.find({&link, peer});
  return it == session_by_peer_.end() ? nullptr : it->second;
}

void Lwm2mServer::index_peer(Session& s) {
  Session*& slot = session_by_peer_[{s.link, s.peer}];
  // Another client registered from the same address: it spoke there last.
  if (slot != nullptr && slot != &s) slot->indexed = false;
  slot = &s;
  s.indexed = true;
}

void Lwm2mServer::unbind_peer(Session& s) {
  if (s.link == nullptr || !s.peer.known()) return;
  auto it = session_by_peer_.find({s.link, s.peer});
  if (it != session_by_peer_.end() && it->second == &s) session_by_peer_.erase(it);
  s.indexed = false;
  s.link->release(s.peer);
  s.peer = PeerKey{};
}

bool Lwm2mServer::is_awake(const std::string& endpoint) const {
  auto it = sessions_.find(endpoint);
  if (it == sessions_.end()) return false;
  const Session& s = *it->second;
  return !s.queue_mode || clock_.now() < s.awake_until;
}

std::size_t Lwm2mServer::total_queue_depth() const {
  std::size_t depth = 0;
  for (const auto& [ep, s] : sessions_) depth += s->queue.size() + (s->in_flight ? 1 : 0);
  return depth;
}

std::size_t Lwm2mServer::queue_depth(const std::string& endpoint) const {
  auto it = sessions_.find(endpoint);
  if (it == sessions_.end()) return 0;
  return it->second->queue.size() + (it->second->in_flight ? 1 : 0);
}

void Lwm2mServer::heard_from(Session& s) {
  s.awake_until = clock_.now() + config_.awake_window;
  s.woken = false;
  if (!s.queue_mode) return;
  timers_.schedule(s.awake_until, TimerEntry{TimerKind::kSleep, s.endpoint, 0});
  if (!s.awake) {
    s.awake = true;
    ++awake_count_;
    ServerEvent e;
    e.kind = ServerEvent::Kind::kAwake;
    e.endpoint = s.endpoint;
    emit(std::move(e));
  }
}

bool Lwm2mServer::full_for(const std::optional<std::string>& endpoint) const {
  // A client already registered re-registers whatever the count: it adds nothing.
  // Without a name the Register is refused for that (4.00), full or not.
  return config_.max_registrations != 0 && endpoint.has_value() &&
         held() >= config_.max_registrations && registry_.find(*endpoint) == nullptr;
}

lwm2m::UplinkAnswer Lwm2mServer::server_full() {
  lwm2m::UplinkAnswer a = lwm2m::UplinkAnswer::refusal(
      lwm2m::reject(codes::kServiceUnavailable, "the server holds its maximum of " +
                                                    std::to_string(config_.max_registrations) +
                                                    " registrations; try again later"));
  const auto base = static_cast<std::uint32_t>(std::max<std::int64_t>(
      2, std::chrono::duration_cast<std::chrono::seconds>(config_.full_retry_after).count()));
  a.retry_after = base / 2 + random_.next_u32() % (base + 1);
  return a;
}

std::uint64_t Lwm2mServer::send(const std::string& endpoint, lwm2m::DownlinkRequest request,
                                DownlinkOptions options, DownlinkCallback done) {
  const std::uint64_t ticket = next_ticket_++;
  auto fail_now = [&](DownlinkResult::Status status, std::string message) {
    DownlinkResult result{status, std::nullopt, std::move(message), ticket, {}};
    if (done) done(std::move(result));
    return ticket;
  };
  const Registration* r = registry_.find(endpoint);
  if (r == nullptr) {
    return fail_now(DownlinkResult::Status::kNotRegistered, "no client " + endpoint);
  }
  if (!request.format &&
      (is_container_operation(request) || request.op == Operation::kReadComposite ||
       request.op == Operation::kObserveComposite)) {
    request.format = body_format(*r, request);
  }
  if (request.op == Operation::kCreate && request.format != ContentFormat::kTlv) {
    assign_created_instance(*r, request);
  }
  if (!request.format && (request.op == Operation::kWrite || request.op == Operation::kCreate)) {
    // A single value: text, or octet-stream for Opaque (Core TS 7.3, 7.2).
    const auto* v = request.content.find_value(request.path);
    request.format = v != nullptr && v->type() == lwm2m::ResourceType::kOpaque
                         ? ContentFormat::kOpaque
                         : ContentFormat::kText;
  }
  Session& s = session_for(*r);
  if (s.queue.size() >= config_.max_queued_per_client) {
    ++metrics_.requests[{lwm2m::operation_name(request.op), "busy"}];
    return fail_now(DownlinkResult::Status::kBusy,
                    std::to_string(s.queue.size()) + " requests already wait for " + endpoint);
  }
  // Encoded when it goes out; refused now if the client's binding cannot carry it.
  if (s.link != nullptr) {
    if (auto ok = s.link->can_carry(request, r->objects->alternate_path); !ok) {
      return fail_now(DownlinkResult::Status::kBadRequest, ok.error().reason);
    }
  }

  auto p = std::make_unique<Pending>();
  p->ticket = ticket;
  p->endpoint = endpoint;
  p->request = std::move(request);
  p->alternate_path = r->objects->alternate_path;
  p->done = std::move(done);
  p->started = clock_.now();
  const Duration timeout = options.timeout.count() > 0 ? options.timeout : config_.default_timeout;
  timers_.schedule(p->started + timeout, TimerEntry{TimerKind::kRequestTimeout, endpoint, ticket});

  const bool asleep = s.queue_mode && clock_.now() >= s.awake_until;
  if (asleep && !s.woken && on_sleeper_) s.woken = on_sleeper_(*r);
  if (asleep && options.return_when_queued) {
    p->reported_queued = true;
    DownlinkResult queued{DownlinkResult::Status::kQueued,
                          std::nullopt,
                          "the client is asleep; the request waits for it",
                          ticket,
                          {}};
    DownlinkCallback cb = p->done;  // later answers go out as events
    p->done = nullptr;
    s.queue.push_back(std::move(p));
    if (cb) cb(std::move(queued));
    return ticket;
  }
  s.queue.push_back(std::move(p));
  pump(s);
  flush_transports();
  return ticket;
}

std::optional<ContentFormat> Lwm2mServer::body_format(const Registration& r,
                                                      const lwm2m::DownlinkRequest& req) const {
  const bool v12 = r.version == "1.2";
  // Composite operations carry records: LwM2M CBOR or SenML, whichever the client listed.
  if (req.op == Operation::kWriteComposite || req.op == Operation::kReadComposite ||
      req.op == Operation::kObserveComposite) {
    if (v12 && lists(r, ContentFormat::kLwm2mCbor)) return ContentFormat::kLwm2mCbor;
    if (lists(r, ContentFormat::kSenmlJson) && !lists(r, ContentFormat::kSenmlCbor)) {
      return ContentFormat::kSenmlJson;
    }
    return ContentFormat::kSenmlCbor;
  }
  // The client's advertised formats (ct= on its root link) decide; otherwise TLV, which
  // every 1.0 and 1.1 client has, and SenML CBOR for 1.2.
  for (auto f : {ContentFormat::kLwm2mCbor, ContentFormat::kSenmlCbor, ContentFormat::kTlv,
                 ContentFormat::kSenmlJson}) {
    if (lists(r, f) && (f != ContentFormat::kLwm2mCbor || v12)) return f;
  }
  return v12 ? ContentFormat::kSenmlCbor : ContentFormat::kTlv;
}

Result<PeerKey> Lwm2mServer::resolve_peer(Session& s) {
  if (s.peer.known()) return s.peer;
  if (s.link == nullptr) return fail("no transport for this client");
  auto peer = s.link->peer_at(s.address, s.endpoint);
  if (!peer) return peer.error();
  if (!s.link->hold(*peer)) return fail("the client's address was given up; waiting for it");
  s.peer = *peer;
  index_peer(s);
  // A client that registered over OSCORE hears from us protected, after a restart too.
  s.link->protect(s.peer, s.endpoint);
  return peer;
}

void Lwm2mServer::pump(Session& s) {
  // Transport TS 6.5: one outstanding request per client (NSTART = 1); a queue-mode client
  // gets nothing while it sleeps.
  while (!s.in_flight && !s.queue.empty()) {
    if (s.queue_mode && clock_.now() >= s.awake_until) return;
    auto peer = resolve_peer(s);
    if (!peer) return;
    std::unique_ptr<Pending> p = std::move(s.queue.front());
    s.queue.pop_front();
    if (!reaches_registrant(s)) {
      // Another (D)TLS identity now holds the client's address: nothing meant for the
      // client goes to it. The client's next Update or Register tells where it is.
      record_request(*p, "unreachable");
      complete(*p, DownlinkResult{DownlinkResult::Status::kUnreachable,
                                  std::nullopt,
                                  "another (D)TLS identity now speaks from the client's address",
                                  p->ticket,
                                  {}});
      continue;
    }
    s.link->protect(s.peer, s.endpoint);
    dispatch(s, std::move(p));
  }
}

bool Lwm2mServer::reaches_registrant(Session& s) const {
  const Registration* r = registry_.find(s.endpoint);
  if (r == nullptr || r->identity.empty() || s.link == nullptr) return true;
  const PeerIdentity now = s.link->identify(s.peer);
  // No session yet (a restart): the next handshake proves who it is.
  return !now.secure() || speaks_for(*r, now);
}

void Lwm2mServer::dispatch(Session& s, std::unique_ptr<Pending> p) {
  Pending& ref = *p;
  s.in_flight = std::move(p);
  const std::string endpoint = s.endpoint;
  const std::uint64_t ticket = ref.ticket;
  // The handler sees the response, then (for an Observe) each notification.
  auto observation_id = std::make_shared<std::string>();
  auto on_answer = [this, endpoint, ticket, observation_id](Result<lwm2m::DownlinkResponse> m) {
    if (!observation_id->empty()) {
      on_notification(*observation_id, std::move(m));
      return;
    }
    Session* session = session_of(endpoint);
    if (session == nullptr || !session->in_flight || session->in_flight->ticket != ticket) {
      return;
    }
    std::unique_ptr<Pending> done = std::move(session->in_flight);
    heard_from(*session);
    const Instant now = clock_.now();
    const auto ms = std::chrono::duration_cast<Duration>(now - done->started).count();
    std::size_t bucket = 0;
    while (bucket < ServerMetrics::kLatencyBoundsMs.size() &&
           ms > ServerMetrics::kLatencyBoundsMs[bucket]) {
      ++bucket;
    }
    ++metrics_.latency_buckets[bucket];
    metrics_.latency_sum_ms += ms;
    ++metrics_.latency_count;
    if (!m) {
      record_request(*done, "unreachable");
      complete(
          *done,
          DownlinkResult{
              DownlinkResult::Status::kUnreachable, std::nullopt, m.error().reason, ticket, {}});
    } else {
      record_request(*done, m->code.to_string());
      const bool observing = (done->request.op == Operation::kObserve ||
                              done->request.op == Operation::kObserveComposite) &&
                             m->code.is_success() && m->observe.has_value();
      DownlinkResult result{DownlinkResult::Status::kAnswered, std::move(*m), {}, ticket, {}};
      if (observing) {
        start_observation(*session, *done, done->exchange);
        *observation_id = session->observations.back();
        result.observation_id = *observation_id;
      }
      complete(*done, std::move(result));
    }
    if (Session* again = session_of(endpoint)) pump(*again);
    flush_transports();
  };
  auto exchange =
      s.link->request(s.peer, ref.request, ref.alternate_path, std::move(on_answer), clock_.now());
  if (!exchange) {
    // The link's binding changed since the request was queued, and this one cannot carry it.
    std::unique_ptr<Pending> failed = std::move(s.in_flight);
    record_request(*failed, "bad-request");
    complete(*failed, DownlinkResult{DownlinkResult::Status::kBadRequest,
                                     std::nullopt,
                                     exchange.error().reason,
                                     ticket,
                                     {}});
    return;
  }
  // An answer that came at once (a refusal inside the link) already ended the exchange.
  if (s.in_flight && s.in_flight->ticket == ticket) s.in_flight->exchange = *exchange;
}

void Lwm2mServer::complete(Pending& p, DownlinkResult result) {
  result.ticket = p.ticket;
  if (p.done) {
    DownlinkCallback done = std::move(p.done);
    p.done = nullptr;
    done(std::move(result));
  } else if (p.reported_queued) {
    ServerEvent e;
    e.kind = ServerEvent::Kind::kResponse;
    e.endpoint = p.endpoint;
    e.ticket = p.ticket;
    e.content = result.response;
    e.observation_id = result.observation_id;
    e.detail = result.response ? result.response->code.to_string()
                               : std::string(downlink_status_name(result.status));
    emit(std::move(e));
  }
}

void Lwm2mServer::record_request(const Pending& p, const std::string& result) {
  ++metrics_.requests[{lwm2m::operation_name(p.request.op), result}];
}

// --- timers ------------------------------------------------------------------------

std::optional<Instant> Lwm2mServer::next_deadline() {
  if (!held_.empty()) return clock_.now();  // the commit comes at the end of this loop turn
  std::optional<Instant> next = timers_.next();
  if (auto expiry = registry_.next_expiry()) {
    const Instant at = clock_.now() + Duration{*expiry - clock_.unix_now()};
    if (!next || at < *next) next = at;
  }
  return next;
}

void Lwm2mServer::on_timer() {
  commit_held();
  const Instant now = clock_.now();
  while (auto entry = timers_.pop_due(now)) {
    switch (entry->kind) {
      case TimerKind::kStoreFlush: {
        const auto flushed = store_.flush();
        if (!flushed) ++metrics_.store_failures;
        std::string error = flushed ? std::string() : flushed.error().reason;
        if (error != store_error_) {
          store_error_ = std::move(error);
          if (on_store_health_) on_store_health_(store_error_);
        }
        if (flushed &&
            (now - orphans_checked_ >= config_.orphan_check_interval || store_.claiming())) {
          orphans_checked_ = now;
          claim_orphans();
        }
        timers_.schedule(now + config_.store_flush_interval,
                         TimerEntry{TimerKind::kStoreFlush, {}, 0});
        break;
      }
      case TimerKind::kHandover:
        give_up_handover(entry->id);
        break;
      case TimerKind::kSleep: {
        Session* s = session_of(entry->key);
        if (s != nullptr && s->queue_mode && s->awake && now >= s->awake_until) {
          s->awake = false;
          --awake_count_;
          ServerEvent e;
          e.kind = ServerEvent::Kind::kSleeping;
          e.endpoint = s->endpoint;
          emit(std::move(e));
        }
        break;
      }
      case TimerKind::kRequestTimeout: {
        Session* s = session_of(entry->key);
        if (s == nullptr) break;
        std::unique_ptr<Pending> p;
        if (s->in_flight && s->in_flight->ticket == entry->id) {
          p = std::move(s->in_flight);
          if (p->exchange != 0) s->link->forget(p->exchange, now);
        } else {
          auto it = std::find_if(s->queue.begin(), s->queue.end(),
                                 [&](const auto& q) { return q->ticket == entry->id; });
          if (it == s->queue.end()) break;
          p = std::move(*it);
          s->queue.erase(it);
        }
        record_request(*p, "timeout");
        complete(*p, DownlinkResult{DownlinkResult::Status::kTimeout,
                                    std::nullopt,
                                    "no answer in time",
                                    p->ticket,
                                    {}});
        if (Session* again = session_of(entry->key)) pump(*again);
        break;
      }
    }
  }
  // Registrations made together expire together: a wave is ended over several loop turns
  // (next_deadline() is then already due), so Updates and the API are served in between.
  for (const auto& r : registry_.expire(clock_.unix_now(), kExpiriesPerTurn)) {
    end_registration(r, ServerEvent::Kind::kExpired);
  }
  flush_transports();
}

bool Lwm2mServer::wants_event(ServerEvent::Kind kind, const std::string& endpoint) const {
  return on_event_ && (!event_filter_ || event_filter_(kind, endpoint));
}

void Lwm2mServer::emit(ServerEvent e) {
  if (!on_event_) return;
  e.at = clock_.unix_now();
  on_event_(e);
}

void Lwm2mServer::flush_transports() {
  links_.flush();
}

}  // namespace tether::server
