#pragma once
// One worker's store (`tether server --workers N`): its registrations and observations in
// a store of its own (a MemoryStore, or an SQLite file per worker), so an Update takes no
// lock another worker contends for; the credentials in one store every worker shares,
// behind a mutex (they change through the API, and a worker reads them at start and when
// told of a change). It keeps the WorkerDirectory: who serves an endpoint, and which worker
// must let it go when its device registers with another.
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/store/server_store.hpp"
#include "server/workers/worker_directory.hpp"

namespace tether::server {

// The store every worker's credentials live in. Worker 0 may keep its registrations there
// too (the SQLite file of a server with one worker), and then takes the mutex for those.
struct SharedCredentials {
  explicit SharedCredentials(ServerStore& s) : store(s) {}
  ServerStore& store;
  std::mutex mutex;
  // OSCORE Sender Sequence Numbers reserved in this run, by endpoint (RFC 8613 B.1.1). A
  // credentials write from a worker whose copy of the bound is behind, or a removal and a
  // put again of the same keys, never brings the stored bound below it, so no window of
  // numbers is handed out twice.
  std::unordered_map<std::string, std::uint64_t> reserved;
};

class WorkerStore final : public ServerStore {
 public:
  // Runs on the worker that registered `endpoint`: worker `from` served it until now.
  using MovedHandler = std::function<void(std::size_t from, const std::string& endpoint)>;

  WorkerStore(ServerStore& own, SharedCredentials& credentials, WorkerDirectory& directory,
              std::size_t worker, MovedHandler moved);

  Result<std::vector<Registration>> load_registrations() override;
  Result<Ok> save_registration(const Registration& registration) override;
  Result<Ok> save_update(const Registration& registration, bool objects_changed) override;
  Result<Ok> remove_registration(const std::string& endpoint) override;
  // On Redis: another node's registration, taken over or claimed by this worker.
  Result<std::optional<Found>> find_registration(const std::string& id) override;
  Result<bool> take_registration(const Registration& registration) override;
  Result<std::vector<Found>> claim_orphans() override;
  bool claiming() const override { return own_.claiming(); }
  Result<Ok> let_go(const std::string& endpoint) override;
  // The worker the directory names (by default as "w<k>", the LocalNodeHub's names); on
  // Redis, for an endpoint no worker here serves, the node the store names.
  Result<std::optional<std::string>> owner_of(const std::string& endpoint) override;

  // How owner_of() names the workers of this process: worker k as workers[k]. On Redis
  // each worker is a node of its own, and `store_knows_owners` asks the store about the
  // endpoints other nodes serve.
  struct Naming {
    std::vector<std::string> workers;
    bool store_knows_owners = false;
  };
  void set_naming(Naming naming) { naming_ = std::move(naming); }

  Result<std::vector<ObservationRecord>> load_observations() override;
  Result<Ok> save_observation(const ObservationRecord& observation) override;
  Result<Ok> remove_observation(const std::string& endpoint, const std::string& id) override;

  Result<std::vector<Credentials>> load_credentials() override;
  Result<std::optional<Credentials>> load_credentials_of(const std::string& endpoint) override;
  Result<Ok> save_credentials(const Credentials& credentials) override;
  Result<Ok> remove_credentials(const std::string& endpoint) override;
  // Under the shared mutex: every worker's copy of a context reserves from one bound.
  Result<std::uint64_t> reserve_sequences(const std::string& endpoint, std::uint64_t from,
                                          std::uint64_t step) override;

  Result<Ok> flush() override;

 private:
  // Runs `f` on the worker's own store, under the shared mutex when that store is shared.
  template <typename F>
  auto on_own(F&& f) {
    if (!own_is_shared_) return f(own_);
    std::lock_guard lock(credentials_.mutex);
    return f(own_);
  }
  template <typename F>
  auto on_shared(F&& f) {
    std::lock_guard lock(credentials_.mutex);
    return f(credentials_.store);
  }
  void claim(const std::string& endpoint);

  ServerStore& own_;
  SharedCredentials& credentials_;
  WorkerDirectory& directory_;
  std::size_t worker_;
  MovedHandler moved_;
  Naming naming_;
  bool own_is_shared_;
  // Credentials this worker wrote that the shared store may hold pending: flush() makes
  // them durable too.
  bool wrote_credentials_ = false;
};

}  // namespace tether::server
