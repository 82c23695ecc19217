#include "server/store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include "server/store/stored_text.hpp"

#include <limits>
#include <string_view>
#include <utility>

namespace tether::server {
namespace {

namespace link_format = lwm2m::format::link_format;

// 2: registrations keep the identity that registered (Transport TS 5.2.6).
// 3: credentials may be OSCORE contexts (Transport TS 5.5).
constexpr std::int64_t kSchemaVersion = 3;

// Long enough to wait out another process's checkpoint or backup, short enough not to
// stall the server's loop for long.
constexpr int kBusyTimeoutMs = 2000;

// The comments stay in sqlite_master, for whoever opens the file with the sqlite3 shell.
constexpr const char* kSchema = R"sql(
CREATE TABLE registrations (
  endpoint TEXT NOT NULL PRIMARY KEY,
  id TEXT NOT NULL,
  version TEXT NOT NULL,
  binding TEXT NOT NULL,
  queue_mode INTEGER NOT NULL,
  lifetime INTEGER NOT NULL,        -- seconds
  sms TEXT,
  profile_id TEXT,
  objects TEXT NOT NULL,            -- link-format, as in the Register payload
  transport TEXT NOT NULL,
  address TEXT NOT NULL,
  registered_at INTEGER NOT NULL,   -- Unix milliseconds
  updated_at INTEGER NOT NULL,
  identity TEXT NOT NULL DEFAULT '' -- what the (D)TLS session proved ('psk:<hex>', ...); '' none
);
CREATE TABLE observations (
  id TEXT NOT NULL PRIMARY KEY,
  endpoint TEXT NOT NULL,
  registration_id TEXT NOT NULL,
  paths TEXT NOT NULL,              -- space-separated: '/3/0/1 /3/0/2'
  composite INTEGER NOT NULL,
  accept INTEGER,                   -- content format; NULL when none was asked for
  attributes TEXT,                  -- '&'-separated, '%' and '&' escaped as %25 %26; NULL: none
  token BLOB NOT NULL,
  created_at INTEGER NOT NULL       -- Unix milliseconds
);
CREATE INDEX observations_by_endpoint ON observations (endpoint);
CREATE TABLE credentials (
  endpoint TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,               -- 'psk', 'rpk' or 'x509'
  psk_identity TEXT NOT NULL,
  psk_key BLOB NOT NULL,
  public_key BLOB NOT NULL,         -- SubjectPublicKeyInfo, DER
  x509_common_name TEXT NOT NULL,
  oscore TEXT NOT NULL DEFAULT ''   -- kind 'oscore': the context's parameters as JSON
);
)sql";

constexpr const char* kPutRegistration =
    "INSERT OR REPLACE INTO registrations (endpoint, id, version, binding, queue_mode, lifetime, "
    "sms, profile_id, objects, transport, address, registered_at, updated_at, identity) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kUpdateRegistration =
    "UPDATE registrations SET binding = ?, queue_mode = ?, lifetime = ?, sms = ?, "
    "profile_id = ?, transport = ?, address = ?, identity = ?, updated_at = ? "
    "WHERE endpoint = ?";
constexpr const char* kSelectRegistrations =
    "SELECT endpoint, id, version, binding, queue_mode, lifetime, sms, profile_id, objects, "
    "transport, address, registered_at, updated_at, identity FROM registrations ORDER BY endpoint";
constexpr const char* kPutObservation =
    "INSERT OR REPLACE INTO observations (id, endpoint, registration_id, paths, composite, "
    "accept, attributes, token, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kSelectObservations =
    "SELECT id, endpoint, registration_id, paths, composite, accept, attributes, token, "
    "created_at FROM observations ORDER BY id";
constexpr const char* kPutCredentials =
    "INSERT OR REPLACE INTO credentials (endpoint, kind, psk_identity, psk_key, public_key, "
    "x509_common_name, oscore) VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kSelectCredentials =
    "SELECT endpoint, kind, psk_identity, psk_key, public_key, x509_common_name, oscore FROM "
    "credentials ORDER BY endpoint";
constexpr const char* kSelectCredentialsOf =
    "SELECT endpoint, kind, psk_identity, psk_key, public_key, x509_common_name, oscore FROM "
    "credentials WHERE endpoint = ?";

// Schema 1 to 2: registrations made over DTLS or TLS before identities were kept may be
// updated by any identity the policy admits, once (Registration::kAnySecureIdentity).
constexpr const char* kMigrateFrom1 = R"sql(
ALTER TABLE registrations ADD COLUMN identity TEXT NOT NULL DEFAULT '';
UPDATE registrations SET identity = '*' WHERE transport IN ('dtls', 'tls');
PRAGMA user_version = 2;
)sql";
constexpr const char* kMigrateFrom2 = R"sql(
ALTER TABLE credentials ADD COLUMN oscore TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 3;
)sql";

