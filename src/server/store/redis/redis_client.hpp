#pragma once
// The Redis that a store talks to: one server (plain or Sentinel-managed) through one
// RedisConnection, or a Redis Cluster through one connection per primary. In a cluster,
// each command goes to the primary serving its key's slot (a MULTI ... EXEC goes whole to
// the slot of its first key); a MOVED reply refreshes the slot map and sends the command
// again, an ASK sends it once to the node named. Callers build the same commands either
// way, with every multi-key write confined to one hash tag.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "server/store/redis/redis_connection.hpp"
#include "server/store/redis/redis_slots.hpp"

namespace tether::server {

class RedisClient {
 public:
  using Address = RedisConnection::Address;
  using Command = RedisConnection::Command;
  using Reply = RedisConnection::Reply;

  RedisClient(Address address, std::chrono::milliseconds timeout, std::vector<std::string> scripts);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  Result<Ok> connect();
  // False once a connection was lost (a cluster: until the slot map is read again).
  bool connected() const;
  bool clustered() const { return address_.cluster(); }
  // The SHA1 of the i-th script given at construction, for EVALSHA (the same on every node).
  const std::string& script(std::size_t i) const;
  // As RedisConnection::run: every reply, or the first refusal or the lost connection.
  Result<std::vector<Reply>> run(const std::vector<Command>& commands, const char* what);
  Result<Reply> run_one(Command command, const char* what);
  Error error(const std::string& what, const std::string& why) const;
  const Address& address() const { return address_; }

 private:
  struct Unit {
    std::size_t begin = 0;
    std::size_t end = 0;  // one command, or MULTI ... EXEC
    int slot = -1;        // -1: no key, any node
    int asking = -1;      // a node to send it to once, after ASKING
  };

  Result<std::vector<Reply>> run_on_cluster(const std::vector<Command>& commands, const char* what);
  Result<Ok> read_slot_map();
  // The connection to a node, made on first use.
  std::size_t node_at(const RedisConnection::HostPort& where);
  std::vector<Unit> units_of(const std::vector<Command>& commands) const;

  Address address_;
  std::chrono::milliseconds timeout_;
  std::vector<std::string> scripts_;
  std::unique_ptr<RedisConnection> single_;  // not a cluster
  // A cluster: the nodes met so far, and which one serves each slot (-1: none known).
  std::vector<RedisConnection::HostPort> hosts_;
  std::vector<std::unique_ptr<RedisConnection>> nodes_;
  std::array<std::int16_t, kRedisSlots> slots_{};
  bool map_read_ = false;
};

}  // namespace tether::server
