#pragma once
// A ServerStore in Redis, so that several server nodes can share registrations,
// observations and credentials (issue 22). The key layout is in docs/redis.md; one
// endpoint's keys share the hash tag {endpoint}, so each endpoint's write is one MULTI/EXEC
// and a refused write (maxmemory, a read-only replica) leaves nothing half written.
//
// Writes are buffered like the SQLite store's: save_* and remove_* note the latest state per
// key, and flush() sends them in pipelined batches. Every wait on Redis is bounded by the
// timeout given to open(); a lost connection is made again on the next call.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/store/pending_writes.hpp"
#include "server/store/server_store.hpp"

struct redisContext;
struct redisReply;

namespace tether::server {

class RedisStore final : public BufferedStore {
 public:
  struct Address {
    std::string host;
    std::uint16_t port = 6379;
    std::string password;  // AUTH when set; never written to a message
    int database = 0;      // SELECT
    // "host:port/database", for messages.
    std::string text() const;
  };
  // redis://[[user]:password@]host[:port][/database]; [v6-address] in brackets.
  static Result<Address> parse_url(std::string_view url);
  static Result<std::unique_ptr<RedisStore>> open(
      Address address, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  // Flushes. A failure here cannot be reported: call flush() first to see it.
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  Result<std::vector<Registration>> load_registrations() override;
  Result<std::vector<ObservationRecord>> load_observations() override;
  Result<std::vector<Credentials>> load_credentials() override;
  Result<Ok> flush() override;

 private:
  struct FreeContext {
    void operator()(redisContext* context) const;
  };
  struct FreeReply {
    void operator()(redisReply* reply) const;
  };
  using Reply = std::unique_ptr<redisReply, FreeReply>;
  using Command = std::vector<std::string>;

  RedisStore(Address address, std::chrono::milliseconds timeout);
  Result<Ok> connect();
  Result<Ok> check_schema();
  // Sends the commands in batches and reads every reply. Any refused command, or an
  // EXEC that was aborted, is the error; a lost connection is dropped for the next call.
  Result<std::vector<Reply>> run(const std::vector<Command>& commands, const char* what);
  Result<Reply> run_one(Command command, const char* what);
  Result<Ok> write_pending();
  // The members of an index set, each endpoint's hash of `kind` fetched, sorted by endpoint.
  Result<std::vector<std::pair<std::string, Reply>>> load_all(const char* index, const char* kind,
                                                              const char* what);
  std::string key(std::string_view endpoint, std::string_view kind) const;
  Error error(const std::string& what, const std::string& why) const;

  Address address_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<redisContext, FreeContext> context_;
  std::string update_script_sha_;
};

}  // namespace tether::server