// Leaves a statement ready for its next use, however this one ends.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

// Binds parameters left to right and keeps the first failure. Values are bound without a
// copy (a null destructor is SQLITE_STATIC), so they must outlive the statement's step.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* statement) : statement_(statement) {}

  Binder& text(std::string_view value) {
    // A null pointer would bind NULL rather than an empty string.
    const char* data = value.data() != nullptr ? value.data() : "";
    return check(
        sqlite3_bind_text64(statement_, next_++, data, value.size(), nullptr, SQLITE_UTF8));
  }
  Binder& text_or_null(const std::optional<std::string>& value) {
    return value ? text(*value) : null();
  }
  Binder& blob(const Bytes& value) {
    // Likewise an empty vector's null data() would bind NULL, not an empty blob.
    if (value.empty()) return check(sqlite3_bind_zeroblob(statement_, next_++, 0));
    return check(sqlite3_bind_blob64(statement_, next_++, value.data(), value.size(), nullptr));
  }
  Binder& integer(std::int64_t value) {
    return check(sqlite3_bind_int64(statement_, next_++, value));
  }
  Binder& null() { return check(sqlite3_bind_null(statement_, next_++)); }
  int rc() const { return rc_; }

 private:
  Binder& check(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }
  sqlite3_stmt* statement_;
  int next_ = 1;
  int rc_ = SQLITE_OK;
};

// Reads the current row, checking each column's storage class: a file edited by hand
// fails loudly instead of loading zeros and empty strings.
class RowReader {
 public:
  explicit RowReader(sqlite3_stmt* statement) : statement_(statement) {}

  std::string text(int column) {
    if (!expect(column, SQLITE_TEXT)) return {};
    const unsigned char* data = sqlite3_column_text(statement_, column);
    if (data == nullptr) {
      note(column, "could not be read");
      return {};
    }
    return std::string(reinterpret_cast<const char*>(data), size(column));
  }
  std::optional<std::string> text_or_null(int column) {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
  Bytes blob(int column) {
    if (!expect(column, SQLITE_BLOB)) return {};
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
    const std::size_t n = size(column);
    if (n == 0) return {};  // SQLite returns no pointer for an empty blob
    if (data == nullptr) {
      note(column, "could not be read");
      return {};
    }
    return Bytes(data, data + n);
  }
  std::int64_t integer(int column) {
    if (!expect(column, SQLITE_INTEGER)) return 0;
    return sqlite3_column_int64(statement_, column);
  }
  std::optional<std::int64_t> integer_or_null(int column) {
    if (is_null(column)) return std::nullopt;
    return integer(column);
  }
  // Empty, or what was wrong with the first bad column.
  const std::string& problem() const { return problem_; }

 private:
  bool is_null(int column) { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::size_t size(int column) {
    return static_cast<std::size_t>(sqlite3_column_bytes(statement_, column));
  }
  bool expect(int column, int type) {
    if (sqlite3_column_type(statement_, column) == type) return true;
    note(column, "has the wrong type");
    return false;
  }
  void note(int column, const char* what) {
    if (problem_.empty())
      problem_ = std::string("column ") + sqlite3_column_name(statement_, column) + " " + what;
  }

  sqlite3_stmt* statement_;
  std::string problem_;
};

bool in_range(std::int64_t value, std::int64_t max) {
  return value >= 0 && value <= max;
}

}  // namespace

void SqliteStore::CloseDb::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

void SqliteStore::Finalize::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& file,
                                                       bool sync_each_commit) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(file));
  if (auto ok = store->init(sync_each_commit); !ok) return ok.error();
  return store;
}

SqliteStore::~SqliteStore() {
  if (db_) (void)flush();
}

Error SqliteStore::sqlite_error(const std::string& what) const {
  return fail("sqlite store '" + file_ + "': " + what + ": " + sqlite3_errmsg(db_.get()));
}

Error SqliteStore::row_error(const std::string& what, const std::string& key,
                             const std::string& why) const {
  return fail("sqlite store '" + file_ + "': " + what + " '" + key + "': " + why);
}

Error SqliteStore::newer_schema(std::int64_t version) const {
  return fail("sqlite store '" + file_ + "': schema version " + std::to_string(version) +
              " is newer than this build's (" + std::to_string(kSchemaVersion) + ")");
}

