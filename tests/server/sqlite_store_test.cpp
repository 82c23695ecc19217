// The SQLite store: what survives a restart, how buffered writes behave and which files it
// refuses; and the ServerStore contract run against both the SQLite and the memory store,
// so the two stay equivalent.
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
#include "support/hex_bytes.hpp"

namespace tether::server {
namespace {

namespace fs = std::filesystem;
using test_support::hex;

// A fresh directory per test, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    static unsigned counter = 0;
    std::random_device random;
    do {
      path_ =
          fs::temp_directory_path() / ("tether-sqlite-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter++) + "-" + std::to_string(random()));
    } while (!fs::create_directory(path_));
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

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

// The same list without its last object (a registration's list is shared, so it is edited
// as a copy).
SharedPayload without_last_object(const SharedPayload& p) {
  auto objects = *p;
  objects.objects.pop_back();
  return objects;
}

// Every field set, objects under an alternate path with versions and content formats.
Registration full_registration() {
  Registration r;
  r.id = "a1b2c3";
  r.endpoint = "urn:dev:os:0023C7-000001";
  r.version = "1.2";
  r.binding = "UQ";
  r.queue_mode = true;
  r.lifetime = 4294967295U;
  r.sms = "+15555550100";
  r.profile_id = "tracker";
  lwm2m::format::link_format::RegistrationPayload objects;
  objects.alternate_path = "/lwm2m";
  objects.alternate_path_link = true;
  objects.content_formats = {60, 110, 112};
  objects.objects = {{1, "1.1", {0}}, {3, "", {0}}, {5, "", {}}, {3303, "1.0", {0, 1, 7}}};
  r.objects = std::move(objects);
  r.transport = "dtls";
  r.address = "[::1]:56830";
  r.identity = "psk:6465762d31";
  r.registered_at = 1'700'000'000'000;
  r.updated_at = 1'700'000'060'000;
  return r;
}

// Optional fields empty, no objects at all.
Registration minimal_registration(const std::string& endpoint) {
  Registration r;
  r.id = "id-" + endpoint;
  r.endpoint = endpoint;
  r.transport = "tcp";
  r.address = "127.0.0.1:40000";
  r.registered_at = 1000;
  r.updated_at = 2000;
  return r;
}

ObservationRecord observation(const std::string& id, const std::string& endpoint) {
  ObservationRecord o;
  o.id = id;
  o.endpoint = endpoint;
  o.registration_id = "id-" + endpoint;
  o.paths = {lwm2m::Path{3, 0, 1}};
  o.token = hex("01 02 03 04");
  o.created_at = 5000;
  return o;
}

// Observe-Composite with a binary token and attributes that need escaping.
ObservationRecord composite_observation(const std::string& endpoint) {
  ObservationRecord o;
  o.id = "obs-composite";
  o.endpoint = endpoint;
  o.registration_id = "a1b2c3";
  o.paths = {lwm2m::Path{3, 0, 1}, lwm2m::Path{3303, 0, 5700}, lwm2m::Path{1}, lwm2m::Path{}};
  o.composite = true;
  o.accept = 112;
  o.attributes = {"pmin=10", "pmax=60", "odd&value=50%25"};
  o.token = hex("00 ff 00 7a 00 00 00 01");
  o.created_at = 1'700'000'000'123;
  return o;
}

Credentials psk(const std::string& endpoint) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kPsk;
  c.psk_identity = "identity-" + endpoint;
  c.psk_key = hex("00 11 22 00 ff");
  return c;
}

Credentials rpk(const std::string& endpoint) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kRpk;
  c.public_key = hex("30 59 30 13 06 07 2a 86 48 ce 3d 02 01 00 00");
  return c;
}

Credentials x509(const std::string& endpoint, const std::string& common_name) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kX509;
  c.x509_common_name = common_name;
  return c;
}

