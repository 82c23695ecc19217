#pragma once
// The node bus on Redis pub/sub: each node subscribes to its own channel and to the
// shared one, on a second connection the event loop watches (a subscribed connection
// takes no other command), and publishes on a blocking one whose every wait is bounded.
// Channel names carry the database number, since Redis's pub/sub ignores SELECT.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "server/node_bus.hpp"
#include "server/store/redis/redis_connection.hpp"
#include "transport/event_loop.hpp"

namespace tether::server {

struct RedisNodeBusMetrics {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t reconnects = 0;  // the subscription was lost and made again
};

class RedisNodeBus final : public NodeBus {
 public:
  // `group`: nodes of one kind talk among themselves ("" for LwM2M servers, "bootstrap"
  // for bootstrap servers), so neither hears the other's messages.
  RedisNodeBus(transport::EventLoop& loop, RedisConnection::Address address, std::string node,
               std::string group = {},
               std::chrono::milliseconds timeout = std::chrono::milliseconds(2'000));
  ~RedisNodeBus() override;
  RedisNodeBus(const RedisNodeBus&) = delete;
  RedisNodeBus& operator=(const RedisNodeBus&) = delete;

  // Subscribes; when Redis is away, tries again later (1 s, doubling up to 30 s) and
  // says why now.
  Result<Ok> start();
  bool subscribed() const { return watched_fd_ >= 0; }

  const std::string& node() const override { return node_; }
  Result<bool> send(const std::string& node, std::string_view message) override;
  Result<Ok> broadcast(std::string_view message) override;
  Result<Ok> broadcast_all(const std::vector<std::string>& messages) override;
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  // Told when the subscription is lost (the reason) and when it is back (""), once each.
  void set_status_handler(std::function<void(const std::string& error)> handler) {
    on_status_ = std::move(handler);
  }
  const RedisNodeBusMetrics& metrics() const { return metrics_; }

  // For /metrics.
  std::string metrics_text() const;

  std::string node_channel(std::string_view node) const;
  std::string shared_channel() const;

 private:
  Result<Ok> subscribe();
  void on_readable();
  // Hands out what the connection already holds; `read`: read the socket first.
  void deliver(bool read);
  void lost(const std::string& why);
  void retry_later();

  transport::EventLoop& loop_;
  std::string node_;
  std::string prefix_;  // "tether:db{N}:" and the group
  RedisConnection publisher_;
  RedisConnection subscriber_;
  Handler handler_;
  int watched_fd_ = -1;
  transport::EventLoop::TimerId retry_timer_ = 0;
  std::function<void(const std::string&)> on_status_;
  bool failing_ = false;
  RedisNodeBusMetrics metrics_;
};

}  // namespace tether::server
