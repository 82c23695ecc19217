#pragma once
// One blocking connection to Redis (hiredis) with every wait bounded: connect, log in,
// select the database, load the Lua scripts the caller gives, and run commands in
// pipelined batches. A lost connection is dropped and made again by the next run(), with
// a growing pause between attempts while Redis stays away.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

struct redisContext;
struct redisReply;

namespace tether::server {

class RedisConnection {
 public:
  struct HostPort {
    std::string host;
    std::uint16_t port = 0;
    std::string text() const;  // "host:port", [v6]:port
  };
  struct Address {
    std::string host;
    std::uint16_t port = 6379;
    std::string password;  // AUTH when set; never written to a message
    int database = 0;      // SELECT
    // Sentinel-managed: the sentinels asked, in turn, for the primary named `primary_name`
    // (host and port above are then unused).
    std::vector<HostPort> sentinels;
    std::string primary_name;
    // A Redis Cluster: the nodes first asked for the slot map (host and port above are
    // then unused; the database is 0). A single connection goes to the first that answers.
    std::vector<HostPort> seeds;
    bool cluster() const { return !seeds.empty(); }
    // "host:port/database" (or "sentinel NAME at h:p,h:p/database", "cluster h:p,h:p"), for
    // messages.
    std::string text() const;
    // The URL without the password, for logs.
    std::string url() const;
    // redis://[:password@]host[:port][/database],
    // redis+sentinel://[:password@]host[:port][,host[:port]...]/NAME[/database] (sentinels
    // on port 26379 unless given), or redis+cluster://[:password@]host[:port][,...];
    // [v6-address] in brackets.
    static Result<Address> parse_url(std::string_view url);
  };
  struct FreeReply {
    void operator()(redisReply* reply) const;
  };
  using Reply = std::unique_ptr<redisReply, FreeReply>;
  using Command = std::vector<std::string>;

  RedisConnection(Address address, std::chrono::milliseconds timeout,
                  std::vector<std::string> scripts);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  Result<Ok> connect();
  bool connected() const { return context_ != nullptr; }
  // The SHA1 of the i-th script given at construction, for EVALSHA.
  const std::string& script(std::size_t i) const { return shas_.at(i); }
  bool loaded() const { return !shas_.empty() || scripts_.empty(); }
  // Sends the commands in batches and reads every reply. Any refused command is the error
  // (after every reply is read); a lost or silent connection is dropped for the next call.
  Result<std::vector<Reply>> run(const std::vector<Command>& commands, const char* what);
  // The same, with refusals left in the replies (a cluster's MOVED is one to act on).
  Result<std::vector<Reply>> exchange(const std::vector<Command>& commands, const char* what);
  Result<Reply> run_one(Command command, const char* what);
  Error error(const std::string& what, const std::string& why) const;
  const Address& address() const { return address_; }

  // For a subscriber on an event loop (RedisNodeBus): the socket to watch (-1 when not
  // connected), the replies that one read of it completes (a failure leaves the connection
  // for the caller to drop once it stopped watching), and dropping the connection.
  int fd() const;
  // `read`: read the socket once first; without, only what earlier reads left buffered.
  Result<std::vector<Reply>> read_available(const char* what, bool read = true);
  void disconnect() { context_.reset(); }

 private:
  struct FreeContext {
    void operator()(redisContext* context) const;
  };

  Result<Ok> try_connect();
  // Sentinel-managed: where the primary is now, by the first sentinel that knows.
  Result<HostPort> ask_sentinels() const;
  Result<Ok> open(const HostPort& target);

  Address address_;
  std::chrono::milliseconds timeout_;
  // After a failed connect the next waits (1 s, doubling up to 30 s), so that a Redis that
  // is away costs the loop one bounded wait now and then, not one per call.
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_failure_;
  std::vector<std::string> scripts_;
  std::vector<std::string> shas_;
  std::unique_ptr<redisContext, FreeContext> context_;
};

// The one reply of a run of one command.
Result<RedisConnection::Reply> first_reply(Result<std::vector<RedisConnection::Reply>> replies);
// A reply's text (a string, a status or an error), "" for any other kind.
std::string reply_text(const redisReply* reply);
// An array reply's elements as text; nothing for any other kind.
std::vector<std::string> reply_texts(const redisReply* reply);

}  // namespace tether::server
