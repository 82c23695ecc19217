#include "server/store/redis/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "transport/socket_address.hpp"

namespace tether::server {
namespace {

// Replies are read after this many commands are written, so a large flush neither holds
// every command in one buffer nor waits on one huge read.
constexpr std::size_t kBatch = 1024;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void RedisConnection::FreeContext::operator()(redisContext* context) const {
  redisFree(context);
}

void RedisConnection::FreeReply::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

std::string reply_text(const redisReply* r) {
  const bool text = r != nullptr && (r->type == REDIS_REPLY_STRING ||
                                     r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR);
  return text && r->str != nullptr ? std::string(r->str, r->len) : std::string();
}

std::vector<std::string> reply_texts(const redisReply* r) {
  std::vector<std::string> out;
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return out;
  out.reserve(r->elements);
  for (std::size_t i = 0; i < r->elements; ++i) out.push_back(reply_text(r->element[i]));
  return out;
}

std::string RedisConnection::HostPort::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

std::string join(const std::vector<RedisConnection::HostPort>& hosts) {
  std::string out;
  for (std::size_t i = 0; i < hosts.size(); ++i) out += (i == 0 ? "" : ",") + hosts[i].text();
  return out;
}

}  // namespace

std::string RedisConnection::Address::text() const {
  if (cluster()) return "cluster " + join(seeds);
  if (!sentinels.empty()) {
    std::string out = "sentinel " + primary_name + " at ";
    for (std::size_t i = 0; i < sentinels.size(); ++i) {
      out += (i == 0 ? "" : ",") + sentinels[i].text();
    }
    return out + "/" + std::to_string(database);
  }
  return HostPort{host, port}.text() + "/" + std::to_string(database);
}

std::string RedisConnection::Address::url() const {
  if (cluster()) return "redis+cluster://" + join(seeds);
  if (sentinels.empty()) return "redis://" + text();
  std::string out = "redis+sentinel://";
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    out += (i == 0 ? "" : ",") + sentinels[i].text();
  }
  return out + "/" + primary_name + "/" + std::to_string(database);
}

namespace {

// HOST[:PORT] as the MQTT broker's URL takes it; a host alone keeps `default_port`.
Result<RedisConnection::HostPort> parse_authority(const std::string& authority,
                                                  std::uint16_t default_port) {
  RedisConnection::HostPort out{{}, default_port};
  if (authority.starts_with('[') && authority.ends_with(']')) {
    out.host = authority.substr(1, authority.size() - 2);
  } else if (auto hp = transport::split_host_port(authority)) {
    out.host = hp->first;
    out.port = hp->second;
  } else if (authority.find(':') == std::string::npos) {
    out.host = authority;
  } else {
    return fail("redis URL: bad host or port");
  }
  if (out.host.empty() || out.host.find_first_of("[]") != std::string::npos) {
    return fail("redis URL: bad host");
  }
  return out;
}

// HOST[:PORT],HOST[:PORT]...; an empty one is refused.
Result<std::vector<RedisConnection::HostPort>> parse_authorities(std::string_view list,
                                                                 std::uint16_t default_port) {
  std::vector<RedisConnection::HostPort> out;
  for (;;) {
    const auto comma = list.find(',');
    auto hp = parse_authority(std::string(list.substr(0, comma)), default_port);
    if (!hp) return hp.error();
    out.push_back(std::move(*hp));
    if (comma == std::string_view::npos) return out;
    list = list.substr(comma + 1);
  }
}

Result<int> parse_database(std::string_view text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0) {
    return fail("redis URL: bad database number");
  }
  return n;
}

}  // namespace

