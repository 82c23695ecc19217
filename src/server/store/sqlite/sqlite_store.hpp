#pragma once
// A ServerStore in one SQLite file: the embedded default for a single server node.
//
// Writes are buffered: save_* and remove_* only note the latest state per key in memory,
// because the server saves a registration on every Update (up to 100k a second) and a
// transaction per call would cap it at the disk's sync rate. flush() writes everything
// noted so far in one transaction; load_* flush first, so they see every write.
//
// The schema version lives in PRAGMA user_version; a file written by a newer schema is
// refused rather than guessed at.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "server/store/pending_writes.hpp"
#include "server/store/server_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tether::server {

class SqliteStore final : public BufferedStore {
 public:
  // Creates the file and its tables when absent. With `sync_each_commit` every commit
  // reaches the disk before flush() returns (synchronous=FULL: also survives power loss);
  // without it a commit survives the process, and the disk syncs at checkpoints.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& file,
                                                   bool sync_each_commit = false);
  // Flushes and closes. A failure here cannot be reported: call flush() first to see it.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::vector<Registration>> load_registrations() override;
  Result<std::vector<ObservationRecord>> load_observations() override;
  Result<std::vector<Credentials>> load_credentials() override;
  // One row (or what waits to be written), not the whole table: workers read an endpoint's
  // again when told it changed, and reserve OSCORE sequence numbers from it.
  Result<std::optional<Credentials>> load_credentials_of(const std::string& endpoint) override;
  Result<Ok> flush() override;

 private:
  struct CloseDb {
    void operator()(sqlite3* db) const;
  };
  struct Finalize {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

  explicit SqliteStore(std::string file) : file_(std::move(file)) {}
  Result<Ok> init(bool sync_each_commit);
  Result<Ok> prepare_schema();
  Result<std::int64_t> query_int(const char* sql, const char* what);
  Result<Ok> exec(const char* sql, const char* what);
  Result<Ok> prepare(Statement& statement, const char* sql);
  Result<Ok> run(sqlite3_stmt* statement, int bind_rc, const char* what);
  Result<Ok> write_pending();
  Error sqlite_error(const std::string& what) const;
  Error newer_schema(std::int64_t version) const;
  Error row_error(const std::string& what, const std::string& key, const std::string& why) const;

  std::string file_;
  // Declared before the statements, so it is closed after they are finalized.
  std::unique_ptr<sqlite3, CloseDb> db_;
  Statement begin_, commit_, rollback_;
  Statement put_registration_, update_registration_, delete_registration_, select_registrations_;
  Statement put_observation_, delete_observation_, delete_observations_of_, select_observations_;
  Statement put_credentials_, delete_credentials_, select_credentials_, select_credentials_of_;
  // The credentials in the row `s` stands on (SELECT ... FROM credentials).
  Result<Credentials> read_credentials(sqlite3_stmt* s) const;
};

}  // namespace tether::server
