// Lwm2mServer: observations (Core TS 6.4; kept by the link that carries them), their
// notifications and their end.
#include "server/lwm2m_server.hpp"

#include "server/lwm2m_server_state.hpp"

namespace tether::server {

using lwm2m::Operation;

// --- observations ----------------------------------------------------------------

void Lwm2mServer::start_observation(Session& s, Pending& p, ExchangeId exchange) {
  Bytes id_bytes(8);
  random_.fill(id_bytes);
  auto obs = std::make_unique<Observation>();
  obs->record.id = p.observation_id.empty() ? to_hex(id_bytes) : p.observation_id;
  obs->record.endpoint = s.endpoint;
  if (const Registration* r = registry_.find(s.endpoint)) obs->record.registration_id = r->id;
  obs->record.composite = p.request.op == Operation::kObserveComposite;
  obs->record.paths = obs->record.composite ? p.request.paths : std::vector{p.request.path};
  if (p.request.format) obs->record.accept = static_cast<std::uint16_t>(*p.request.format);
  obs->record.attributes = p.request.attributes;
  obs->record.token = s.link->token_of(exchange);
  obs->record.created_at = clock_.unix_now();
  obs->link = s.link;
  obs->exchange = exchange;
  obs->request = p.request;
  obs->alternate_path = p.alternate_path;
  (void)store_.save_observation(obs->record);
  s.observations.push_back(obs->record.id);
  observations_[obs->record.id] = std::move(obs);
}

void Lwm2mServer::on_notification(const std::string& observation_id,
                                  Result<lwm2m::DownlinkResponse> m) {
  auto it = observations_.find(observation_id);
  if (it == observations_.end()) return;
  Observation& obs = *it->second;
  if (Session* s = session_of(obs.record.endpoint)) heard_from(*s);
  if (!m) {
    drop_observation(observation_id, m.error().reason);
    return;
  }
  if (!m->code.is_success()) {
    drop_observation(observation_id, "the client answered " + m->code.describe());
    return;
  }
  ++metrics_.notifications;
  ServerEvent e;
  e.kind = ServerEvent::Kind::kNotification;
  e.endpoint = obs.record.endpoint;
  e.observation_id = observation_id;
  e.content = std::move(*m);
  emit(std::move(e));
}

std::unique_ptr<Lwm2mServer::Observation> Lwm2mServer::forget_observation(
    const std::string& observation_id) {
  auto it = observations_.find(observation_id);
  if (it == observations_.end()) return nullptr;
  std::unique_ptr<Observation> obs = std::move(it->second);
  observations_.erase(it);
  // Passive: the exchange ends here (over CoAP the client's next notification gets RST).
  if (obs->exchange != 0) obs->link->forget(obs->exchange, clock_.now());
  return obs;
}

std::unique_ptr<Lwm2mServer::Observation> Lwm2mServer::drop_observation_quietly(
    const std::string& observation_id) {
  std::unique_ptr<Observation> obs = forget_observation(observation_id);
  if (!obs) return nullptr;
  if (Session* s = session_of(obs->record.endpoint)) std::erase(s->observations, observation_id);
  (void)store_.remove_observation(obs->record.endpoint, observation_id);
  return obs;
}

void Lwm2mServer::emit_observation_ended(const std::string& endpoint,
                                         const std::string& observation_id,
                                         const std::string& why) {
  ServerEvent e;
  e.kind = ServerEvent::Kind::kObservationEnded;
  e.endpoint = endpoint;
  e.observation_id = observation_id;
  e.detail = why;
  emit(std::move(e));
}

void Lwm2mServer::drop_observation(const std::string& observation_id, const std::string& why) {
  std::unique_ptr<Observation> obs = drop_observation_quietly(observation_id);
  if (obs) emit_observation_ended(obs->record.endpoint, observation_id, why);
}

bool Lwm2mServer::cancel_observation(const std::string& observation_id, bool active,
                                     DownlinkCallback done) {
  auto it = observations_.find(observation_id);
  if (it == observations_.end()) return false;
  if (!active || it->second->exchange == 0) {
    drop_observation(observation_id, active ? "cancelled (active)" : "cancelled (passive)");
    if (active && done) {
      done(DownlinkResult{DownlinkResult::Status::kUnreachable,
                          std::nullopt,
                          "the observation has no exchange to cancel (restored after a restart "
                          "and not yet notified); it was forgotten",
                          0,
                          {}});
    }
    flush_transports();
    return true;
  }
  // The link tells the client, with the observation's token; what the client answers is what
  // happened (a 4.04 means it had no such observation any more).
  ServerLink* link = it->second->link;
  const ExchangeId exchange = it->second->exchange;
  it->second->exchange = 0;
  std::unique_ptr<Observation> obs = drop_observation_quietly(observation_id);
  auto on_answer = [this, observation_id, endpoint = obs->record.endpoint,
                    done = std::move(done)](Result<lwm2m::DownlinkResponse> m) {
    DownlinkResult result;
    std::string why;
    if (m) {
      result.status = DownlinkResult::Status::kAnswered;
      why = "cancelled (active): the client answered " + m->code.describe();
      result.response = std::move(*m);
    } else {
      result.status = DownlinkResult::Status::kUnreachable;
      result.message = "no answer to the cancel: " + m.error().reason;
      why = "cancelled (active): " + result.message;
    }
    emit_observation_ended(endpoint, observation_id, why);
    if (done) done(std::move(result));
  };
  link->cancel_observation(exchange, obs->request, obs->alternate_path, clock_.now(),
                           std::move(on_answer));
  flush_transports();
  return true;
}

std::vector<ObservationRecord> Lwm2mServer::observations(const std::string& endpoint) const {
  std::vector<ObservationRecord> out;
  auto it = sessions_.find(endpoint);
  if (it == sessions_.end()) return out;
  for (const auto& id : it->second->observations) {
    if (auto o = observations_.find(id); o != observations_.end()) out.push_back(o->second->record);
  }
  return out;
}

}  // namespace tether::server