Result<Ok> SqliteStore::init(bool sync_each_commit) {
  sqlite3* db = nullptr;
  // NOMUTEX: the store is used from one thread at a time (the server's loop; with --workers,
  // worker 0's file is also read by the others, under WorkerStore's mutex).
  const int rc =
      sqlite3_open_v2(file_.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(db);  // a failed open still hands back a handle to close
  if (rc != SQLITE_OK) return sqlite_error("cannot open");
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // Read before anything writes: a file that is not a database, or one from a newer
  // build, is left as it is.
  auto version = query_int("PRAGMA user_version", "reading the schema version");
  if (!version) return version.error();
  if (*version > kSchemaVersion) return newer_schema(*version);

  // WAL lets a flush append without blocking readers; with WAL, synchronous=NORMAL loses at
  // most the last transactions on power loss, never the file's consistency.
  if (auto ok = exec("PRAGMA journal_mode = WAL", "setting WAL mode"); !ok) return ok;
  const char* synchronous =
      sync_each_commit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
  if (auto ok = exec(synchronous, "setting synchronous mode"); !ok) return ok;
  if (*version < kSchemaVersion) {
    if (auto ok = prepare_schema(); !ok) return ok;
  }

  const std::pair<Statement*, const char*> statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&put_registration_, kPutRegistration},
      {&update_registration_, kUpdateRegistration},
      {&delete_registration_, "DELETE FROM registrations WHERE endpoint = ?"},
      {&select_registrations_, kSelectRegistrations},
      {&put_observation_, kPutObservation},
      {&delete_observation_, "DELETE FROM observations WHERE id = ?"},
      {&delete_observations_of_, "DELETE FROM observations WHERE endpoint = ?"},
      {&select_observations_, kSelectObservations},
      {&put_credentials_, kPutCredentials},
      {&delete_credentials_, "DELETE FROM credentials WHERE endpoint = ?"},
      {&select_credentials_, kSelectCredentials},
      {&select_credentials_of_, kSelectCredentialsOf},
  };
  for (const auto& [statement, sql] : statements) {
    if (auto ok = prepare(*statement, sql); !ok) return ok;
  }
  return Ok{};
}

// Creates the tables in a new file, or upgrades an older schema in place.
Result<Ok> SqliteStore::prepare_schema() {
  // IMMEDIATE takes the write lock now, so two processes creating the same file in turn
  // see each other's work instead of both creating tables.
  if (auto ok = exec("BEGIN IMMEDIATE", "creating the schema"); !ok) return ok;
  auto created = [&]() -> Result<Ok> {
    auto version = query_int("PRAGMA user_version", "reading the schema version");
    if (!version) return version.error();
    if (*version == kSchemaVersion) return Ok{};
    if (*version > kSchemaVersion) return newer_schema(*version);
    if (*version == 1 || *version == 2) {
      if (*version == 1) {
        if (auto ok = exec(kMigrateFrom1, "upgrading the schema from version 1"); !ok) return ok;
      }
      return exec(kMigrateFrom2, "upgrading the schema from version 2");
    }
    auto tables = query_int("SELECT count(*) FROM sqlite_master", "reading the schema");
    if (!tables) return tables.error();
    if (*tables != 0) {
      return fail("sqlite store '" + file_ +
                  "': the database has tables but no schema version; it is not a Tether store");
    }
    if (auto ok = exec(kSchema, "creating the schema"); !ok) return ok;
    const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    return exec(set_version.c_str(), "setting the schema version");
  }();
  if (!created) {
    (void)exec("ROLLBACK", "rolling back");
    return created;
  }
  return exec("COMMIT", "creating the schema");
}

Result<std::int64_t> SqliteStore::query_int(const char* sql, const char* what) {
  Statement statement;
  if (auto ok = prepare(statement, sql); !ok) return sqlite_error(what);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return sqlite_error(what);
  return sqlite3_column_int64(statement.get(), 0);
}

Result<Ok> SqliteStore::exec(const char* sql, const char* what) {
  char* message = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) == SQLITE_OK) return Ok{};
  std::string reason = message != nullptr ? message : sqlite3_errmsg(db_.get());
  sqlite3_free(message);
  return fail("sqlite store '" + file_ + "': " + what + ": " + reason);
}

Result<Ok> SqliteStore::prepare(Statement& statement, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  statement.reset(raw);
  if (rc != SQLITE_OK) return sqlite_error(std::string("preparing '") + sql + "'");
  return Ok{};
}

Result<Ok> SqliteStore::run(sqlite3_stmt* statement, int bind_rc, const char* what) {
  ResetOnExit reset(statement);
  if (bind_rc != SQLITE_OK) {
    return fail("sqlite store '" + file_ + "': " + what + ": " + sqlite3_errstr(bind_rc));
  }
  if (sqlite3_step(statement) != SQLITE_DONE) return sqlite_error(what);
  return Ok{};
}

