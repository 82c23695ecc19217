#include "server/store/redis/redis_node_bus.hpp"

#include <hiredis/hiredis.h>
#include <sys/epoll.h>

#include <string_view>
#include <utility>

namespace tether::server {
namespace {

// A subscription lost is tried again this often; RedisConnection's own pause after a
// failed connect (1 s, doubling up to 30 s) keeps a Redis that stays away cheap.
constexpr Duration kRetryEvery{1'000};

}  // namespace

RedisNodeBus::RedisNodeBus(transport::EventLoop& loop, RedisConnection::Address address,
                           std::string node, std::string group, std::chrono::milliseconds timeout)
    : loop_(loop),
      node_(std::move(node)),
      prefix_("tether:db" + std::to_string(address.database) + ":" +
              (group.empty() ? std::string() : group + ":")),
      publisher_(address, timeout, {}),
      subscriber_(std::move(address), timeout, {}) {}

RedisNodeBus::~RedisNodeBus() {
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  if (retry_timer_ != 0) loop_.cancel(retry_timer_);
}

std::string RedisNodeBus::node_channel(std::string_view node) const {
  return prefix_ + "node:" + std::string(node);
}

std::string RedisNodeBus::shared_channel() const {
  return prefix_ + "nodes";
}

Result<Ok> RedisNodeBus::start() {
  auto ok = subscribe();
  if (!ok) {
    failing_ = true;  // told once it works
    retry_later();
  }
  return ok;
}

Result<Ok> RedisNodeBus::subscribe() {
  // One SUBSCRIBE per channel: each has exactly one confirmation to read.
  std::vector<RedisConnection::Command> commands{{"SUBSCRIBE", node_channel(node_)},
                                                 {"SUBSCRIBE", shared_channel()}};
  auto replies = subscriber_.run(commands, "subscribing");
  if (!replies) {
    subscriber_.disconnect();
    return replies.error();
  }
  watched_fd_ = subscriber_.fd();
  loop_.watch(watched_fd_, EPOLLIN, [this](std::uint32_t) { on_readable(); });
  // Messages that came with the confirmations are already read: epoll will not tell.
  deliver(false);
  if (failing_ && on_status_) on_status_("");
  failing_ = false;
  return Ok{};
}

void RedisNodeBus::retry_later() {
  if (retry_timer_ != 0) return;
  retry_timer_ = loop_.schedule(loop_.now() + kRetryEvery, [this] {
    retry_timer_ = 0;
    if (subscribed()) return;
    if (auto ok = subscribe(); !ok) retry_later();
  });
}

void RedisNodeBus::lost(const std::string& why) {
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  watched_fd_ = -1;
  subscriber_.disconnect();
  ++metrics_.reconnects;
  if (!failing_ && on_status_) on_status_(why);
  failing_ = true;
  retry_later();
}

void RedisNodeBus::on_readable() {
  deliver(true);
}

void RedisNodeBus::deliver(bool read) {
  auto replies = subscriber_.read_available("reading the node bus", read);
  if (!replies) return lost(replies.error().reason);
  for (const auto& reply : *replies) {
    // A pushed message is ["message", channel, payload]; confirmations and the like are
    // skipped.
    const redisReply* r = reply.get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        reply_text(r->element[0]) != "message" || r->element[2]->type != REDIS_REPLY_STRING) {
      continue;
    }
    ++metrics_.received;
    if (handler_) {
      const std::string_view payload(r->element[2]->str, r->element[2]->len);
      loop_.guard("node bus message", [&] { handler_(payload); });
    }
    if (!subscribed()) return;  // the handler's work dropped the connection (shutdown)
  }
}

Result<bool> RedisNodeBus::send(const std::string& node, std::string_view message) {
  auto reply = publisher_.run_one({"PUBLISH", node_channel(node), std::string(message)}, "sending");
  if (!reply) return reply.error();
  ++metrics_.sent;
  return (*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer > 0;
}

Result<Ok> RedisNodeBus::broadcast_all(const std::vector<std::string>& messages) {
  std::vector<RedisConnection::Command> commands;
  commands.reserve(messages.size());
  for (const auto& m : messages) commands.push_back({"PUBLISH", shared_channel(), m});
  auto replies = publisher_.run(commands, "sending");
  if (!replies) return replies.error();
  metrics_.sent += messages.size();
  return Ok{};
}

std::string RedisNodeBus::metrics_text() const {
  return "# HELP tether_node_bus_messages_total Messages this node published and received on "
         "the node bus.\n# TYPE tether_node_bus_messages_total counter\n"
         "tether_node_bus_messages_total{direction=\"sent\"} " +
         std::to_string(metrics_.sent) +
         "\ntether_node_bus_messages_total{direction=\"received\"} " +
         std::to_string(metrics_.received) +
         "\n# HELP tether_node_bus_reconnects_total Times the node bus subscription was lost.\n"
         "# TYPE tether_node_bus_reconnects_total counter\ntether_node_bus_reconnects_total " +
         std::to_string(metrics_.reconnects) + "\n";
}

Result<Ok> RedisNodeBus::broadcast(std::string_view message) {
  auto reply = publisher_.run_one({"PUBLISH", shared_channel(), std::string(message)}, "sending");
  if (!reply) return reply.error();
  ++metrics_.sent;
  return Ok{};
}

}  // namespace tether::server
