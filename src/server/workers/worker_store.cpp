#include "server/workers/worker_store.hpp"

#include <algorithm>

#include "server/workers/local_node_bus.hpp"

namespace tether::server {

WorkerStore::WorkerStore(ServerStore& own, SharedCredentials& credentials,
                         WorkerDirectory& directory, std::size_t worker, MovedHandler moved)
    : own_(own),
      credentials_(credentials),
      directory_(directory),
      worker_(worker),
      moved_(std::move(moved)),
      own_is_shared_(&own == &credentials.store) {}

void WorkerStore::claim(const std::string& endpoint) {
  if (auto before = directory_.claim(endpoint, worker_); before && moved_) {
    moved_(*before, endpoint);
  }
}

Result<std::vector<Registration>> WorkerStore::load_registrations() {
  auto loaded = on_own([](ServerStore& s) { return s.load_registrations(); });
  if (loaded) {
    for (const auto& r : *loaded) claim(r.endpoint);
  }
  return loaded;
}

Result<Ok> WorkerStore::save_registration(const Registration& registration) {
  auto saved = on_own([&](ServerStore& s) { return s.save_registration(registration); });
  // Claimed even when the store refused: the registration is served here either way.
  claim(registration.endpoint);
  return saved;
}

Result<Ok> WorkerStore::save_update(const Registration& registration, bool objects_changed) {
  return on_own([&](ServerStore& s) { return s.save_update(registration, objects_changed); });
}

Result<Ok> WorkerStore::remove_registration(const std::string& endpoint) {
  directory_.release(endpoint, worker_);
  return on_own([&](ServerStore& s) { return s.remove_registration(endpoint); });
}

Result<std::optional<ServerStore::Found>> WorkerStore::find_registration(const std::string& id) {
  return on_own([&](ServerStore& s) { return s.find_registration(id); });
}

Result<bool> WorkerStore::take_registration(const Registration& registration) {
  auto taken = on_own([&](ServerStore& s) { return s.take_registration(registration); });
  if (taken && *taken) claim(registration.endpoint);
  return taken;
}

Result<std::vector<ServerStore::Found>> WorkerStore::claim_orphans() {
  auto claimed = on_own([](ServerStore& s) { return s.claim_orphans(); });
  if (claimed) {
    for (const auto& found : *claimed) claim(found.registration.endpoint);
  }
  return claimed;
}

Result<Ok> WorkerStore::let_go(const std::string& endpoint) {
  directory_.release(endpoint, worker_);
  return on_own([&](ServerStore& s) { return s.let_go(endpoint); });
}

Result<std::optional<std::string>> WorkerStore::owner_of(const std::string& endpoint) {
  if (auto owner = directory_.owner(endpoint)) {
    return std::optional<std::string>(
        *owner < naming_.workers.size() ? naming_.workers[*owner] : LocalNodeHub::name_of(*owner));
  }
  if (naming_.store_knows_owners)
    return on_own([&](ServerStore& s) { return s.owner_of(endpoint); });
  return std::optional<std::string>{};
}

Result<std::vector<ObservationRecord>> WorkerStore::load_observations() {
  return on_own([](ServerStore& s) { return s.load_observations(); });
}

Result<Ok> WorkerStore::save_observation(const ObservationRecord& observation) {
  return on_own([&](ServerStore& s) { return s.save_observation(observation); });
}

Result<Ok> WorkerStore::remove_observation(const std::string& endpoint, const std::string& id) {
  return on_own([&](ServerStore& s) { return s.remove_observation(endpoint, id); });
}

Result<std::vector<Credentials>> WorkerStore::load_credentials() {
  return on_shared([](ServerStore& s) { return s.load_credentials(); });
}

Result<std::optional<Credentials>> WorkerStore::load_credentials_of(const std::string& endpoint) {
  return on_shared([&](ServerStore& s) { return s.load_credentials_of(endpoint); });
}

Result<Ok> WorkerStore::save_credentials(const Credentials& credentials) {
  wrote_credentials_ = !own_is_shared_;
  return on_shared([&](ServerStore& s) {
    auto reserved = credentials_.reserved.find(credentials.endpoint);
    if (!credentials.has_oscore() || reserved == credentials_.reserved.end() ||
        credentials.oscore.sequence_bound >= reserved->second) {
      return s.save_credentials(credentials);
    }
    Credentials raised = credentials;
    raised.oscore.sequence_bound = reserved->second;
    return s.save_credentials(raised);
  });
}

Result<Ok> WorkerStore::remove_credentials(const std::string& endpoint) {
  wrote_credentials_ = !own_is_shared_;
  return on_shared([&](ServerStore& s) { return s.remove_credentials(endpoint); });
}

Result<std::uint64_t> WorkerStore::reserve_sequences(const std::string& endpoint,
                                                     std::uint64_t from, std::uint64_t step) {
  return on_shared([&](ServerStore& s) -> Result<std::uint64_t> {
    std::uint64_t& high = credentials_.reserved[endpoint];
    auto start = s.reserve_sequences(endpoint, std::max(from, high), step);
    if (start) high = std::max(high, *start + step);
    return start;
  });
}

Result<Ok> WorkerStore::flush() {
  if (wrote_credentials_) {
    if (auto ok = on_shared([](ServerStore& s) { return s.flush(); }); !ok) return ok;
    wrote_credentials_ = false;
  }
  return on_own([](ServerStore& s) { return s.flush(); });
}

}  // namespace tether::server