Result<Ok> SqliteStore::flush() {
  if (pending_.empty()) return Ok{};
  if (auto ok = run(begin_.get(), SQLITE_OK, "starting a transaction"); !ok) return ok;
  auto written = write_pending();
  if (written) written = run(commit_.get(), SQLITE_OK, "committing");
  if (!written) {
    // The pending changes stay, for the next flush to try again.
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      (void)run(rollback_.get(), SQLITE_OK, "rolling back");
    }
    return written;
  }
  pending_.clear();
  return Ok{};
}

Result<Ok> SqliteStore::write_pending() {
  // Sweeps first: they stand for removals of rows stored before any pending change.
  for (const auto& [endpoint, seq] : pending_.sweeps()) {
    auto* s = delete_observations_of_.get();
    if (auto ok = run(s, Binder(s).text(endpoint).rc(), "removing observations"); !ok) return ok;
  }

  for (const auto& [id, pending] : pending_.observations()) {
    const auto& o = pending.record;
    if (!o || pending_.swept(pending)) {
      auto* s = delete_observation_.get();
      if (auto ok = run(s, Binder(s).text(id).rc(), "removing an observation"); !ok) return ok;
      continue;
    }
    // Locals, because the binds do not copy.
    const std::string paths = join_paths(o->paths);
    const std::optional<std::string> attributes = join_attributes(o->attributes);
    auto* s = put_observation_.get();
    Binder bind(s);
    bind.text(o->id).text(o->endpoint).text(o->registration_id).text(paths);
    bind.integer(o->composite ? 1 : 0);
    if (o->accept) {
      bind.integer(*o->accept);
    } else {
      bind.null();
    }
    bind.text_or_null(attributes).blob(o->token).integer(o->created_at);
    if (auto ok = run(s, bind.rc(), "writing an observation"); !ok) return ok;
  }

  for (const auto& [endpoint, pending] : pending_.registrations()) {
    if (!pending) {
      auto* s = delete_registration_.get();
      if (auto ok = run(s, Binder(s).text(endpoint).rc(), "removing a registration"); !ok)
        return ok;
      continue;
    }
    const Registration& r = *pending;
    const std::string objects = link_format::serialize_registration(*r.objects);
    auto* s = put_registration_.get();
    Binder bind(s);
    bind.text(r.endpoint).text(r.id).text(r.version).text(r.binding);
    bind.integer(r.queue_mode ? 1 : 0).integer(r.lifetime);
    bind.text_or_null(r.sms).text_or_null(r.profile_id).text(objects);
    bind.text(r.transport).text(r.address).integer(r.registered_at).integer(r.updated_at);
    bind.text(r.identity);
    if (auto ok = run(s, bind.rc(), "writing a registration"); !ok) return ok;
  }

  for (const auto& [endpoint, u] : pending_.updates()) {
    auto* s = update_registration_.get();
    Binder bind(s);
    bind.text(u.binding).integer(u.queue_mode ? 1 : 0).integer(u.lifetime);
    bind.text_or_null(u.sms).text_or_null(u.profile_id).text(u.transport).text(u.address);
    bind.text(u.identity).integer(u.updated_at).text(endpoint);
    if (auto ok = run(s, bind.rc(), "updating a registration"); !ok) return ok;
  }

  for (const auto& [endpoint, pending] : pending_.credentials()) {
    if (!pending) {
      auto* s = delete_credentials_.get();
      if (auto ok = run(s, Binder(s).text(endpoint).rc(), "removing credentials"); !ok) return ok;
      continue;
    }
    const Credentials& c = *pending;
    // Bound without a copy: it must outlive the statement's step.
    const std::string oscore = credentials_json_part(c);
    auto* s = put_credentials_.get();
    Binder bind(s);
    bind.text(c.endpoint).text(credentials_kind_name(c.kind)).text(c.psk_identity);
    bind.blob(c.psk_key).blob(c.public_key).text(c.x509_common_name).text(oscore);
    if (auto ok = run(s, bind.rc(), "writing credentials"); !ok) return ok;
  }
  return Ok{};
}