Credentials oscore(const std::string& endpoint) {
  Credentials c;
  c.endpoint = endpoint;
  c.kind = Credentials::Kind::kOscore;
  c.oscore.master_secret = hex("01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10");
  c.oscore.master_salt = hex("9e 7c a9 22 23 78 63 40");
  c.oscore.sender_id = hex("01");
  c.oscore.recipient_id = {};  // empty IDs are allowed (RFC 8613 3.3)
  c.oscore.id_context = hex("37 cb f3 21 00 17 a2 d3");
  c.oscore.sequence_bound = 640;
  return c;
}

std::vector<Registration> registrations(ServerStore& store) {
  auto loaded = store.load_registrations();
  EXPECT_TRUE(loaded) << loaded.error().reason;
  return loaded ? *loaded : std::vector<Registration>{};
}

std::vector<ObservationRecord> observations(ServerStore& store) {
  auto loaded = store.load_observations();
  EXPECT_TRUE(loaded) << loaded.error().reason;
  return loaded ? *loaded : std::vector<ObservationRecord>{};
}

std::vector<Credentials> credentials(ServerStore& store) {
  auto loaded = store.load_credentials();
  EXPECT_TRUE(loaded) << loaded.error().reason;
  return loaded ? *loaded : std::vector<Credentials>{};
}

std::vector<std::string> observation_ids(ServerStore& store) {
  std::vector<std::string> ids;
  for (const auto& o : observations(store)) ids.push_back(o.id);
  return ids;
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
    ASSERT_TRUE(store->remove_observation("c1"));
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
  ASSERT_TRUE(writer->remove_observation(composite.id));
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

// Random saves, removes, flushes and restarts on a few keys, mirrored on a MemoryStore:
// whatever the mix of pending and stored state, both must load the same.
TEST(SqliteStore, RandomOperationsMatchTheMemoryStore) {
  TempDir dir;
  const auto file = dir.file("server.db");
  auto sqlite = open_store(file);
  ASSERT_TRUE(sqlite);
  MemoryStore memory;
  std::mt19937 random(20240611);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> endpoints = {"a", "b", "c", "d"};
  const std::vector<std::string> ids = {"o1", "o2", "o3", "o4", "o5", "o6"};

  for (int step = 0; step < 3000; ++step) {
    const auto& endpoint = endpoints[static_cast<std::size_t>(pick(4))];
    const auto& id = ids[static_cast<std::size_t>(pick(6))];
    std::function<Result<Ok>(ServerStore&)> op;
    switch (pick(10)) {
      case 0:
      case 1: {
        auto r = minimal_registration(endpoint);
        r.updated_at = step;
        op = [r](ServerStore& s) { return s.save_registration(r); };
        break;
      }
      case 2:
        op = [endpoint](ServerStore& s) { return s.remove_registration(endpoint); };
        break;
      case 3:
      case 4: {
        auto o = observation(id, endpoint);
        o.created_at = step;
        op = [o](ServerStore& s) { return s.save_observation(o); };
        break;
      }
      case 5:
        op = [id](ServerStore& s) { return s.remove_observation(id); };
        break;
      case 6: {
        auto c = psk(endpoint);
        c.psk_key.push_back(static_cast<std::uint8_t>(step));
        op = [c](ServerStore& s) { return s.save_credentials(c); };
        break;
      }
      case 7:
        op = [endpoint](ServerStore& s) { return s.remove_credentials(endpoint); };
        break;
      case 8: {
        // An Update of a registration the stores hold: a few fields, sometimes the objects.
        auto held = memory.load_registrations();
        ASSERT_TRUE(held);
        auto it = std::find_if(held->begin(), held->end(),
                               [&](const Registration& r) { return r.endpoint == endpoint; });
        if (it == held->end()) continue;
        Registration r = *it;
        r.lifetime = static_cast<std::uint32_t>(step);
        r.address = "127.0.0.1:" + std::to_string(step);
        r.updated_at = step;
        const bool objects_changed = pick(3) == 0;
        if (objects_changed) {
          auto objects = *r.objects;
          objects.objects.push_back({static_cast<std::uint16_t>(step), "", {0}});
          r.objects = std::move(objects);
        }
        op = [r, objects_changed](ServerStore& s) { return s.save_update(r, objects_changed); };
        break;
      }
      default:
        if (pick(4) == 0) {
          sqlite.reset();
          sqlite = open_store(file);
          ASSERT_TRUE(sqlite);
        } else {
          ASSERT_TRUE(sqlite->flush());
        }
        continue;
    }
    ASSERT_TRUE(op(memory));
    ASSERT_TRUE(op(*sqlite));
    if (step % 37 == 0) {
      ASSERT_EQ(registrations(*sqlite), registrations(memory)) << "step " << step;
      ASSERT_EQ(observations(*sqlite), observations(memory)) << "step " << step;
      ASSERT_EQ(credentials(*sqlite), credentials(memory)) << "step " << step;
    }
  }
  sqlite.reset();
  sqlite = open_store(file);
  ASSERT_TRUE(sqlite);
  EXPECT_EQ(registrations(*sqlite), registrations(memory));
  EXPECT_EQ(observations(*sqlite), observations(memory));
  EXPECT_EQ(credentials(*sqlite), credentials(memory));
}

// The ServerStore contract, for every implementation.
enum class StoreKind { kMemory, kSqlite };

class StoreContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::kMemory) {
      store_ = std::make_unique<MemoryStore>();
    } else {
      store_ = open_store(dir_.file("server.db"));
      ASSERT_TRUE(store_);
    }
  }
  ServerStore& store() { return *store_; }

 private:
  TempDir dir_;
  std::unique_ptr<ServerStore> store_;
};

