#include "server/workers/worker_directory.hpp"

#include <functional>

namespace tether::server {

WorkerDirectory::Shard& WorkerDirectory::shard_of(const std::string& endpoint) const {
  return shards_[std::hash<std::string>{}(endpoint) % kShards];
}

std::optional<std::size_t> WorkerDirectory::claim(const std::string& endpoint, std::size_t worker) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  auto [it, inserted] = s.owners.try_emplace(endpoint, static_cast<std::uint32_t>(worker));
  if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
  if (inserted || it->second == worker) return std::nullopt;
  const std::size_t before = it->second;
  it->second = static_cast<std::uint32_t>(worker);
  return before;
}

void WorkerDirectory::release(const std::string& endpoint, std::size_t worker) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  auto it = s.owners.find(endpoint);
  if (it != s.owners.end() && it->second == worker) {
    s.owners.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
}

std::optional<std::size_t> WorkerDirectory::owner(const std::string& endpoint) const {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  auto it = s.owners.find(endpoint);
  if (it == s.owners.end()) return std::nullopt;
  return it->second;
}

}  // namespace tether::server
