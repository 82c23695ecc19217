// The SQLite store: what survives a restart, how buffered writes behave and which files it
// refuses. The contract every store keeps is in store_contract_test.cpp.
#include "server/store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server/store/memory/memory_store.hpp"
#include "store_samples.hpp"
#include "support/hex_bytes.hpp"

namespace tether::server {
namespace {

namespace fs = std::filesystem;
using test_support::hex;
using namespace store_samples;  // NOLINT(google-build-using-namespace)

std::unique_ptr<SqliteStore> open_store(const std::string& file) {
  auto store = SqliteStore::open(file);
  if (!store) ADD_FAILURE() << store.error().reason;
  return store ? std::move(*store) : nullptr;
}

// Runs SQL on the file directly, as an operator or a newer build might.
void exec_sql(const std::string& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message != nullptr ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

TEST(SqliteStore, RoundTripsEveryFieldAcrossCloseAndReopen) {
  TempDir dir;
  const auto file = dir.file("server.db");
  const auto full = full_registration();
  const auto minimal = minimal_registration("zz-minimal");
  const auto composite = composite_observation(full.endpoint);
  auto plain = observation("obs-plain", minimal.endpoint);
  plain.paths = {lwm2m::Path{}};
  plain.token = {};
  auto one_empty_attribute = observation("obs-empty-attribute", minimal.endpoint);
  one_empty_attribute.attributes = {""};
  one_empty_attribute.accept = 0;
  Credentials cose;  // Transport TS 8.6: in the JSON column, like mode oscore
  cose.endpoint = "ep-cose";
  cose.kind = Credentials::Kind::kCose;
  cose.cose = CoseKeys{to_bytes("k1"), Bytes(16, 9), 10};
  const std::vector<Credentials> creds = {cose, psk("ep-psk"), rpk("ep-rpk"), x509("ep-x509", ""),
                                          x509("ep-x509-cn", "device.example.com")};
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(full));
    ASSERT_TRUE(store->save_registration(minimal));
    ASSERT_TRUE(store->save_observation(composite));
    ASSERT_TRUE(store->save_observation(plain));
    ASSERT_TRUE(store->save_observation(one_empty_attribute));
    for (const auto& c : creds) ASSERT_TRUE(store->save_credentials(c));
    auto flushed = store->flush();
    ASSERT_TRUE(flushed) << flushed.error().reason;
  }
  auto store = open_store(file);
  ASSERT_TRUE(store);
  // Loads come back ordered by key, like MemoryStore's.
  EXPECT_EQ(registrations(*store), (std::vector<Registration>{full, minimal}));
  EXPECT_EQ(observations(*store),
            (std::vector<ObservationRecord>{composite, one_empty_attribute, plain}));
  EXPECT_EQ(credentials(*store), creds);
}

TEST(SqliteStore, SavingAnEndpointAgainKeepsTheLatest) {
  TempDir dir;
  const auto file = dir.file("server.db");
  auto first = full_registration();
  auto second = first;
  second.id = "second";
  second.sms.reset();
  second.objects = without_last_object(second.objects);
  auto third = second;
  third.updated_at += 1000;
  third.address = "[::1]:40001";
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(first));
    ASSERT_TRUE(store->flush());
    // Over a stored row, then over a pending one.
    ASSERT_TRUE(store->save_registration(second));
    ASSERT_TRUE(store->save_registration(third));
    EXPECT_EQ(registrations(*store), std::vector<Registration>{third});
    ASSERT_TRUE(store->save_credentials(psk(first.endpoint)));
    ASSERT_TRUE(store->save_credentials(rpk(first.endpoint)));
  }
  auto store = open_store(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(registrations(*store), std::vector<Registration>{third});
  EXPECT_EQ(credentials(*store), std::vector<Credentials>{rpk(first.endpoint)});
}

TEST(SqliteStore, RemovingAFlushedRegistrationRemovesItsObservations) {
  TempDir dir;
  const auto file = dir.file("server.db");
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(minimal_registration("a")));
    ASSERT_TRUE(store->save_registration(minimal_registration("b")));
    ASSERT_TRUE(store->save_observation(observation("a1", "a")));
    ASSERT_TRUE(store->save_observation(observation("a2", "a")));
    ASSERT_TRUE(store->save_observation(observation("b1", "b")));
    ASSERT_TRUE(store->save_credentials(psk("a")));
    ASSERT_TRUE(store->flush());
    ASSERT_TRUE(store->remove_registration("a"));
    ASSERT_TRUE(store->flush());
  }
  auto store = open_store(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(registrations(*store), std::vector<Registration>{minimal_registration("b")});
  EXPECT_EQ(observation_ids(*store), std::vector<std::string>{"b1"});
  // Credentials belong to the endpoint, not to one registration of it.
  EXPECT_EQ(credentials(*store), std::vector<Credentials>{psk("a")});
}