Result<std::vector<Registration>> SqliteStore::load_registrations() {
  if (auto ok = flush(); !ok) return ok.error();
  auto* s = select_registrations_.get();
  ResetOnExit reset(s);
  std::vector<Registration> out;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    RowReader row(s);
    Registration r;
    r.endpoint = row.text(0);
    r.id = row.text(1);
    r.version = row.text(2);
    r.binding = row.text(3);
    const auto queue_mode = row.integer(4);
    const auto lifetime = row.integer(5);
    r.sms = row.text_or_null(6);
    r.profile_id = row.text_or_null(7);
    const auto objects = row.text(8);
    r.transport = row.text(9);
    r.address = row.text(10);
    r.registered_at = row.integer(11);
    r.updated_at = row.integer(12);
    r.identity = row.text(13);
    if (!row.problem().empty()) return row_error("registration", r.endpoint, row.problem());
    if (!in_range(queue_mode, 1)) return row_error("registration", r.endpoint, "bad queue_mode");
    if (!in_range(lifetime, std::numeric_limits<std::uint32_t>::max()))
      return row_error("registration", r.endpoint, "lifetime out of range");
    r.queue_mode = queue_mode == 1;
    r.lifetime = static_cast<std::uint32_t>(lifetime);
    auto payload = link_format::parse_registration(objects);
    if (!payload)
      return row_error("registration", r.endpoint, "objects: " + payload.error().reason);
    r.objects = std::move(*payload);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sqlite_error("reading registrations");
  return out;
}

Result<std::vector<ObservationRecord>> SqliteStore::load_observations() {
  if (auto ok = flush(); !ok) return ok.error();
  auto* s = select_observations_.get();
  ResetOnExit reset(s);
  std::vector<ObservationRecord> out;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    RowReader row(s);
    ObservationRecord o;
    o.id = row.text(0);
    o.endpoint = row.text(1);
    o.registration_id = row.text(2);
    const auto paths_text = row.text(3);
    const auto composite = row.integer(4);
    const auto accept = row.integer_or_null(5);
    const auto attributes_text = row.text_or_null(6);
    o.token = row.blob(7);
    o.created_at = row.integer(8);
    if (!row.problem().empty()) return row_error("observation", o.id, row.problem());
    if (!in_range(composite, 1)) return row_error("observation", o.id, "bad composite");
    if (accept && !in_range(*accept, std::numeric_limits<std::uint16_t>::max()))
      return row_error("observation", o.id, "accept out of range");
    auto paths = split_paths(paths_text);
    if (!paths) return row_error("observation", o.id, paths.error().reason);
    auto attributes = split_attributes(attributes_text);
    if (!attributes) return row_error("observation", o.id, attributes.error().reason);
    o.composite = composite == 1;
    if (accept) o.accept = static_cast<std::uint16_t>(*accept);
    o.paths = std::move(*paths);
    o.attributes = std::move(*attributes);
    out.push_back(std::move(o));
  }
  if (rc != SQLITE_DONE) return sqlite_error("reading observations");
  return out;
}

Result<std::vector<Credentials>> SqliteStore::load_credentials() {
  if (auto ok = flush(); !ok) return ok.error();
  auto* s = select_credentials_.get();
  ResetOnExit reset(s);
  std::vector<Credentials> out;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    auto c = read_credentials(s);
    if (!c) return c.error();
    out.push_back(std::move(*c));
  }
  if (rc != SQLITE_DONE) return sqlite_error("reading credentials");
  return out;
}

Result<std::optional<Credentials>> SqliteStore::load_credentials_of(const std::string& endpoint) {
  if (auto it = pending_.credentials().find(endpoint); it != pending_.credentials().end()) {
    return it->second;  // written since the last flush (nullopt: removed)
  }
  auto* s = select_credentials_of_.get();
  ResetOnExit reset(s);
  if (Binder(s).text(endpoint).rc() != SQLITE_OK) return sqlite_error("reading credentials");
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<Credentials>{};
  if (rc != SQLITE_ROW) return sqlite_error("reading credentials");
  auto c = read_credentials(s);
  if (!c) return c.error();
  return std::optional<Credentials>(std::move(*c));
}

Result<Credentials> SqliteStore::read_credentials(sqlite3_stmt* s) const {
  RowReader row(s);
  Credentials c;
  c.endpoint = row.text(0);
  const auto kind_text = row.text(1);
  c.psk_identity = row.text(2);
  c.psk_key = row.blob(3);
  c.public_key = row.blob(4);
  c.x509_common_name = row.text(5);
  const auto oscore_text = row.text(6);
  if (!row.problem().empty()) return row_error("credentials", c.endpoint, row.problem());
  const auto kind = credentials_kind_from(kind_text);
  if (!kind) return row_error("credentials", c.endpoint, "unknown kind '" + kind_text + "'");
  c.kind = *kind;
  if (auto merged = merge_credentials_json_part(c, oscore_text); !merged) {
    return row_error("credentials", c.endpoint, merged.error().reason);
  }
  return c;
}

}  // namespace tether::server
