#pragma once
// Which worker serves each endpoint (`tether server --workers N`). The API's routing asks
// it, and a Register on one worker tells it when another worker held the endpoint before
// (its device's datagrams now reach another socket: a new address, or another --workers).
// Touched on Register, De-register and expiry, never on an Update; one mutex per shard, so
// workers registering at once rarely wait for each other.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tether::server {

class WorkerDirectory {
 public:
  // Worker `worker` serves `endpoint` now; the worker that served it before, if another.
  std::optional<std::size_t> claim(const std::string& endpoint, std::size_t worker);
  // Worker `worker` no longer serves `endpoint` (nothing changes if another took it).
  void release(const std::string& endpoint, std::size_t worker);
  std::optional<std::size_t> owner(const std::string& endpoint) const;
  // Endpoints served by any worker (the fleet --max-registrations caps).
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kShards = 64;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::uint32_t> owners;
  };
  Shard& shard_of(const std::string& endpoint) const;
  mutable std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace tether::server
