#pragma once
// Bootstrap configurations in Redis, so that several bootstrap server nodes serve the same
// configurations (docs/redis.md): each is the JSON of docs/bootstrap.md under
// `tether:bs:{endpoint}`, listed in the per-slot set `tether:bs:{TAG}:endpoints` of its
// slot (so that a Redis Cluster takes both in one MULTI/EXEC). A save returns once Redis
// took it; every wait is bounded.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bootstrap/store/bootstrap_store.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "server/store/redis/redis_client.hpp"

namespace tether::bootstrap {

class RedisBootstrapStore final : public BootstrapStore {
 public:
  // Connects now: a Redis that cannot be reached is a start-up error.
  static Result<std::unique_ptr<RedisBootstrapStore>> open(
      server::RedisConnection::Address address, const lwm2m::model::Model& model,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2'000));

  Result<std::vector<BootstrapConfig>> load_configs() override;
  Result<std::optional<BootstrapConfig>> load_config(const std::string& endpoint) override;
  Result<Ok> save_config(const BootstrapConfig& config) override;
  Result<Ok> remove_config(const std::string& endpoint) override;
  // A stored configuration that does not parse (written by hand, or by a newer version
  // during a rolling upgrade) is left out, as if absent, so its old keys stop working
  // (fail closed); `sink` hears which key and why (a log line).
  void set_problem_sink(std::function<void(const std::string&)> sink) {
    on_problem_ = std::move(sink);
  }

 private:
  RedisBootstrapStore(server::RedisConnection::Address address, const lwm2m::model::Model& model,
                      std::chrono::milliseconds timeout);
  Result<BootstrapConfig> parse(const std::string& endpoint, const redisReply* reply) const;
  // Before the index was split by slot it was one set, tether:bs:endpoints: its members
  // move to their slots' sets.
  Result<Ok> split_index();

  server::RedisClient redis_;
  const lwm2m::model::Model& model_;
  std::function<void(const std::string&)> on_problem_;
};

}  // namespace tether::bootstrap
