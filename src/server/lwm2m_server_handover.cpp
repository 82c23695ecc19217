// Lwm2mServer with --workers: a registration moves to the worker whose socket its device's
// datagrams reach now (registration_handover.hpp). The asking worker holds the Update or
// De-register until the others answer; the holder sends a copy of the registration and its
// observations; the asker adopts them and lets the request go on. The holder lets its own
// go only once the asker has it (the directory's moved notice, as after a Register
// elsewhere), so an answer lost with a stopping worker loses nothing.
#include "server/lwm2m_server.hpp"

namespace tether::server {

bool Lwm2mServer::ask_elsewhere(std::string location, const PeerIdentity& identity,
                                const UplinkFrom& from, lwm2m::Uplink& uplink, UplinkReply& reply) {
  // asked_: the others already answered for this uplink, and none had it.
  if (handover_ == nullptr || asked_ || location.empty() ||
      registry_.find_by_id(location) != nullptr ||
      handovers_.size() >= config_.max_handovers_in_flight) {
    return false;
  }
  const std::uint64_t ask = next_ask_++;
  // The answers come later, on this loop, so the uplink can wait here after asking.
  const std::size_t answers = handover_->ask(ask, location, identity);
  if (answers == 0) return false;
  handovers_.emplace(ask, Handover{from, std::move(uplink), reply.keep(), answers});
  // A worker whose loop stopped never answers: the uplink is answered as unknown then.
  timers_.schedule(clock_.now() + kHandoverWait, TimerEntry{TimerKind::kHandover, {}, ask});
  return true;
}

std::optional<ServerStore::Found> Lwm2mServer::hand_over(const std::string& location,
                                                         const PeerIdentity& identity) {
  const Registration* r = registry_.find_by_id(location);
  // Transport TS 5.2.6: a location is no credential; only the registrant may move it.
  if (r == nullptr || r->expires_at() <= clock_.unix_now() || !speaks_for(*r, identity)) {
    return std::nullopt;
  }
  return ServerStore::Found{*r, observations(r->endpoint), {}};
}

void Lwm2mServer::handed(std::uint64_t ask, std::optional<ServerStore::Found> found) {
  auto it = handovers_.find(ask);
  // Answered already (a copy from a second holder, or after the wait ran out): the giver
  // still holds its own, so ignoring it loses nothing.
  if (it == handovers_.end()) return;
  if (!found && --it->second.answers_left > 0) return;
  go_on(it, std::move(found));
}

void Lwm2mServer::give_up_handover(std::uint64_t ask) {
  if (auto it = handovers_.find(ask); it != handovers_.end()) go_on(it, std::nullopt);
}

void Lwm2mServer::go_on(std::unordered_map<std::uint64_t, Handover>::iterator it,
                        std::optional<ServerStore::Found> found) {
  Handover waiting = std::move(it->second);
  handovers_.erase(it);
  if (found) adopt_handed(std::move(*found), waiting.from);
  // A location nobody gave is answered as any unknown one (4.04), without asking again.
  struct Asked {
    explicit Asked(bool& flag) : flag_(flag) { flag_ = true; }
    ~Asked() { flag_ = false; }
    bool& flag_;
  } asked(asked_);
  handle_uplink(waiting.from, std::move(waiting.uplink), *waiting.reply);
}

void Lwm2mServer::adopt_handed(ServerStore::Found found, const UplinkFrom& from) {
  Registration& r = found.registration;
  // Ran out on the way, or registered here meanwhile (that one is newer).
  if (r.expires_at() <= clock_.unix_now() || registry_.find(r.endpoint) != nullptr) return;
  // The device speaks from its new address now: the observations are adopted there.
  if (from.link != nullptr && from.link->name() == r.transport) {
    r.address = from.link->describe(from.peer);
  }
  // Through the directory, the worker that gave it lets its own go (WorkerStore's moved).
  (void)store_.save_registration(r);
  for (const auto& record : found.observations) (void)store_.save_observation(record);
  ++metrics_.takeovers;
  adopt_registration(r, clock_.unix_now());
  adopt_observations(found.observations);
}

}  // namespace tether::server
