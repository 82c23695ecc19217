#include "server/store/pending_writes.hpp"

namespace tether::server {

void PendingWrites::save_registration(const Registration& registration) {
  // Assigning into the existing slot reuses its buffers on the Update-heavy path.
  registrations_[registration.endpoint] = registration;
  updates_.erase(registration.endpoint);
}

void PendingWrites::save_update(const Registration& registration, bool objects_changed) {
  // A whole registration still waiting carries the Update with it.
  if (objects_changed || registrations_.contains(registration.endpoint)) {
    save_registration(registration);
    return;
  }
  updates_.insert_or_assign(registration.endpoint, UpdatedFields::of(registration));
}

void PendingWrites::remove_registration(const std::string& endpoint) {
  updates_.erase(endpoint);
  registrations_[endpoint] = std::nullopt;
  // Instead of scanning the pending observations here (deregistrations can come in bulk),
  // the flush drops those of this endpoint saved before this point (swept()).
  sweeps_[endpoint] = next_seq_++;
}

void PendingWrites::forget(const std::string& endpoint) {
  updates_.erase(endpoint);
  registrations_.erase(endpoint);
  sweeps_.erase(endpoint);
  // Rare (a registration moving away), so a scan is fine here.
  std::erase_if(observations_,
                [&](const auto& entry) { return entry.second.endpoint == endpoint; });
}

void PendingWrites::save_observation(const ObservationRecord& observation) {
  auto& pending = observations_[observation.id];
  pending.seq = next_seq_++;
  pending.endpoint = observation.endpoint;
  pending.record = observation;
}

void PendingWrites::remove_observation(const std::string& endpoint, const std::string& id) {
  auto& pending = observations_[id];
  pending.seq = next_seq_++;
  pending.endpoint = endpoint;
  pending.record.reset();
}

void PendingWrites::save_credentials(const Credentials& credentials) {
  credentials_[credentials.endpoint] = credentials;
}

void PendingWrites::remove_credentials(const std::string& endpoint) {
  credentials_[endpoint] = std::nullopt;
}

bool PendingWrites::empty() const {
  return registrations_.empty() && updates_.empty() && observations_.empty() &&
         credentials_.empty() && sweeps_.empty();
}

void PendingWrites::clear() {
  registrations_.clear();
  updates_.clear();
  observations_.clear();
  credentials_.clear();
  sweeps_.clear();
}

bool PendingWrites::swept(const Observation& pending) const {
  if (!pending.record) return false;
  const auto sweep = sweeps_.find(pending.record->endpoint);
  return sweep != sweeps_.end() && sweep->second > pending.seq;
}

}  // namespace tether::server
