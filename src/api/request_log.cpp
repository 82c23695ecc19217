#include "api/request_log.hpp"

#include <algorithm>

namespace tether::api {

void RequestLog::add(const std::string& endpoint, nlohmann::json entry) {
  auto it = logs_.find(endpoint);
  if (it == logs_.end()) {
    if (logs_.size() >= max_endpoints_ && !recency_.empty()) {
      logs_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(endpoint);
    it = logs_.emplace(endpoint, Log{{}, 0, recency_.begin()}).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  Log& log = it->second;
  if (log.ring.size() < per_endpoint_) {
    log.ring.push_back(std::move(entry));
  } else {
    log.ring[log.next] = std::move(entry);
    log.next = (log.next + 1) % per_endpoint_;
  }
}

std::vector<nlohmann::json> RequestLog::latest(const std::string& endpoint,
                                               std::size_t limit) const {
  std::vector<nlohmann::json> out;
  auto it = logs_.find(endpoint);
  if (it == logs_.end()) return out;
  const Log& log = it->second;
  const std::size_t n = log.ring.size();
  // The newest entry sits just before `next` once the ring is full, else at the back.
  const std::size_t newest = log.ring.size() < per_endpoint_ ? n - 1 : (log.next + n - 1) % n;
  for (std::size_t i = 0; i < std::min(limit, n); ++i)
    out.push_back(log.ring[(newest + n - i) % n]);
  return out;
}

}  // namespace tether::api
