#include "bootstrap/store/redis/redis_bootstrap_store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "bootstrap/bootstrap_config_json.hpp"
#include "lwm2m/endpoint_name.hpp"

namespace tether::bootstrap {
namespace {

constexpr const char* kOldIndex = "tether:bs:endpoints";

std::string key_of(const std::string& endpoint) {
  return "tether:bs:{" + endpoint + "}";
}

std::string index_of(const std::string& endpoint) {
  return server::key_in_slot_of(key_of(endpoint), "tether:bs:", ":endpoints");
}

}  // namespace

RedisBootstrapStore::RedisBootstrapStore(server::RedisConnection::Address address,
                                         const lwm2m::model::Model& model,
                                         std::chrono::milliseconds timeout)
    : redis_(std::move(address), timeout, {}), model_(model) {}

Result<std::unique_ptr<RedisBootstrapStore>> RedisBootstrapStore::open(
    server::RedisConnection::Address address, const lwm2m::model::Model& model,
    std::chrono::milliseconds timeout) {
  std::unique_ptr<RedisBootstrapStore> store(
      new RedisBootstrapStore(std::move(address), model, timeout));
  if (auto ok = store->redis_.connect(); !ok) return ok.error();
  if (auto ok = store->split_index(); !ok) return ok.error();
  return store;
}

Result<Ok> RedisBootstrapStore::split_index() {
  const char* what = "splitting tether:bs:endpoints by slot";
  auto old = redis_.run_one({"SMEMBERS", kOldIndex}, what);
  if (!old) return old.error();
  const auto endpoints = server::reply_texts(old->get());
  if (endpoints.empty()) return Ok{};
  std::vector<server::RedisClient::Command> moves;
  for (const auto& ep : endpoints) moves.push_back({"SADD", index_of(ep), ep});
  // Deleted only once every part took its members (in a cluster, on several primaries).
  if (auto moved = redis_.run(moves, what); !moved) return moved.error();
  if (auto gone = redis_.run_one({"DEL", kOldIndex}, what); !gone) return gone.error();
  return Ok{};
}

Result<BootstrapConfig> RedisBootstrapStore::parse(const std::string& endpoint,
                                                   const redisReply* reply) const {
  const std::string where = key_of(endpoint);
  // What Redis holds was written by a node, or by anyone who reaches Redis: checked as an
  // API body is.
  if (auto ok = lwm2m::check_endpoint_name(endpoint); !ok) {
    return redis_.error("reading a bootstrap configuration", where + ": " + ok.error().reason);
  }
  auto j = nlohmann::json::parse(server::reply_text(reply), nullptr, false);
  if (j.is_discarded())
    return redis_.error("reading a bootstrap configuration", where + ": not JSON");
  auto config = config_from_json(endpoint, j, model_);
  if (!config) {
    return redis_.error("reading a bootstrap configuration", where + ": " + config.error().reason);
  }
  return config;
}

Result<std::vector<BootstrapConfig>> RedisBootstrapStore::load_configs() {
  std::vector<server::RedisClient::Command> lists;
  lists.reserve(server::kRedisSlots);
  for (std::uint16_t slot = 0; slot < server::kRedisSlots; ++slot) {
    lists.push_back({"SMEMBERS", server::key_in_slot(slot, "tether:bs:", ":endpoints")});
  }
  auto members = redis_.run(lists, "reading bootstrap configurations");
  if (!members) return members.error();
  std::vector<std::string> endpoints;
  for (const auto& reply : *members) {
    auto some = server::reply_texts(reply.get());
    std::move(some.begin(), some.end(), std::back_inserter(endpoints));
  }
  std::sort(endpoints.begin(), endpoints.end());
  std::vector<server::RedisClient::Command> gets;
  gets.reserve(endpoints.size());
  for (const auto& ep : endpoints) gets.push_back({"GET", key_of(ep)});
  auto replies = redis_.run(gets, "reading bootstrap configurations");
  if (!replies) return replies.error();
  std::vector<BootstrapConfig> out;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if ((*replies)[i]->type != REDIS_REPLY_STRING) continue;  // removed meanwhile
    auto c = parse(endpoints[i], (*replies)[i].get());
    if (!c) {
      if (on_problem_) on_problem_(c.error().reason);
      continue;
    }
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::optional<BootstrapConfig>> RedisBootstrapStore::load_config(
    const std::string& endpoint) {
  auto reply = redis_.run_one({"GET", key_of(endpoint)}, "reading a bootstrap configuration");
  if (!reply) return reply.error();
  if ((*reply)->type != REDIS_REPLY_STRING) return std::optional<BootstrapConfig>{};
  auto c = parse(endpoint, reply->get());
  if (!c) {
    if (on_problem_) on_problem_(c.error().reason);
    return std::optional<BootstrapConfig>{};
  }
  return std::optional<BootstrapConfig>(std::move(*c));
}

Result<Ok> RedisBootstrapStore::save_config(const BootstrapConfig& config) {
  const std::string text = config_to_json(config, server::Secrets::kInclude)
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto done = redis_.run({{"MULTI"},
                          {"SET", key_of(config.endpoint), text},
                          {"SADD", index_of(config.endpoint), config.endpoint},
                          {"EXEC"}},
                         "saving a bootstrap configuration");
  if (!done) return done.error();
  // EXEC answers each command's reply; a refused one (OOM) is an error reply inside it.
  const redisReply* exec = done->back().get();
  if (exec->type != REDIS_REPLY_ARRAY) {
    return redis_.error("saving a bootstrap configuration", "the transaction was not run");
  }
  for (std::size_t i = 0; i < exec->elements; ++i) {
    if (exec->element[i]->type == REDIS_REPLY_ERROR) {
      return redis_.error("saving a bootstrap configuration", server::reply_text(exec->element[i]));
    }
  }
  return Ok{};
}

Result<Ok> RedisBootstrapStore::remove_config(const std::string& endpoint) {
  auto done = redis_.run(
      {{"MULTI"}, {"DEL", key_of(endpoint)}, {"SREM", index_of(endpoint), endpoint}, {"EXEC"}},
      "removing a bootstrap configuration");
  if (!done) return done.error();
  return Ok{};
}

}  // namespace tether::bootstrap
