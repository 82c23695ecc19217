#pragma once
// What operators asked of each device through the API, and what came of it: the last
// requests per endpoint (GET /api/clients/{ep}/requests, and the `request` event), so two
// people at two consoles see each other's actions. Bounded twice: a few entries per
// endpoint, and a cap on endpoints (the least recently used goes first). A log outlives
// the registration, so an operator still sees what was done to a device that went away.
#include <cstddef>
#include <list>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace tether::api {

class RequestLog {
 public:
  static constexpr std::size_t kPerEndpoint = 50;
  // About 300 bytes an entry: at most some 15 MB however many devices are asked.
  static constexpr std::size_t kEndpoints = 1'000;

  explicit RequestLog(std::size_t per_endpoint = kPerEndpoint, std::size_t endpoints = kEndpoints)
      : per_endpoint_(per_endpoint), max_endpoints_(endpoints) {}

  void add(const std::string& endpoint, nlohmann::json entry);
  // Newest first, at most `limit`; empty when nothing was logged for the endpoint.
  std::vector<nlohmann::json> latest(const std::string& endpoint, std::size_t limit) const;
  bool has(const std::string& endpoint) const { return logs_.count(endpoint) != 0; }
  std::size_t endpoints() const { return logs_.size(); }

 private:
  struct Log {
    std::vector<nlohmann::json> ring;  // up to per_endpoint_, oldest overwritten
    std::size_t next = 0;              // where the next entry goes once full
    std::list<std::string>::iterator recency;
  };
  std::size_t per_endpoint_;
  std::size_t max_endpoints_;
  std::unordered_map<std::string, Log> logs_;
  std::list<std::string> recency_;  // most recently written first
};

}  // namespace tether::api