TEST_P(StoreContract, SavesLoadsAndRemovesEachKind) {
  EXPECT_TRUE(registrations(store()).empty());
  EXPECT_TRUE(observations(store()).empty());
  EXPECT_TRUE(credentials(store()).empty());

  ASSERT_TRUE(store().save_registration(minimal_registration("b")));
  ASSERT_TRUE(store().save_registration(full_registration()));
  ASSERT_TRUE(store().save_observation(observation("o2", "b")));
  ASSERT_TRUE(store().save_observation(composite_observation("b")));
  ASSERT_TRUE(store().save_credentials(rpk("b")));
  ASSERT_TRUE(store().save_credentials(psk("a")));
  ASSERT_TRUE(store().save_credentials(oscore("c")));
  // OSCORE inside DTLS: a PSK and a context for one endpoint.
  Credentials both = psk("d");
  both.oscore = oscore("d").oscore;
  ASSERT_TRUE(store().save_credentials(both));
  EXPECT_EQ(credentials(store()).back(), both);
  Credentials cert;  // an X.509 certificate with the default CN, and OSCORE inside
  cert.endpoint = "e";
  cert.kind = Credentials::Kind::kX509;
  cert.oscore = oscore("e").oscore;
  cert.oscore.sender_id = hex("0e");
  ASSERT_TRUE(store().save_credentials(cert));
  EXPECT_EQ(credentials(store()).back(), cert);  // the CN stays empty (the endpoint's name)
  ASSERT_TRUE(store().remove_credentials("d"));
  ASSERT_TRUE(store().remove_credentials("e"));
  EXPECT_EQ(registrations(store()),
            (std::vector<Registration>{minimal_registration("b"), full_registration()}));
  EXPECT_EQ(observations(store()),
            (std::vector<ObservationRecord>{observation("o2", "b"), composite_observation("b")}));
  EXPECT_EQ(credentials(store()), (std::vector<Credentials>{psk("a"), rpk("b"), oscore("c")}));

  ASSERT_TRUE(store().remove_registration(full_registration().endpoint));
  ASSERT_TRUE(store().remove_observation("o2"));
  ASSERT_TRUE(store().remove_credentials("a"));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), std::vector<Registration>{minimal_registration("b")});
  EXPECT_EQ(observations(store()), std::vector<ObservationRecord>{composite_observation("b")});
  EXPECT_EQ(credentials(store()), (std::vector<Credentials>{rpk("b"), oscore("c")}));
}

