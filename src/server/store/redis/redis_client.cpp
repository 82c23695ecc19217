#include "server/store/redis/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace tether::server {
namespace {

// A command moved again and again (slots migrating meanwhile) gives up after this many
// rounds; the store's next flush sends it again.
constexpr int kRounds = 4;

// The key a command's slot is taken from, or none (it may go to any node).
std::optional<std::string_view> routing_key(const RedisClient::Command& c) {
  static const std::set<std::string_view> keyless = {
      "MULTI", "EXEC", "DISCARD", "PUBLISH", "PING",   "SCRIPT",   "SELECT",
      "AUTH",  "ROLE", "INFO",    "CLUSTER", "ASKING", "FLUSHALL", "SUBSCRIBE"};
  if (c.empty() || keyless.contains(c[0])) return std::nullopt;
  if (c[0] == "EVALSHA" || c[0] == "EVAL") {
    if (c.size() > 3 && c[2] != "0") return c[3];
    return std::nullopt;
  }
  if (c.size() > 1) return c[1];
  return std::nullopt;
}

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381": where the slot is served.
struct Redirect {
  bool ask = false;
  RedisConnection::HostPort where;
};

std::optional<Redirect> redirect_of(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ERROR) return std::nullopt;
  const std::string text = reply_text(r);
  Redirect out;
  std::string_view rest = text;
  if (rest.starts_with("MOVED ")) {
    rest.remove_prefix(6);
  } else if (rest.starts_with("ASK ")) {
    rest.remove_prefix(4);
    out.ask = true;
  } else {
    return std::nullopt;
  }
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(space + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  out.where.host = std::string(rest.substr(0, colon));
  const auto port = rest.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.where.port);
  if (ec != std::errc() || end != port.data() + port.size() || out.where.port == 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

RedisClient::RedisClient(Address address, std::chrono::milliseconds timeout,
                         std::vector<std::string> scripts)
    : address_(std::move(address)), timeout_(timeout), scripts_(std::move(scripts)) {
  if (!address_.cluster()) {
    single_ = std::make_unique<RedisConnection>(address_, timeout_, scripts_);
  }
  slots_.fill(-1);
}

RedisClient::~RedisClient() = default;

Error RedisClient::error(const std::string& what, const std::string& why) const {
  return fail("redis store " + address_.text() + ": " + what + ": " + why);
}

Result<Ok> RedisClient::connect() {
  if (single_) return single_->connect();
  return read_slot_map();
}

bool RedisClient::connected() const {
  return single_ ? single_->connected() : map_read_;
}

const std::string& RedisClient::script(std::size_t i) const {
  if (single_) return single_->script(i);
  // Every node loaded the same scripts: their SHA1 is the same.
  for (const auto& node : nodes_) {
    if (node->loaded()) return node->script(i);
  }
  static const std::string none;
  return none;
}

std::size_t RedisClient::node_at(const RedisConnection::HostPort& where) {
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i].host == where.host && hosts_[i].port == where.port) return i;
  }
  Address node;
  node.host = where.host;
  node.port = where.port;
  node.password = address_.password;
  hosts_.push_back(where);
  nodes_.push_back(std::make_unique<RedisConnection>(node, timeout_, scripts_));
  return hosts_.size() - 1;
}

// CLUSTER SLOTS from the first node that answers: the nodes already met, then the seeds.
Result<Ok> RedisClient::read_slot_map() {
  std::vector<RedisConnection::HostPort> ask = hosts_;
  ask.insert(ask.end(), address_.seeds.begin(), address_.seeds.end());
  std::string why = "no node answered";
  for (const auto& where : ask) {
    const std::size_t asked = node_at(where);
    auto reply = nodes_[asked]->run_one({"CLUSTER", "SLOTS"}, "reading the slot map");
    if (!reply) {
      why = reply.error().reason;
      continue;
    }
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      why = where.text() + " serves no slot";
      continue;
    }
    std::array<std::int16_t, kRedisSlots> map{};
    map.fill(-1);
    for (std::size_t i = 0; i < r->elements; ++i) {
      const redisReply* range = r->element[i];
      // [first, last, [host, port, id, ...], replicas...]: the primary comes first.
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
          range->element[0]->type != REDIS_REPLY_INTEGER ||
          range->element[1]->type != REDIS_REPLY_INTEGER ||
          range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2 ||
          range->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
        continue;
      }
      const long long first = range->element[0]->integer;
      const long long last = range->element[1]->integer;
      RedisConnection::HostPort primary{
          reply_text(range->element[2]->element[0]),
          static_cast<std::uint16_t>(range->element[2]->element[1]->integer)};
      // A node that does not know its own address is reached where it was asked.
      if (primary.host.empty()) primary.host = where.host;
      if (first < 0 || last >= kRedisSlots || first > last || primary.port == 0) continue;
      const auto node = static_cast<std::int16_t>(node_at(primary));
      for (long long s = first; s <= last; ++s) map[static_cast<std::size_t>(s)] = node;
    }
    slots_ = map;
    map_read_ = true;
    return Ok{};
  }
  map_read_ = false;
  return error("reading the slot map", why);
}