TEST(SqliteStore, RemovingAPendingRegistrationRemovesItsPendingObservations) {
  TempDir dir;
  const auto file = dir.file("server.db");
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(minimal_registration("b")));
    ASSERT_TRUE(store->save_observation(observation("b1", "b")));
    ASSERT_TRUE(store->flush());
    // Stored under "b", then saved again under "a" before "a" goes: it goes with "a".
    ASSERT_TRUE(store->save_observation(observation("b1", "a")));
    ASSERT_TRUE(store->save_registration(minimal_registration("a")));
    ASSERT_TRUE(store->save_observation(observation("a1", "a")));
    ASSERT_TRUE(store->remove_registration("a"));
    // Saved after the removal: a new registration's observation, which stays.
    ASSERT_TRUE(store->save_observation(observation("a2", "a")));
    // A remove after a save of the same key cancels it.
    ASSERT_TRUE(store->save_registration(minimal_registration("c")));
    ASSERT_TRUE(store->remove_registration("c"));
    ASSERT_TRUE(store->save_credentials(psk("c")));
    ASSERT_TRUE(store->remove_credentials("c"));
    ASSERT_TRUE(store->save_observation(observation("c1", "b")));
    ASSERT_TRUE(store->remove_observation("b", "c1"));
  }
  auto store = open_store(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(registrations(*store), std::vector<Registration>{minimal_registration("b")});
  EXPECT_EQ(observation_ids(*store), std::vector<std::string>{"a2"});
  EXPECT_TRUE(credentials(*store).empty());
}

TEST(SqliteStore, UnflushedChangesAreVisibleAndDurableAfterFlush) {
  TempDir dir;
  const auto file = dir.file("server.db");
  auto writer = open_store(file);
  ASSERT_TRUE(writer);
  const auto full = full_registration();
  const auto composite = composite_observation(full.endpoint);
  ASSERT_TRUE(writer->save_registration(full));
  ASSERT_TRUE(writer->save_observation(composite));
  ASSERT_TRUE(writer->save_credentials(psk(full.endpoint)));

  // Nothing reached the file yet: a second store on it sees nothing.
  auto reader = open_store(file);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(registrations(*reader).empty());
  EXPECT_TRUE(observations(*reader).empty());
  EXPECT_TRUE(credentials(*reader).empty());

  ASSERT_TRUE(writer->flush());
  reader.reset();
  auto after_flush = open_store(file);
  ASSERT_TRUE(after_flush);
  EXPECT_EQ(registrations(*after_flush), std::vector<Registration>{full});
  EXPECT_EQ(observations(*after_flush), std::vector<ObservationRecord>{composite});
  EXPECT_EQ(credentials(*after_flush), std::vector<Credentials>{psk(full.endpoint)});

  // Pending changes merge with stored rows in the writer's own loads.
  ASSERT_TRUE(writer->save_registration(minimal_registration("zz")));
  ASSERT_TRUE(writer->remove_observation(composite.endpoint, composite.id));
  ASSERT_TRUE(writer->remove_credentials(full.endpoint));
  EXPECT_EQ(registrations(*writer), (std::vector<Registration>{full, minimal_registration("zz")}));
  EXPECT_TRUE(observations(*writer).empty());
  EXPECT_TRUE(credentials(*writer).empty());
}

TEST(SqliteStore, DestructorFlushes) {
  TempDir dir;
  const auto file = dir.file("server.db");
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(full_registration()));
    ASSERT_TRUE(store->save_observation(composite_observation("urn:dev:os:0023C7-000001")));
    ASSERT_TRUE(store->save_credentials(x509("urn:dev:os:0023C7-000001", "cn")));
  }
  auto store = open_store(file);
  ASSERT_TRUE(store);
  EXPECT_EQ(registrations(*store), std::vector<Registration>{full_registration()});
  EXPECT_EQ(observations(*store),
            std::vector<ObservationRecord>{composite_observation("urn:dev:os:0023C7-000001")});
  EXPECT_EQ(credentials(*store), std::vector<Credentials>{x509("urn:dev:os:0023C7-000001", "cn")});
}

TEST(SqliteStore, RefusesAFileThatIsNotADatabaseAndLeavesItAlone) {
  TempDir dir;
  const auto file = dir.file("notes.txt");
  std::string garbage;
  for (int i = 0; i < 200; ++i)
    garbage += "this is not a database, line " + std::to_string(i) + "\n";
  std::ofstream(file, std::ios::binary) << garbage;

  auto store = SqliteStore::open(file);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().reason.find(file), std::string::npos) << store.error().reason;
  std::ifstream in(file, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), garbage);
}

TEST(SqliteStore, RefusesANewerSchemaVersion) {
  TempDir dir;
  const auto file = dir.file("server.db");
  exec_sql(file, "CREATE TABLE future (x); PRAGMA user_version = 99;");

  auto store = SqliteStore::open(file);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().reason.find(file), std::string::npos) << store.error().reason;
  EXPECT_NE(store.error().reason.find("99"), std::string::npos) << store.error().reason;
}

