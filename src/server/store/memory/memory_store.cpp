#include "server/store/memory/memory_store.hpp"

#include <algorithm>

namespace tether::server {

namespace {
template <typename Map>
auto values_of(const Map& map) {
  std::vector<typename Map::mapped_type> out;
  out.reserve(map.size());
  for (const auto& [key, value] : map) out.push_back(value);
  return out;
}
}  // namespace

Result<std::vector<Registration>> MemoryStore::load_registrations() {
  auto out = values_of(registrations_);
  std::sort(out.begin(), out.end(),
            [](const Registration& a, const Registration& b) { return a.endpoint < b.endpoint; });
  return out;
}

Result<Ok> MemoryStore::save_registration(const Registration& registration) {
  if (!keeps_state()) return Ok{};
  registrations_[registration.endpoint] = registration;
  return Ok{};
}

Result<Ok> MemoryStore::save_update(const Registration& registration, bool objects_changed) {
  if (!keeps_state()) return Ok{};
  auto it = registrations_.find(registration.endpoint);
  if (objects_changed || it == registrations_.end()) return save_registration(registration);
  // The object list stays: copying it is most of an Update's cost here.
  UpdatedFields::of(registration).apply_to(it->second);
  return Ok{};
}

Result<Ok> MemoryStore::remove_registration(const std::string& endpoint) {
  registrations_.erase(endpoint);
  std::erase_if(observations_, [&](const auto& kv) { return kv.second.endpoint == endpoint; });
  return Ok{};
}

Result<std::vector<ObservationRecord>> MemoryStore::load_observations() {
  return values_of(observations_);
}

Result<Ok> MemoryStore::save_observation(const ObservationRecord& observation) {
  if (!keeps_state()) return Ok{};
  observations_[observation.id] = observation;
  return Ok{};
}

Result<Ok> MemoryStore::remove_observation(const std::string& /*endpoint*/, const std::string& id) {
  observations_.erase(id);
  return Ok{};
}

Result<std::vector<Credentials>> MemoryStore::load_credentials() {
  return values_of(credentials_);
}

Result<std::optional<Credentials>> MemoryStore::load_credentials_of(const std::string& endpoint) {
  auto it = credentials_.find(endpoint);
  if (it == credentials_.end()) return std::optional<Credentials>{};
  return std::optional<Credentials>(it->second);
}

Result<Ok> MemoryStore::save_credentials(const Credentials& credentials) {
  credentials_[credentials.endpoint] = credentials;
  return Ok{};
}

Result<Ok> MemoryStore::remove_credentials(const std::string& endpoint) {
  credentials_.erase(endpoint);
  return Ok{};
}

}  // namespace tether::server
