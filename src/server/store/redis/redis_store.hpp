#pragma once
// A ServerStore in Redis, so that several server nodes share registrations, observations
// and credentials (issue 22). The key layout is in docs/redis.md; one endpoint's keys share
// the hash tag {endpoint}, and each endpoint's write is one script or MULTI/EXEC (with the
// endpoint's entry in the per-slot index sets), so a refused write (maxmemory, a read-only
// replica) leaves nothing half written, on a single Redis as in a Redis Cluster.
//
// Writes are buffered like the SQLite store's and flushed in pipelined batches. Each node
// has a name: the registrations it writes carry it as their owner, a heartbeat key says it
// is alive, and at start a node loads only its own registrations. Another node's is taken
// when its device reaches this node (find_registration, take_registration) or when that
// node's heartbeat ended (claim_orphans); only the owner may remove or update one.
#include <bitset>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/store/pending_writes.hpp"
#include "server/store/redis/redis_client.hpp"

namespace tether::server {

struct RedisStoreOptions {
  std::string node;  // this server node among those sharing the Redis (empty: random)
  std::chrono::milliseconds timeout{2'000};  // the bound on every wait for Redis
  // The heartbeat key lives this long after the last flush that refreshed it.
  std::chrono::milliseconds alive_for{5'000};
  // claim_orphans() claims nothing until this node has flushed without a failure for
  // this long: after an outage every heartbeat lapsed, and the other nodes need time to
  // refresh theirs before any of them counts as dead.
  std::chrono::milliseconds claim_after{10'000};
  // A dead node's registrations are looked at `claim_slice` at a time, and claim_orphans()
  // stops after the slice that ends past `claim_budget` (claiming() then says to call again).
  std::size_t claim_slice = 1'000;
  std::chrono::milliseconds claim_budget{200};
};

class RedisStore final : public BufferedStore {
 public:
  using Address = RedisConnection::Address;
  static Result<Address> parse_url(std::string_view url) { return Address::parse_url(url); }
  using Options = RedisStoreOptions;
  static Result<std::unique_ptr<RedisStore>> open(Address address, Options options = {});
  // Flushes. A failure here cannot be reported: call flush() first to see it.
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  Result<std::vector<Registration>> load_registrations() override;
  Result<std::vector<ObservationRecord>> load_observations() override;
  Result<std::vector<Credentials>> load_credentials() override;
  Result<std::optional<Credentials>> load_credentials_of(const std::string& endpoint) override;
  // One script (kReserveScript): atomic across the nodes sharing this Redis.
  Result<std::uint64_t> reserve_sequences(const std::string& endpoint, std::uint64_t from,
                                          std::uint64_t step) override;
  Result<std::optional<Found>> find_registration(const std::string& id) override;
  Result<bool> take_registration(const Registration& registration) override;
  Result<std::vector<Found>> claim_orphans() override;
  bool claiming() const override { return !claim_queue_.empty(); }
  Result<std::optional<std::string>> owner_of(const std::string& endpoint) override;
  // The record is the new owner's: nothing is removed (a removal sent after its write would
  // drop the ID it still uses), and this node's pending writes of it are dropped.
  Result<Ok> let_go(const std::string& endpoint) override {
    pending_.forget(endpoint);
    return Ok{};
  }
  // A secret every node on this Redis uses alike (the DTLS session-ticket key): the one
  // stored under `name`, or `candidate` when there is none yet (the first node's).
  Result<Bytes> shared_secret(std::string_view name, const Bytes& candidate);
  // Also refreshes this node's heartbeat, at most once a second.
  Result<Ok> flush() override;
  const std::string& node() const { return node_; }
  // A Register written here replaced a registration another node held (its device
  // registered anew through this one): called after the flush with the endpoint, the old
  // registration's ID and its owner, so that node can let its copy go (docs/redis.md).
  using ReplacedHandler = std::function<void(const std::string& endpoint, const std::string& id,
                                             const std::string& owner)>;
  void set_replaced_handler(ReplacedHandler handler) { on_replaced_ = std::move(handler); }

 private:
  RedisStore(Address address, Options options);
  Result<Ok> check_schema();
  Result<Ok> split_indexes(bool set_version);
  Result<Ok> list_used_slots();
  Result<Ok> hint_slots(const std::vector<std::string>& endpoints);
  // The endpoints an index lists (its per-slot sets together), sorted.
  Result<std::vector<std::string>> members(const char* index, const char* what);
  // The per-slot set of `index` that lists `endpoint`.
  std::string index_key(std::string_view endpoint, const char* index) const;
  Result<Ok> write_pending(bool beat);
  // The members of an index set, each endpoint's hash of `kind` fetched, sorted by endpoint.
  Result<std::vector<std::pair<std::string, RedisConnection::Reply>>> load_all(const char* index,
                                                                               const char* kind,
                                                                               const char* what);
  Result<Credentials> parse_credentials(const std::string& endpoint, const redisReply* reply) const;
  Result<std::vector<ObservationRecord>> parse_observations(const std::string& endpoint,
                                                            const redisReply* reply) const;
  Result<std::set<std::string>> dead_nodes();
  Result<Ok> drop_living();
  // Claims those of `endpoints` a node of claim_dead_ owns; what this node now holds.
  Result<std::vector<Found>> claim_some(const std::vector<std::string>& endpoints,
                                        const char* what);
  // Each endpoint's registration with its observations, as stored; nullopt when gone.
  Result<std::vector<std::optional<Found>>> fetch(const std::vector<std::string>& endpoints,
                                                  const char* what);
  bool held_elsewhere(const std::string& owner) const;
  std::string key(std::string_view endpoint, std::string_view kind) const;
  std::string alive_key(std::string_view node) const;
  Error error(const std::string& what, const std::string& why) const;

  RedisClient redis_;
  Options options_;
  // The slots this node knows to be in tether:index-slots.
  std::bitset<kRedisSlots> hinted_;
  // Registration IDs replaced or removed whose tether:ids entry is still to be dropped.
  std::vector<std::string> stale_ids_;
  ReplacedHandler on_replaced_;
  // A takeover in progress: the endpoints still to look at, and the dead nodes claimed from.
  std::vector<std::string> claim_queue_;
  std::set<std::string> claim_dead_;
  // Claimed, but their records could not be read yet.
  std::vector<std::string> unfetched_;
  const std::string& node_;  // options_.node, never empty
  std::chrono::steady_clock::time_point last_beat_{};
  // Since when every flush has succeeded (reset by a failure).
  std::chrono::steady_clock::time_point healthy_since_;
};

}  // namespace tether::server