std::vector<RedisClient::Unit> RedisClient::units_of(const std::vector<Command>& commands) const {
  std::vector<Unit> out;
  for (std::size_t i = 0; i < commands.size();) {
    Unit u{i, i + 1};
    if (!commands[i].empty() && commands[i][0] == "MULTI") {
      while (u.end < commands.size() &&
             !(commands[u.end].size() == 1 && commands[u.end][0] == "EXEC")) {
        ++u.end;
      }
      u.end = std::min(commands.size(), u.end + 1);
    }
    for (std::size_t c = u.begin; c < u.end && u.slot < 0; ++c) {
      if (auto key = routing_key(commands[c])) u.slot = key_slot(*key);
    }
    out.push_back(u);
    i = u.end;
  }
  return out;
}

Result<std::vector<RedisClient::Reply>> RedisClient::run(const std::vector<Command>& commands,
                                                         const char* what) {
  if (single_) return single_->run(commands, what);
  auto replies = run_on_cluster(commands, what);
  if (!replies) return replies.error();
  for (const auto& reply : *replies) {
    if (reply->type == REDIS_REPLY_ERROR) return error(what, reply_text(reply.get()));
  }
  return replies;
}

Result<std::vector<RedisClient::Reply>> RedisClient::run_on_cluster(
    const std::vector<Command>& commands, const char* what) {
  std::vector<Reply> replies(commands.size());
  std::vector<Unit> pending = units_of(commands);
  for (int round = 0; round < kRounds && !pending.empty(); ++round) {
    if (!map_read_) {
      if (auto ok = read_slot_map(); !ok) return ok.error();
    }
    // Each node's share, in the callers' order.
    std::vector<std::vector<std::size_t>> share(nodes_.size());
    for (std::size_t u = 0; u < pending.size(); ++u) {
      const Unit& unit = pending[u];
      int node = unit.asking;
      if (node < 0) node = slots_[static_cast<std::size_t>(std::max(unit.slot, 0))];
      if (node < 0) {
        map_read_ = false;  // read again next time: the slot may have been assigned since
        return error(what, "slot " + std::to_string(unit.slot) + " has no node");
      }
      share[static_cast<std::size_t>(node)].push_back(u);
    }
    std::vector<Unit> again;
    for (std::size_t node = 0; node < share.size(); ++node) {
      if (share[node].empty()) continue;
      std::vector<Command> sent;
      for (const std::size_t u : share[node]) {
        const Unit& unit = pending[u];
        if (unit.asking >= 0) sent.push_back({"ASKING"});
        sent.insert(sent.end(), commands.begin() + static_cast<std::ptrdiff_t>(unit.begin),
                    commands.begin() + static_cast<std::ptrdiff_t>(unit.end));
      }
      auto got = nodes_[node]->exchange(sent, what);
      if (!got) {
        // The node may have failed over: read the map again before the next try.
        map_read_ = false;
        return got.error();
      }
      std::size_t at = 0;
      for (const std::size_t u : share[node]) {
        Unit unit = pending[u];
        if (unit.asking >= 0) ++at;
        std::optional<Redirect> redirect;
        for (std::size_t c = unit.begin; c < unit.end; ++c, ++at) {
          if (!redirect) redirect = redirect_of((*got)[at].get());
          replies[c] = std::move((*got)[at]);
        }
        if (!redirect) continue;
        // One ASKING covers a whole MULTI ... EXEC (the flag holds inside a transaction).
        if (redirect->ask) {
          unit.asking = static_cast<int>(node_at(redirect->where));
        } else {
          unit.asking = -1;
          map_read_ = false;  // MOVED: the map is out of date
        }
        again.push_back(unit);
      }
    }
    pending = std::move(again);
  }
  if (!pending.empty()) return error(what, "the cluster kept moving the slots");
  return replies;
}

Result<RedisClient::Reply> RedisClient::run_one(Command command, const char* what) {
  return first_reply(run({std::move(command)}, what));
}

}  // namespace tether::server