// A file from before identities were kept (schema 1) is upgraded in place: plain
// registrations keep an empty identity, DTLS/TLS ones get "*" (the next Update pins it).
TEST(SqliteStore, UpgradesSchemaOneKeepingItsRows) {
  TempDir dir;
  const auto file = dir.file("server.db");
  exec_sql(file, R"sql(
    CREATE TABLE registrations (endpoint TEXT NOT NULL PRIMARY KEY, id TEXT NOT NULL,
      version TEXT NOT NULL, binding TEXT NOT NULL, queue_mode INTEGER NOT NULL,
      lifetime INTEGER NOT NULL, sms TEXT, profile_id TEXT, objects TEXT NOT NULL,
      transport TEXT NOT NULL, address TEXT NOT NULL, registered_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL);
    CREATE TABLE observations (id TEXT NOT NULL PRIMARY KEY, endpoint TEXT NOT NULL,
      registration_id TEXT NOT NULL, paths TEXT NOT NULL, composite INTEGER NOT NULL,
      accept INTEGER, attributes TEXT, token BLOB NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX observations_by_endpoint ON observations (endpoint);
    CREATE TABLE credentials (endpoint TEXT NOT NULL PRIMARY KEY, kind TEXT NOT NULL,
      psk_identity TEXT NOT NULL, psk_key BLOB NOT NULL, public_key BLOB NOT NULL,
      x509_common_name TEXT NOT NULL);
    INSERT INTO registrations VALUES ('plain', 'p1', '1.1', 'U', 0, 300, NULL, NULL,
      '</1/0>', 'udp', '127.0.0.1:1', 1000, 2000);
    INSERT INTO registrations VALUES ('secure', 's1', '1.2', 'U', 0, 300, NULL, NULL,
      '</1/0>', 'dtls', '127.0.0.1:2', 1000, 2000);
    PRAGMA user_version = 1;)sql");
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    const auto loaded = registrations(*store);
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0].endpoint, "plain");
    EXPECT_EQ(loaded[0].identity, "");
    EXPECT_EQ(loaded[1].endpoint, "secure");
    EXPECT_EQ(loaded[1].identity, Registration::kAnySecureIdentity);
    auto pinned = loaded[1];
    pinned.identity = "x509:6162";
    ASSERT_TRUE(store->save_registration(pinned));
    ASSERT_TRUE(store->save_credentials(oscore("secure")));  // schema 3's column is there
    ASSERT_TRUE(store->flush());
  }
  auto again = open_store(file);
  ASSERT_TRUE(again);
  EXPECT_EQ(registrations(*again)[1].identity, "x509:6162");
  EXPECT_EQ(credentials(*again), std::vector<Credentials>{oscore("secure")});
}

TEST(SqliteStore, RefusesAnotherApplicationsDatabase) {
  TempDir dir;
  const auto file = dir.file("other.db");
  exec_sql(file, "CREATE TABLE registrations (name TEXT);");

  auto store = SqliteStore::open(file);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().reason.find(file), std::string::npos) << store.error().reason;
}

TEST(SqliteStore, AStoredRowThatDoesNotParseFailsTheLoadNamingIt) {
  TempDir dir;
  const auto file = dir.file("server.db");
  {
    auto store = open_store(file);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->save_registration(full_registration()));
    ASSERT_TRUE(store->save_observation(observation("obs-7", "ep")));
    ASSERT_TRUE(store->save_credentials(psk("ep")));
  }
  exec_sql(file,
           "UPDATE registrations SET objects = '</3/0'; UPDATE observations SET paths = '/3/x'; "
           "UPDATE credentials SET kind = 'token';");
  auto store = open_store(file);
  ASSERT_TRUE(store);

  auto loaded_registrations = store->load_registrations();
  ASSERT_FALSE(loaded_registrations);
  EXPECT_NE(loaded_registrations.error().reason.find("urn:dev:os:0023C7-000001"), std::string::npos)
      << loaded_registrations.error().reason;
  auto loaded_observations = store->load_observations();
  ASSERT_FALSE(loaded_observations);
  EXPECT_NE(loaded_observations.error().reason.find("obs-7"), std::string::npos)
      << loaded_observations.error().reason;
  auto loaded_credentials = store->load_credentials();
  ASSERT_FALSE(loaded_credentials);
  EXPECT_NE(loaded_credentials.error().reason.find("'ep'"), std::string::npos)
      << loaded_credentials.error().reason;
}

TEST(SqliteStore, CreatesTheFileInWalMode) {
  TempDir dir;
  const auto file = dir.file("server.db");
  ASSERT_FALSE(fs::exists(file));
  auto store = open_store(file);
  ASSERT_TRUE(store);
  EXPECT_TRUE(fs::exists(file));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace tether::server