Result<RedisConnection::Address> RedisConnection::Address::parse_url(std::string_view url) {
  constexpr std::string_view plain = "redis://";
  constexpr std::string_view sentinel = "redis+sentinel://";
  constexpr std::string_view cluster = "redis+cluster://";
  const bool managed = url.starts_with(sentinel);
  const bool clustered = url.starts_with(cluster);
  if (!url.starts_with(plain) && !managed && !clustered) {
    return fail(
        "a Redis store is redis://HOST[:PORT][/DB], redis+sentinel://HOST[:PORT],.../NAME[/DB] "
        "or redis+cluster://HOST[:PORT],...");
  }
  std::string_view rest = url.substr(managed     ? sentinel.size()
                                     : clustered ? cluster.size()
                                                 : plain.size());
  Address a;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto login = rest.substr(0, at);
    const auto colon = login.find(':');
    // A user name (Redis 6 ACLs) is not supported yet: only the default user's password.
    if (colon == std::string_view::npos || colon != 0) {
      return fail("redis URL: give the password as redis://:PASSWORD@HOST");
    }
    a.password = std::string(login.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (clustered) {
    // A cluster has only database 0.
    if (!path.empty() && path != "0") return fail("redis URL: a cluster has only database 0");
    auto seeds = parse_authorities(rest, 6379);
    if (!seeds) return seeds.error();
    a.seeds = std::move(*seeds);
    return a;
  }
  if (!managed) {
    auto hp = parse_authority(std::string(rest), 6379);
    if (!hp) return hp.error();
    a.host = hp->host;
    a.port = hp->port;
    if (!path.empty()) {
      auto db = parse_database(path);
      if (!db) return db.error();
      a.database = *db;
    }
    return a;
  }
  // Sentinels, comma-separated, then /NAME[/DB]; an empty one is refused.
  auto sentinels = parse_authorities(rest, 26379);
  if (!sentinels) return sentinels.error();
  a.sentinels = std::move(*sentinels);
  const auto slash = path.find('/');
  a.primary_name = std::string(path.substr(0, slash));
  if (a.sentinels.empty() || a.primary_name.empty() ||
      a.primary_name.find_first_of(" \r\n") != std::string::npos) {
    return fail("redis URL: redis+sentinel://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB]");
  }
  if (slash != std::string_view::npos) {
    auto db = parse_database(path.substr(slash + 1));
    if (!db) return db.error();
    a.database = *db;
  }
  return a;
}

RedisConnection::RedisConnection(Address address, std::chrono::milliseconds timeout,
                                 std::vector<std::string> scripts)
    : address_(std::move(address)), timeout_(timeout), scripts_(std::move(scripts)) {}

RedisConnection::~RedisConnection() = default;

Error RedisConnection::error(const std::string& what, const std::string& why) const {
  return fail("redis store " + address_.text() + ": " + what + ": " + why);
}

Result<Ok> RedisConnection::connect() {
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_at_) return fail(last_failure_ + " (waiting to try again)");
  auto connected = try_connect();
  if (connected) {
    backoff_ = std::chrono::milliseconds(0);
    return connected;
  }
  backoff_ = std::min<std::chrono::milliseconds>(
      std::chrono::seconds(30),
      std::max<std::chrono::milliseconds>(std::chrono::seconds(1), backoff_ * 2));
  retry_at_ = now + backoff_;
  last_failure_ = connected.error().reason;
  return connected;
}

Result<RedisConnection::HostPort> RedisConnection::ask_sentinels() const {
  std::string why = "no sentinel answered";
  for (const auto& sentinel : address_.sentinels) {
    std::unique_ptr<redisContext, FreeContext> c(
        redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port, to_timeval(timeout_)));
    if (!c || c->err != 0 || redisSetTimeout(c.get(), to_timeval(timeout_)) != REDIS_OK) {
      why = "sentinel " + sentinel.text() + ": " + (c ? c->errstr : "out of memory");
      continue;
    }
    const char* argv[] = {"SENTINEL", "get-master-addr-by-name", address_.primary_name.c_str()};
    const std::size_t lengths[] = {8, 23, address_.primary_name.size()};
    Reply reply(static_cast<redisReply*>(redisCommandArgv(c.get(), 3, argv, lengths)));
    const auto where = reply_texts(reply.get());
    std::uint16_t port = 0;
    if (where.size() == 2) {
      const auto [end, ec] =
          std::from_chars(where[1].data(), where[1].data() + where[1].size(), port);
      if (ec == std::errc() && end == where[1].data() + where[1].size() && port != 0) {
        return HostPort{where[0], port};
      }
    }
    why = "sentinel " + sentinel.text() + " does not know " + address_.primary_name;
  }
  return error("finding the primary", why);
}

Result<Ok> RedisConnection::try_connect() {
  if (address_.cluster()) {
    // Any node serves what needs no key (PUBLISH, SUBSCRIBE reach the whole cluster).
    std::optional<Error> failed;
    for (const auto& seed : address_.seeds) {
      auto ok = open(seed);
      if (ok) return ok;
      failed = ok.error();
    }
    return *failed;
  }
  HostPort target{address_.host, address_.port};
  if (!address_.sentinels.empty()) {
    auto primary = ask_sentinels();
    if (!primary) return primary.error();
    target = std::move(*primary);
  }
  return open(target);
}