TEST_P(StoreContract, SavingAgainReplaces) {
  auto r = minimal_registration("a");
  ASSERT_TRUE(store().save_registration(r));
  r.lifetime = 60;
  ASSERT_TRUE(store().save_registration(r));
  auto o = observation("o1", "a");
  ASSERT_TRUE(store().save_observation(o));
  o.paths.push_back(lwm2m::Path{3, 0, 2});
  ASSERT_TRUE(store().save_observation(o));
  ASSERT_TRUE(store().save_credentials(psk("a")));
  ASSERT_TRUE(store().save_credentials(x509("a", "a.example")));
  EXPECT_EQ(registrations(store()), std::vector<Registration>{r});
  EXPECT_EQ(observations(store()), std::vector<ObservationRecord>{o});
  EXPECT_EQ(credentials(store()), std::vector<Credentials>{x509("a", "a.example")});
}

// Core TS 6.2.2: an Update changes only what it carries; the object list stays unless sent.
TEST_P(StoreContract, AnUpdateRewritesItsFieldsAndKeepsTheObjectList) {
  const auto registered = full_registration();
  auto updated = registered;
  updated.lifetime = 300;
  updated.binding = "T";
  updated.queue_mode = false;
  updated.sms.reset();
  updated.profile_id = "meter";
  updated.transport = "tls";
  updated.address = "[::1]:40999";
  updated.identity = "x509:dev";
  updated.updated_at += 5000;
  // Over a row already written, then over one still pending.
  ASSERT_TRUE(store().save_registration(registered));
  ASSERT_TRUE(store().flush());
  ASSERT_TRUE(store().save_update(updated, false));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), std::vector<Registration>{updated});
  auto other = minimal_registration("b");
  ASSERT_TRUE(store().save_registration(other));
  other.lifetime = 77;
  ASSERT_TRUE(store().save_update(other, false));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), (std::vector<Registration>{other, updated}));
  // With a new object list, the list is written too.
  updated.objects = without_last_object(updated.objects);
  ASSERT_TRUE(store().save_update(updated, true));
  ASSERT_TRUE(store().flush());
  EXPECT_EQ(registrations(store()), (std::vector<Registration>{other, updated}));
}

TEST_P(StoreContract, RemovingARegistrationTakesOnlyItsObservations) {
  ASSERT_TRUE(store().save_registration(minimal_registration("a")));
  ASSERT_TRUE(store().save_registration(minimal_registration("b")));
  ASSERT_TRUE(store().save_observation(observation("a1", "a")));
  ASSERT_TRUE(store().save_observation(observation("b1", "b")));
  ASSERT_TRUE(store().save_credentials(psk("a")));
  ASSERT_TRUE(store().remove_registration("a"));
  EXPECT_EQ(registrations(store()), std::vector<Registration>{minimal_registration("b")});
  EXPECT_EQ(observation_ids(store()), std::vector<std::string>{"b1"});
  EXPECT_EQ(credentials(store()), std::vector<Credentials>{psk("a")});
}

TEST_P(StoreContract, RemovingWhatIsNotThereIsFine) {
  EXPECT_TRUE(store().remove_registration("nobody"));
  EXPECT_TRUE(store().remove_observation("nothing"));
  EXPECT_TRUE(store().remove_credentials("nobody"));
  EXPECT_TRUE(store().flush());
  EXPECT_TRUE(registrations(store()).empty());
  EXPECT_TRUE(observations(store()).empty());
  EXPECT_TRUE(credentials(store()).empty());
}

std::string store_name(const ::testing::TestParamInfo<StoreKind>& param) {
  return param.param == StoreKind::kMemory ? "Memory" : "Sqlite";
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kSqlite), store_name);

}  // namespace
}  // namespace tether::server
