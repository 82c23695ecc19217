// Lwm2mServer: what survives a restart (registrations, observations, credentials) and the
// store commits that make answers durable before they go out.
#include "server/lwm2m_server.hpp"

#include "server/lwm2m_server_state.hpp"
#include "server/oscore_credentials.hpp"

namespace tether::server {

namespace codes = lwm2m::status;
using lwm2m::Operation;

// --- restart -----------------------------------------------------------------------

Result<Ok> Lwm2mServer::restore() {
  auto creds = store_.load_credentials();
  if (!creds) return creds.error();
  for (auto& c : *creds) {
    auto keyed = oscore_ != nullptr ? key_oscore(*oscore_, c) : Result<Ok>(Ok{});
    if (!keyed) return fail("credentials of " + c.endpoint + ": " + keyed.error().reason);
    credentials_.put(std::move(c));
  }
  auto regs = store_.load_registrations();
  if (!regs) return regs.error();
  const UnixMillis now = clock_.unix_now();
  for (auto& r : *regs) adopt_registration(r, now);
  // Whatever ran out while the server was down ends as an expiry, store and all.
  for (const auto& r : registry_.expire(now)) end_registration(r, ServerEvent::Kind::kExpired);
  auto observations = store_.load_observations();
  if (!observations) return observations.error();
  adopt_observations(*observations);
  return Ok{};
}

// Issue 22, several nodes on one store: a location this node does not hold may be another
// node's (one that died, or a device the load balancer moved here). The store hands over
// the registration and its observations, this node adopts them, and the Update or
// De-register that asked goes on as if it had been registered here.
bool Lwm2mServer::take_over(const std::string& location, const PeerIdentity& identity) {
  // A store that is failing is not asked (each ask would wait out its timeout).
  if (location.empty() || registry_.find_by_id(location) != nullptr || !store_error_.empty()) {
    return false;
  }
  // Each lookup waits on the store: a spray of made-up locations must not stall the loop.
  const Instant now = clock_.now();
  if (now - lookups_since_ >= Duration{1'000}) {
    lookups_since_ = now;
    lookups_ = 0;
  }
  if (lookups_ >= config_.max_store_lookups_per_second) return false;
  ++lookups_;
  auto found = store_.find_registration(location);
  if (!found || !*found) return false;
  const Registration& r = (*found)->registration;
  // Ran out: the client registers again. Held here under another ID: this node's is newer.
  if (r.expires_at() <= clock_.unix_now() || registry_.find(r.endpoint) != nullptr) return false;
  // Transport TS 5.2.6: only the identity that registered may take it anywhere; another is
  // answered as for any unknown location.
  if (!speaks_for(r, identity) || full_for(r.endpoint)) return false;
  auto taken = store_.take_registration(r);
  if (!taken || !*taken) return false;
  ++metrics_.takeovers;
  adopt_registration(r, clock_.unix_now());
  adopt_observations((*found)->observations);
  const std::string& from = (*found)->owner;
  if (on_taken_ && !from.empty()) on_taken_(r.endpoint, r.id, from);
  return true;
}

// Issue 22: a node that died leaves its registrations to the others; those that ran out
// meanwhile end here as expiries, the rest wait for their devices as after a restart.
void Lwm2mServer::claim_orphans() {
  if (held() >= config_.max_registrations && config_.max_registrations != 0) return;
  auto orphans = store_.claim_orphans();
  if (!orphans || orphans->empty()) return;
  const UnixMillis now = clock_.unix_now();
  for (auto& found : *orphans) {
    if (registry_.find(found.registration.endpoint) != nullptr) continue;
    ++metrics_.takeovers;
    adopt_registration(found.registration, now);
    adopt_observations(found.observations);
  }
  for (const auto& r : registry_.expire(now)) end_registration(r, ServerEvent::Kind::kExpired);
}

void Lwm2mServer::adopt_registration(const Registration& r, UnixMillis now) {
  registry_.restore(r);
  Session& s = session_for(r);
  // Until the client speaks again, it counts as awake from its last update.
  s.awake_until = clock_.now() + config_.awake_window - Duration{now - r.updated_at};
  if (s.queue_mode && !s.awake && s.awake_until > clock_.now()) {
    s.awake = true;
    ++awake_count_;
    timers_.schedule(s.awake_until, TimerEntry{TimerKind::kSleep, s.endpoint, 0});
  }
}

void Lwm2mServer::adopt_observations(const std::vector<ObservationRecord>& records) {
  for (const auto& rec : records) {
    const Registration* r = registry_.find(rec.endpoint);
    Session* s = session_of(rec.endpoint);
    if (r == nullptr || s == nullptr || r->id != rec.registration_id || s->link == nullptr ||
        !resolve_peer(*s)) {
      // Over TCP an observation dies with its connection (RFC 8323 7.2).
      (void)store_.remove_observation(rec.endpoint, rec.id);
      continue;
    }
    auto obs = std::make_unique<Observation>();
    obs->record = rec;
    obs->link = s->link;
    obs->alternate_path = r->objects->alternate_path;
    obs->request.op = rec.composite ? Operation::kObserveComposite : Operation::kObserve;
    if (rec.composite) {
      obs->request.paths = rec.paths;
    } else if (!rec.paths.empty()) {
      obs->request.path = rec.paths.front();
    }
    if (rec.accept) obs->request.format = lwm2m::format::content_format_from(*rec.accept);
    obs->request.attributes = rec.attributes;
    // RFC 8613 B.1.3: a restarted server no longer knows an OSCORE observation's last
    // notification number, so it could not tell a replayed notification from a new one: it
    // observes again (same observation id, new token) instead of adopting the old exchange,
    // whose notifications are then refused and end it on the client.
    if (s->link->observes_again_after_restart(rec.endpoint)) {
      observe_again(*s, *obs);
      continue;
    }
    const std::string id = rec.id;
    auto adopted = s->link->adopt_observation(
        s->peer, obs->request, obs->alternate_path, rec.token,
        [this, id](Result<lwm2m::DownlinkResponse> m) { on_notification(id, std::move(m)); });
    if (!adopted) {
      (void)store_.remove_observation(rec.endpoint, rec.id);
      continue;
    }
    obs->exchange = *adopted;
    s->observations.push_back(id);
    observations_[id] = std::move(obs);
  }
}

void Lwm2mServer::observe_again(Session& s, const Observation& obs) {
  auto p = std::make_unique<Pending>();
  p->ticket = next_ticket_++;
  p->endpoint = s.endpoint;
  p->request = obs.request;
  p->alternate_path = obs.alternate_path;
  p->started = clock_.now();
  p->observation_id = obs.record.id;
  // No timeout of ours: it waits for a sleeping client like any queued request, and the
  // exchange's own retransmission bound ends it if the client never answers.
  p->done = [this, endpoint = s.endpoint, id = obs.record.id](DownlinkResult r) {
    if (!r.observation_id.empty()) return;
    (void)store_.remove_observation(endpoint, id);
    emit_observation_ended(endpoint, id,
                           "not observed again after a restart: " +
                               (r.response ? r.response->code.to_string() : r.message));
  };
  s.queue.push_back(std::move(p));
  pump(s);
  flush_transports();
}

void Lwm2mServer::commit_held() {
  if (held_.empty()) return;
  std::vector<Held> held;
  held.swap(held_);
  const auto committed = store_.flush();
  // Every client hears first; what follows an answer comes after.
  for (auto& h : held) {
    if (committed) {
      h.reply->answer(std::move(h.answer));
    } else {
      // Not durable, so not acknowledged: the client tries again.
      lwm2m::UplinkAnswer failed;
      failed.code = codes::kInternalServerError;
      failed.body = to_bytes("the store did not take it: " + committed.error().reason);
      h.reply->answer(std::move(failed));
    }
  }
  if (committed) {
    for (auto& h : held) {
      // The registration may have gone (or been replaced) while its answer waited.
      const Registration* now = h.endpoint.empty() ? nullptr : registry_.find(h.endpoint);
      if (h.endpoint.empty() || (now != nullptr && now->id == h.registration_id)) h.then();
    }
  }
  flush_transports();
}

void Lwm2mServer::shutdown() {
  commit_held();
  (void)store_.flush();
}

}  // namespace tether::server
