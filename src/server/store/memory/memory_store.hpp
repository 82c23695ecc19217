#pragma once
// A ServerStore in process memory: for tests, and for a server that need not survive a
// restart. Nothing is buffered, so flush() has nothing to do.
#include <map>
#include <unordered_map>

#include "server/store/server_store.hpp"

namespace tether::server {

class MemoryStore final : public ServerStore {
 public:
  Result<std::vector<Registration>> load_registrations() override;
  Result<Ok> save_registration(const Registration& registration) override;
  Result<Ok> save_update(const Registration& registration, bool objects_changed) override;
  Result<Ok> remove_registration(const std::string& endpoint) override;
  Result<std::vector<ObservationRecord>> load_observations() override;
  Result<Ok> save_observation(const ObservationRecord& observation) override;
  Result<Ok> remove_observation(const std::string& endpoint, const std::string& id) override;
  Result<std::vector<Credentials>> load_credentials() override;
  Result<Ok> save_credentials(const Credentials& credentials) override;
  Result<Ok> remove_credentials(const std::string& endpoint) override;
  Result<Ok> flush() override { return Ok{}; }

 private:
  // Hashed: an Update writes here every time (issue 22); loads are sorted by endpoint.
  std::unordered_map<std::string, Registration> registrations_;
  std::map<std::string, ObservationRecord> observations_;
  std::map<std::string, Credentials> credentials_;
};

}  // namespace tether::server