Result<Ok> RedisConnection::open(const HostPort& target) {
  context_.reset(redisConnectWithTimeout(target.host.c_str(), target.port, to_timeval(timeout_)));
  if (!context_) return error("connecting", "out of memory");
  if (context_->err != 0) {
    const std::string why = context_->errstr;
    context_.reset();
    return error("connecting", why);
  }
  if (redisSetTimeout(context_.get(), to_timeval(timeout_)) != REDIS_OK) {
    context_.reset();
    return error("connecting", "cannot set the timeout");
  }
  std::vector<Command> hello;
  if (!address_.password.empty()) hello.push_back({"AUTH", address_.password});
  hello.push_back({"SELECT", std::to_string(address_.database)});
  // Sentinel-managed: what a sentinel named may be a primary still demoting itself.
  const bool check_role = !address_.sentinels.empty();
  if (check_role) hello.push_back({"ROLE"});
  for (const auto& script : scripts_) hello.push_back({"SCRIPT", "LOAD", script});
  auto replies = run(hello, "connecting");
  if (!replies) {
    context_.reset();
    return replies.error();
  }
  if (check_role) {
    const auto role = (*replies)[replies->size() - scripts_.size() - 1].get();
    if (role->type != REDIS_REPLY_ARRAY || role->elements == 0 ||
        reply_text(role->element[0]) != "master") {
      context_.reset();
      return error("connecting", target.text() + " is not the primary (yet)");
    }
  }
  shas_.clear();
  for (std::size_t i = replies->size() - scripts_.size(); i < replies->size(); ++i) {
    shas_.push_back(reply_text((*replies)[i].get()));
  }
  return Ok{};
}

Result<std::vector<RedisConnection::Reply>> RedisConnection::run(
    const std::vector<Command>& commands, const char* what) {
  auto replies = exchange(commands, what);
  if (!replies) return replies.error();
  for (const auto& reply : *replies) {
    if (reply->type == REDIS_REPLY_ERROR) return error(what, reply_text(reply.get()));
  }
  return replies;
}

Result<std::vector<RedisConnection::Reply>> RedisConnection::exchange(
    const std::vector<Command>& commands, const char* what) {
  if (!context_) {
    if (auto ok = connect(); !ok) return ok.error();
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  bool reconnect = false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (std::size_t start = 0; start < commands.size(); start += kBatch) {
    const std::size_t end = std::min(commands.size(), start + kBatch);
    for (std::size_t i = start; i < end; ++i) {
      argv.clear();
      lengths.clear();
      for (const auto& arg : commands[i]) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        const std::string why = context_->errstr;
        context_.reset();
        return error(what, why);
      }
    }
    for (std::size_t i = start; i < end; ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
        // Lost or timed out: what was sent may or may not have been applied. Every write is
        // a set-to-state, so the next flush sends it again.
        const std::string why = context_->errstr[0] != '\0' ? context_->errstr : "no answer";
        context_.reset();
        return error(what, why);
      }
      Reply reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        const std::string why = reply_text(reply.get());
        // The scripts are gone (SCRIPT FLUSH): the next connection loads them again.
        // A primary that became a replica (a failover): the next connection asks anew.
        if (why.starts_with("NOSCRIPT") || why.starts_with("READONLY")) reconnect = true;
      }
      replies.push_back(std::move(reply));
    }
  }
  if (reconnect) context_.reset();
  return replies;
}

int RedisConnection::fd() const {
  return context_ ? context_->fd : -1;
}

Result<std::vector<RedisConnection::Reply>> RedisConnection::read_available(const char* what,
                                                                            bool read) {
  if (!context_) return error(what, "not connected");
  // One read(2): the caller calls this when the socket is readable, so it does not wait.
  // On failure the connection stays open: the caller stops watching the socket first, then
  // drops it (epoll keeps reporting a closed socket another process still holds).
  if (read && redisBufferRead(context_.get()) != REDIS_OK) {
    const std::string why = context_->errstr[0] != '\0' ? context_->errstr : "connection lost";
    return error(what, why);
  }
  std::vector<Reply> replies;
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) {
      const std::string why = context_->errstr[0] != '\0' ? context_->errstr : "bad reply";
      return error(what, why);
    }
    if (raw == nullptr) break;
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

Result<RedisConnection::Reply> RedisConnection::run_one(Command command, const char* what) {
  return first_reply(run({std::move(command)}, what));
}

Result<RedisConnection::Reply> first_reply(Result<std::vector<RedisConnection::Reply>> replies) {
  if (!replies) return replies.error();
  return std::move(replies->front());
}

}  // namespace tether::server
