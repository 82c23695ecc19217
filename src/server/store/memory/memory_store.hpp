#pragma once
// A ServerStore in process memory: for tests, and for a server that need not survive a
// restart. Nothing is buffered, so flush() has nothing to do.
#include <cstdint>
#include <map>
#include <unordered_map>

#include "server/store/server_store.hpp"

namespace tether::server {

class MemoryStore final : public ServerStore {
 public:
  // What the store keeps. A server on a memory store starts empty, and while it runs it
  // reads back only credentials: the registrations and observations a restart would
  // restore die with the process anyway, so `tether server --store memory` keeps no copy
  // of them (issue 22: ~400 B per registration, and a lookup per Update). Tests keep
  // everything, to see what was written and to restart a server on it.
  enum class Keeps : std::uint8_t { kEverything, kCredentialsOnly };
  MemoryStore() = default;
  explicit MemoryStore(Keeps keeps) : keeps_(keeps) {}

  Result<std::vector<Registration>> load_registrations() override;
  Result<Ok> save_registration(const Registration& registration) override;
  Result<Ok> save_update(const Registration& registration, bool objects_changed) override;
  Result<Ok> remove_registration(const std::string& endpoint) override;
  Result<std::vector<ObservationRecord>> load_observations() override;
  Result<Ok> save_observation(const ObservationRecord& observation) override;
  Result<Ok> remove_observation(const std::string& endpoint, const std::string& id) override;
  Result<std::vector<Credentials>> load_credentials() override;
  Result<std::optional<Credentials>> load_credentials_of(const std::string& endpoint) override;
  Result<Ok> save_credentials(const Credentials& credentials) override;
  Result<Ok> remove_credentials(const std::string& endpoint) override;
  Result<Ok> flush() override { return Ok{}; }

 private:
  bool keeps_state() const { return keeps_ == Keeps::kEverything; }

  Keeps keeps_ = Keeps::kEverything;
  // Hashed: an Update writes here every time (issue 22); loads are sorted by endpoint.
  std::unordered_map<std::string, Registration> registrations_;
  std::map<std::string, ObservationRecord> observations_;
  std::map<std::string, Credentials> credentials_;
};

}  // namespace tether::server
