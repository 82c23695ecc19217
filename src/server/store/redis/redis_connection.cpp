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

std::string RedisConnection::Address::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::to_string(database);
}

Result<RedisConnection::Address> RedisConnection::Address::parse_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return fail("a Redis store is redis://HOST[:PORT][/DB]");
  std::string_view rest = url.substr(scheme.size());
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
  std::string_view database;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    database = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  // HOST:PORT as the MQTT broker's URL takes it; a host alone keeps the default port.
  const std::string authority(rest);
  if (authority.starts_with('[') && authority.ends_with(']')) {
    a.host = authority.substr(1, authority.size() - 2);
  } else if (auto hp = transport::split_host_port(authority)) {
    a.host = hp->first;
    a.port = hp->second;
  } else if (authority.find(':') == std::string::npos) {
    a.host = authority;
  } else {
    return fail("redis URL: bad host or port");
  }
  if (a.host.empty() || a.host.find_first_of("[]") != std::string::npos) {
    return fail("redis URL: bad host");
  }
  if (!database.empty()) {
    int n = 0;
    const auto [end, ec] = std::from_chars(database.data(), database.data() + database.size(), n);
    if (ec != std::errc() || end != database.data() + database.size() || n < 0) {
      return fail("redis URL: bad database number");
    }
    a.database = n;
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

Result<Ok> RedisConnection::try_connect() {
  context_.reset(
      redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(timeout_)));
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
  for (const auto& script : scripts_) hello.push_back({"SCRIPT", "LOAD", script});
  auto replies = run(hello, "connecting");
  if (!replies) {
    context_.reset();
    return replies.error();
  }
  shas_.clear();
  for (std::size_t i = replies->size() - scripts_.size(); i < replies->size(); ++i) {
    shas_.push_back(reply_text((*replies)[i].get()));
  }
  return Ok{};
}

Result<std::vector<RedisConnection::Reply>> RedisConnection::run(
    const std::vector<Command>& commands, const char* what) {
  if (!context_) {
    if (auto ok = connect(); !ok) return ok.error();
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  std::optional<Error> refused;
  bool lost_scripts = false;
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
      if (reply->type == REDIS_REPLY_ERROR && !refused) {
        const std::string why = reply_text(reply.get());
        // The scripts are gone (SCRIPT FLUSH): the next connection loads them again.
        if (why.starts_with("NOSCRIPT")) lost_scripts = true;
        refused = error(what, why);
      }
      replies.push_back(std::move(reply));
    }
  }
  if (lost_scripts) context_.reset();
  if (refused) return *refused;
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
  std::vector<Command> one;
  one.push_back(std::move(command));
  auto replies = run(one, what);
  if (!replies) return replies.error();
  return std::move(replies->front());
}

}  // namespace tether::server
