#pragma once
// Writes a buffering store has taken but not yet made durable: the latest state per key, so
// that a client updating a thousand times between two flushes costs one write (issue 22).
// The SQLite and Redis stores are BufferedStores: they write it out in flush().
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "server/store/server_store.hpp"

namespace tether::server {

class PendingWrites {
 public:
  // A buffered observation write; nullopt deletes. `seq` orders it against endpoint sweeps.
  struct Observation {
    std::uint64_t seq = 0;
    std::string endpoint;
    std::optional<ObservationRecord> record;
  };

  void save_registration(const Registration& registration);
  void save_update(const Registration& registration, bool objects_changed);
  void remove_registration(const std::string& endpoint);
  void save_observation(const ObservationRecord& observation);
  void remove_observation(const std::string& endpoint, const std::string& id);
  void save_credentials(const Credentials& credentials);
  void remove_credentials(const std::string& endpoint);
  // Drops what is pending for the endpoint's registration and observations: another worker
  // or node writes them now (ServerStore::let_go).
  void forget(const std::string& endpoint);

  bool empty() const;
  void clear();
  // Whether a pending observation was saved before a later removal of its endpoint, so it
  // goes with that endpoint's stored ones.
  bool swept(const Observation& pending) const;

  // Latest state per key; nullopt deletes.
  const std::map<std::string, std::optional<Registration>>& registrations() const {
    return registrations_;
  }
  // Updates of registrations already written: a few fields each instead of the whole
  // registration with its object list; an endpoint is never here and in registrations().
  const std::map<std::string, UpdatedFields>& updates() const { return updates_; }
  const std::map<std::string, Observation>& observations() const { return observations_; }
  const std::map<std::string, std::optional<Credentials>>& credentials() const {
    return credentials_;
  }
  // Endpoints whose stored observations go (remove_registration), with the sequence number
  // of the latest removal.
  const std::map<std::string, std::uint64_t>& sweeps() const { return sweeps_; }

 private:
  std::map<std::string, std::optional<Registration>> registrations_;
  std::map<std::string, UpdatedFields> updates_;
  std::map<std::string, Observation> observations_;
  std::map<std::string, std::optional<Credentials>> credentials_;
  std::map<std::string, std::uint64_t> sweeps_;
  std::uint64_t next_seq_ = 0;
};

// A store whose writes wait in PendingWrites until flush(); it implements the loads and
// flush() (which clears pending_ once everything is durable).
class BufferedStore : public ServerStore {
 public:
  Result<Ok> save_registration(const Registration& registration) final {
    pending_.save_registration(registration);
    return Ok{};
  }
  Result<Ok> save_update(const Registration& registration, bool objects_changed) final {
    pending_.save_update(registration, objects_changed);
    return Ok{};
  }
  Result<Ok> remove_registration(const std::string& endpoint) final {
    pending_.remove_registration(endpoint);
    return Ok{};
  }
  Result<Ok> save_observation(const ObservationRecord& observation) final {
    pending_.save_observation(observation);
    return Ok{};
  }
  Result<Ok> remove_observation(const std::string& endpoint, const std::string& id) final {
    pending_.remove_observation(endpoint, id);
    return Ok{};
  }
  Result<Ok> save_credentials(const Credentials& credentials) final {
    pending_.save_credentials(credentials);
    return Ok{};
  }
  Result<Ok> remove_credentials(const std::string& endpoint) final {
    pending_.remove_credentials(endpoint);
    return Ok{};
  }

 protected:
  PendingWrites pending_;
};

}  // namespace tether::server
