#include "server/store/redis/redis_store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "common/bytes.hpp"
#include "server/store/redis/redis_slots.hpp"
#include "server/store/stored_text.hpp"

namespace tether::server {
namespace {

namespace link_format = lwm2m::format::link_format;
using Command = RedisConnection::Command;

// Raised when a stored record changes shape; a newer one is refused rather than guessed at.
// Version 1 kept each index in one key; version 2 split them by slot (for Redis Cluster);
// version 3 lists the slots whose parts are in use. Older ones are made current at start.
constexpr int kSchemaVersion = 3;
constexpr const char* kSchemaKey = "tether:schema";
constexpr const char* kIds = "tether:ids";      // HASH: registration ID -> endpoint
constexpr const char* kNodes = "tether:nodes";  // SET of node names
// The indexes, one SET per slot (`tether:{TAG}:registrations`), each in the slot of the
// endpoints it lists, so that an endpoint's script writes its index entry too.
constexpr const char* kRegistrations = ":registrations";  // endpoints with a registration
constexpr const char* kObserved = ":observed";            // endpoints with observation records
constexpr const char* kCredentialed = ":credentials";     // endpoints with credentials
constexpr const char* kIndexPrefix = "tether:";
// SET of the slots (decimal) whose index parts may list endpoints: an index is read from
// those parts only. Added to before the parts are written; never shrinks.
constexpr const char* kIndexSlots = "tether:index-slots";

// A node is alive while its key is there: refreshed with every flush (each second), gone
// five seconds after the last.
constexpr std::chrono::milliseconds kBeatEvery{1000};

// Scripts, so that each endpoint's write is atomic and conditional. The "#!lua" line (Redis
// 7) makes Redis refuse a script at its start when over maxmemory; a script without it
// would be refused only at its first write that allocates, after a DEL had run.
enum Script : std::size_t { kPut, kUpdate, kRemove, kClaim, kTake, kReserve };

// Register (or a changed object list): the whole record, and the endpoint indexed. It
// answers the endpoint's previous registration ID and owner when the ID changed, for the
// caller to drop the ID from tether:ids (in a cluster, another slot) and to tell the owner.
// KEYS: reg, registrations. ARGV: endpoint, id, field, value, ...
constexpr const char* kPutScript =
    "#!lua\n"
    "local old = redis.call('hget', KEYS[1], 'id') "
    "local owner = redis.call('hget', KEYS[1], 'owner') "
    "redis.call('del', KEYS[1]) "
    "redis.call('hset', KEYS[1], unpack(ARGV, 3)) "
    "redis.call('sadd', KEYS[2], ARGV[1]) "
    "if old and old ~= ARGV[2] then return {old, owner or ''} end return false";
// Core TS 6.2.2: an Update rewrites its fields only while this node holds that very
// registration, so one removed, registered again or taken by another node meanwhile is not
// overwritten or brought back half made. KEYS: reg. ARGV: id, node, field, value, ...
constexpr const char* kUpdateScript =
    "#!lua\n"
    "if redis.call('hget', KEYS[1], 'id') ~= ARGV[1] then return 0 end "
    "if redis.call('hget', KEYS[1], 'owner') ~= ARGV[2] then return 0 end "
    "redis.call('hdel', KEYS[1], 'sms', 'profile_id') "
    "redis.call('hset', KEYS[1], unpack(ARGV, 3)) return 1";
// De-register or expiry: only by the node that holds the registration, so a node with a
// stale copy (the device moved to another node) cannot end it for the one that serves it.
// KEYS: reg, obs, registrations, observed. ARGV: endpoint, node. It answers the removed
// registration's ID, for the caller to drop from tether:ids. It only frees memory, so it
// may run when Redis is over maxmemory (allow-oom): removals are how memory comes back.
constexpr const char* kRemoveScript =
    "#!lua flags=allow-oom\n"
    "local owner = redis.call('hget', KEYS[1], 'owner') "
    "if owner and owner ~= ARGV[2] then return false end "
    "local id = redis.call('hget', KEYS[1], 'id') "
    "redis.call('del', KEYS[1], KEYS[2]) "
    "redis.call('srem', KEYS[3], ARGV[1]) "
    "redis.call('srem', KEYS[4], ARGV[1]) "
    "return id";

// A dead node's registration becomes this node's, unless another node took it first or
// the node is alive again. KEYS: reg, the dead node's alive key (not in a cluster, where it
// is in another slot: checked just before instead). ARGV: dead node, this node.
constexpr const char* kClaimScript =
    "#!lua\n"
    "if #KEYS > 1 and redis.call('exists', KEYS[2]) == 1 then return 0 end "
    "if redis.call('hget', KEYS[1], 'owner') ~= ARGV[1] then return 0 end "
    "redis.call('hset', KEYS[1], 'owner', ARGV[2]) return 1";
// A registration whose device reached this node becomes this node's, if it is still the
// one the device named. KEYS: reg. ARGV: id, this node.
constexpr const char* kTakeScript =
    "#!lua\n"
    "if redis.call('hget', KEYS[1], 'id') ~= ARGV[1] then return 0 end "
    "redis.call('hset', KEYS[1], 'owner', ARGV[2]) return 1";

// RFC 8613 B.1.1 across nodes: a window of OSCORE Sender Sequence Numbers from past every
// window any node reserved, in one step, so that no two nodes send under the same nonce.
// The bound lives in its own field, which a credentials write leaves alone; the one in
// `json` (what the writer knew) counts too. KEYS: cred. ARGV: from, step. It answers the
// window's first number, or nothing when the endpoint has no OSCORE context.
constexpr const char* kReserveScript =
    "#!lua\n"
    "local ok, j = pcall(cjson.decode, redis.call('hget', KEYS[1], 'json') or '') "
    "if not ok or type(j) ~= 'table' then return false end "
    "if type(j.oscore) == 'table' then j = j.oscore elseif j.mode ~= 'oscore' then return false "
    "end "
    "local start = tonumber(ARGV[1]) "
    "local kept = tonumber(redis.call('hget', KEYS[1], 'sequence_bound') or '0') "
    "if kept > start then start = kept end "
    "if type(j.sequenceBound) == 'number' and j.sequenceBound > start then "
    "start = j.sequenceBound end "
    "redis.call('hset', KEYS[1], 'sequence_bound', string.format('%d', start + tonumber(ARGV[2]))) "
    "return string.format('%d', start)";

std::string random_node_name() {
  std::random_device random;
  return "node-" + std::to_string(random() % 100'000'000);
}

// The fields an Update can change, as HSET arguments after the key.
void add_update_fields(std::vector<std::string>& c, const UpdatedFields& u) {
  const std::string pairs[][2] = {
      {"binding", u.binding},
      {"queue_mode", u.queue_mode ? "1" : "0"},
      {"lifetime", std::to_string(u.lifetime)},
      {"transport", u.transport},
      {"address", u.address},
      {"identity", u.identity},
      {"updated_at", std::to_string(u.updated_at)},
  };
  for (const auto& [field, value] : pairs) {
    c.push_back(field);
    c.push_back(value);
  }
  if (u.sms) {
    c.emplace_back("sms");
    c.push_back(*u.sms);
  }
  if (u.profile_id) {
    c.emplace_back("profile_id");
    c.push_back(*u.profile_id);
  }
}

std::string observation_value(const ObservationRecord& o) {
  nlohmann::json j = {{"registrationId", o.registration_id},
                      {"paths", join_paths(o.paths)},
                      {"composite", o.composite},
                      {"token", to_hex(o.token)},
                      {"createdAt", o.created_at}};
  if (o.accept) j["accept"] = *o.accept;
  if (auto attributes = join_attributes(o.attributes)) j["attributes"] = *attributes;
  // Replace rather than throw on bytes that are not UTF-8 (validated before, but a store
  // write must not end the loop).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// An HGETALL reply's field → value pairs.
class Fields {
 public:
  explicit Fields(const redisReply* r) : reply_(r) {}
  bool empty() const { return reply_->type != REDIS_REPLY_ARRAY || reply_->elements == 0; }
  std::optional<std::string> get(std::string_view field) const {
    if (reply_->type != REDIS_REPLY_ARRAY) return std::nullopt;
    for (std::size_t i = 0; i + 1 < reply_->elements; i += 2) {
      if (reply_text(reply_->element[i]) == field) return reply_text(reply_->element[i + 1]);
    }
    return std::nullopt;
  }
  // A required field; notes the first missing one.
  std::string text(std::string_view field) {
    auto v = get(field);
    if (!v && problem_.empty()) problem_ = "field " + std::string(field) + " is missing";
    return v ? std::move(*v) : std::string();
  }
  std::int64_t integer(std::string_view field, std::int64_t max) {
    const std::string v = text(field);
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if ((ec != std::errc() || end != v.data() + v.size() || n < 0 || n > max) && problem_.empty()) {
      problem_ = "field " + std::string(field) + " is not a number in range";
    }
    return n;
  }
  const std::string& problem() const { return problem_; }

 private:
  const redisReply* reply_;
  std::string problem_;
};

Result<ObservationRecord> parse_observation(const std::string& endpoint, const std::string& id,
                                            const std::string& value) {
  const auto j = nlohmann::json::parse(value, nullptr, false, /*ignore_comments=*/false);
  if (!j.is_object()) return fail("not a JSON object");
  ObservationRecord o;
  o.id = id;
  o.endpoint = endpoint;
  const auto registration_id = j.find("registrationId");
  const auto paths = j.find("paths");
  const auto composite = j.find("composite");
  const auto token = j.find("token");
  const auto created_at = j.find("createdAt");
  if (registration_id == j.end() || !registration_id->is_string() || paths == j.end() ||
      !paths->is_string() || composite == j.end() || !composite->is_boolean() || token == j.end() ||
      !token->is_string() || created_at == j.end() || !created_at->is_number_integer()) {
    return fail("a field is missing or of the wrong type");
  }
  o.registration_id = registration_id->get<std::string>();
  auto parsed_paths = split_paths(paths->get<std::string>());
  if (!parsed_paths) return parsed_paths.error();
  o.paths = std::move(*parsed_paths);
  o.composite = composite->get<bool>();
  auto parsed_token = from_hex(token->get<std::string>());
  if (!parsed_token) return fail("token: " + parsed_token.error().reason);
  o.token = std::move(*parsed_token);
  o.created_at = created_at->get<std::int64_t>();
  if (const auto accept = j.find("accept"); accept != j.end()) {
    if (!accept->is_number_unsigned() ||
        accept->get<std::uint64_t>() > std::numeric_limits<std::uint16_t>::max()) {
      return fail("accept out of range");
    }
    o.accept = accept->get<std::uint16_t>();
  }
  std::optional<std::string> attributes_text;
  if (const auto attributes = j.find("attributes"); attributes != j.end()) {
    if (!attributes->is_string()) return fail("attributes is not text");
    attributes_text = attributes->get<std::string>();
  }
  auto attributes = split_attributes(attributes_text);
  if (!attributes) return attributes.error();
  o.attributes = std::move(*attributes);
  return o;
}

Result<Registration> parse_registration(const std::string& endpoint, const redisReply* reply) {
  Fields f(reply);
  Registration r;
  r.endpoint = endpoint;
  r.id = f.text("id");
  r.version = f.text("version");
  r.binding = f.text("binding");
  r.queue_mode = f.integer("queue_mode", 1) == 1;
  r.lifetime =
      static_cast<std::uint32_t>(f.integer("lifetime", std::numeric_limits<std::uint32_t>::max()));
  r.sms = f.get("sms");
  r.profile_id = f.get("profile_id");
  const std::string objects = f.text("objects");
  r.transport = f.text("transport");
  r.address = f.text("address");
  r.registered_at = f.integer("registered_at", std::numeric_limits<std::int64_t>::max());
  r.updated_at = f.integer("updated_at", std::numeric_limits<std::int64_t>::max());
  r.identity = f.text("identity");
  if (!f.problem().empty()) return fail(f.problem());
  auto payload = link_format::parse_registration(objects);
  if (!payload) return fail("objects: " + payload.error().reason);
  r.objects = std::move(*payload);
  return r;
}

}  // namespace

RedisStore::RedisStore(Address address, Options options)
    : redis_(std::move(address), options.timeout,
             {kPutScript, kUpdateScript, kRemoveScript, kClaimScript, kTakeScript, kReserveScript}),
      options_(std::move(options)),
      node_(options_.node),
      healthy_since_(std::chrono::steady_clock::now()) {
  if (options_.node.empty()) options_.node = random_node_name();
}

Result<std::unique_ptr<RedisStore>> RedisStore::open(Address address, Options options) {
  std::unique_ptr<RedisStore> store(new RedisStore(std::move(address), std::move(options)));
  if (auto ok = store->redis_.connect(); !ok) return ok.error();
  if (auto ok = store->check_schema(); !ok) return ok.error();
  return store;
}

RedisStore::~RedisStore() {
  // Whoever would be told (the node routing) may be gone already.
  on_replaced_ = nullptr;
  (void)flush();
}

Error RedisStore::error(const std::string& what, const std::string& why) const {
  return redis_.error(what, why);
}

std::string RedisStore::key(std::string_view endpoint, std::string_view kind) const {
  std::string k = "tether:{";
  // A name starting with '}' would leave the hash tag empty, and Redis would hash each of
  // its keys whole, into different slots: such a name gets a \x01 first (no endpoint name
  // holds a control character), so that its keys share that byte's slot.
  if (endpoint.empty() || endpoint.front() == '}') k.push_back('\x01');
  k.append(endpoint).append("}:").append(kind);
  return k;
}

std::string RedisStore::alive_key(std::string_view node) const {
  return "tether:node:{" + std::string(node) + "}:alive";
}

std::string RedisStore::index_key(std::string_view endpoint, const char* index) const {
  return key_in_slot_of(key(endpoint, "reg"), kIndexPrefix, index);
}

Result<std::vector<std::string>> RedisStore::members(const char* index, const char* what) {
  auto slots = redis_.run_one({"SMEMBERS", kIndexSlots}, what);
  if (!slots) return slots.error();
  std::vector<Command> reads;
  for (const auto& text : reply_texts(slots->get())) {
    std::uint16_t slot = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), slot);
    if (ec != std::errc() || end != text.data() + text.size() || slot >= kRedisSlots) continue;
    reads.push_back({"SMEMBERS", key_in_slot(slot, kIndexPrefix, index)});
  }
  auto replies = redis_.run(reads, what);
  if (!replies) return replies.error();
  std::vector<std::string> out;
  for (const auto& reply : *replies) {
    auto some = reply_texts(reply.get());
    std::move(some.begin(), some.end(), std::back_inserter(out));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Version 1 to 2: each index set is split into the per-slot sets. Every step only adds
// what is there, so nodes starting together may both run it; it runs at every start, so
// what a version-1 node still running added since is split too.
Result<Ok> RedisStore::split_indexes(bool set_version) {
  const char* what = "making schema version 2";
  for (const char* index : {kRegistrations, kObserved, kCredentialed}) {
    const std::string old = std::string("tether") + index;
    auto all = redis_.run_one({"SMEMBERS", old}, what);
    if (!all) return all.error();
    std::vector<Command> adds;
    for (const auto& endpoint : reply_texts(all->get())) {
      adds.push_back({"SADD", index_key(endpoint, index), endpoint});
    }
    if (adds.empty()) continue;
    std::vector<std::string> endpoints;
    for (const auto& add : adds) endpoints.push_back(add.back());
    if (auto hinted = hint_slots(endpoints); !hinted) return hinted.error();
    // Deleted only once every part took its members (in a cluster, on several primaries).
    if (auto added = redis_.run(adds, what); !added) return added.error();
    if (auto gone = redis_.run_one({"DEL", old}, what); !gone) return gone.error();
  }
  if (!set_version) return Ok{};
  if (auto listed = list_used_slots(); !listed) return listed.error();
  auto set = redis_.run_one({"SET", kSchemaKey, std::to_string(kSchemaVersion)}, "schema");
  if (!set) return set.error();
  return Ok{};
}

Result<Ok> RedisStore::check_schema() {
  auto set = redis_.run_one({"SET", kSchemaKey, std::to_string(kSchemaVersion), "NX"}, "schema");
  if (!set) return set.error();
  auto got = redis_.run_one({"GET", kSchemaKey}, "reading the schema version");
  if (!got) return got.error();
  const std::string text = reply_text(got->get());
  int version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return error("reading the schema version", kSchemaKey + std::string(" is not a number"));
  }
  if (version > kSchemaVersion) {
    return error("schema", "version " + text + " is newer than this build's (" +
                               std::to_string(kSchemaVersion) + ")");
  }
  return split_indexes(version < kSchemaVersion);
}

// Version 2 to 3: the slots whose parts exist, found by looking at every slot once.
Result<Ok> RedisStore::list_used_slots() {
  std::vector<Command> checks;
  checks.reserve(kRedisSlots);
  for (std::uint16_t slot = 0; slot < kRedisSlots; ++slot) {
    checks.push_back({"EXISTS", key_in_slot(slot, kIndexPrefix, kRegistrations),
                      key_in_slot(slot, kIndexPrefix, kObserved),
                      key_in_slot(slot, kIndexPrefix, kCredentialed)});
  }
  auto exist = redis_.run(checks, "making schema version 3");
  if (!exist) return exist.error();
  Command add = {"SADD", kIndexSlots};
  for (std::uint16_t slot = 0; slot < kRedisSlots; ++slot) {
    const redisReply* r = (*exist)[slot].get();
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) add.push_back(std::to_string(slot));
  }
  if (add.size() == 2) return Ok{};
  auto added = redis_.run_one(std::move(add), "making schema version 3");
  if (!added) return added.error();
  return Ok{};
}

// Before an index part of a slot is written, the slot is listed (once per slot and run of
// this node), so that a part is never written where members() would not look.
Result<Ok> RedisStore::hint_slots(const std::vector<std::string>& endpoints) {
  Command add = {"SADD", kIndexSlots};
  std::vector<std::uint16_t> slots;
  for (const auto& endpoint : endpoints) {
    const std::uint16_t slot = key_slot(key(endpoint, "reg"));
    if (hinted_[slot] || std::find(slots.begin(), slots.end(), slot) != slots.end()) continue;
    slots.push_back(slot);
    add.push_back(std::to_string(slot));
  }
  if (slots.empty()) return Ok{};
  auto added = redis_.run_one(std::move(add), "writing");
  if (!added) return added.error();
  for (const auto slot : slots) hinted_[slot] = true;
  return Ok{};
  return Ok{};
}

Result<Ok> RedisStore::flush() {
  const auto now = std::chrono::steady_clock::now();
  const bool beat = now - last_beat_ >= kBeatEvery;
  if (pending_.empty() && !beat) return Ok{};
  // A second try only when the first found a connection that was up gone (Redis
  // restarted, or a failover): the new connection loads the scripts again. With Redis
  // away, one try a flush, each bounded by the timeout.
  const bool was_connected = redis_.connected();
  Result<Ok> written = write_pending(beat);
  if (!written && was_connected && !redis_.connected()) written = write_pending(beat);
  // On failure everything stays pending: each write sets a state, so sending it again is
  // harmless, and an endpoint's write is one script or transaction, never half applied.
  if (!written) {
    healthy_since_ = now;
    return written;
  }
  pending_.clear();
  if (beat) last_beat_ = now;
  return written;
}

Result<Ok> RedisStore::write_pending(bool beat) {
  // A connection to make again: Redis may have restarted without its data, and with it
  // tether:index-slots; the slots are listed again as they are written.
  if (!redis_.connected()) hinted_.reset();
  std::vector<std::string> indexed;  // endpoints whose index parts are added to below
  for (const auto& [id, pending] : pending_.observations()) {
    if (pending.record) indexed.push_back(pending.endpoint);
  }
  for (const auto& [endpoint, pending] : pending_.registrations()) {
    if (pending) indexed.push_back(endpoint);
  }
  for (const auto& [endpoint, pending] : pending_.credentials()) {
    if (pending) indexed.push_back(endpoint);
  }
  if (auto hinted = hint_slots(indexed); !hinted) return hinted.error();
  std::vector<Command> c;
  // Scripts whose answer is a registration ID to drop from tether:ids (kPut's: with the
  // owner it had, and the endpoint).
  std::vector<std::size_t> dropping;
  std::vector<std::pair<std::size_t, std::string>> putting;
  for (const auto& id : stale_ids_) c.push_back({"HDEL", kIds, id});
  if (beat) {
    c.push_back({"SET", alive_key(node_), node_, "PX", std::to_string(options_.alive_for.count())});
    c.push_back({"SADD", kNodes, node_});
  }
  // Removals first: they stand for records stored before any pending change.
  for (const auto& [endpoint, seq] : pending_.sweeps()) {
    dropping.push_back(c.size());
    c.push_back({"EVALSHA", redis_.script(kRemove), "4", key(endpoint, "reg"), key(endpoint, "obs"),
                 index_key(endpoint, kRegistrations), index_key(endpoint, kObserved), endpoint,
                 node_});
  }
  for (const auto& [id, pending] : pending_.observations()) {
    const std::string obs = key(pending.endpoint, "obs");
    if (!pending.record || pending_.swept(pending)) {
      c.push_back({"HDEL", obs, id});
      continue;
    }
    c.push_back({"HSET", obs, id, observation_value(*pending.record)});
    c.push_back({"SADD", index_key(pending.endpoint, kObserved), pending.endpoint});
  }
  for (const auto& [endpoint, pending] : pending_.registrations()) {
    if (!pending) continue;  // removed above
    const Registration& r = *pending;
    putting.emplace_back(c.size(), endpoint);
    Command put = {"EVALSHA",
                   redis_.script(kPut),
                   "2",
                   key(endpoint, "reg"),
                   index_key(endpoint, kRegistrations),
                   endpoint,
                   r.id,
                   "id",
                   r.id,
                   "version",
                   r.version,
                   "objects",
                   link_format::serialize_registration(*r.objects),
                   "registered_at",
                   std::to_string(r.registered_at),
                   "owner",
                   node_};
    add_update_fields(put, UpdatedFields::of(r));
    c.push_back(std::move(put));
    // Written after the record: an ID found here always leads to a record to check.
    c.push_back({"HSET", kIds, r.id, endpoint});
  }
  for (const auto& [endpoint, u] : pending_.updates()) {
    Command update = {"EVALSHA", redis_.script(kUpdate), "1", key(endpoint, "reg"), u.id, node_};
    add_update_fields(update, u);
    c.push_back(std::move(update));
  }
  for (const auto& [endpoint, pending] : pending_.credentials()) {
    const std::string cred = key(endpoint, "cred");
    if (!pending) {
      c.push_back({"DEL", cred});
      c.push_back({"SREM", index_key(endpoint, kCredentialed), endpoint});
      continue;
    }
    const Credentials& k = *pending;
    // Every field but the reserved sequence bound (kReserveScript), which only grows.
    c.push_back({"HSET", cred, "kind", credentials_kind_name(k.kind), "psk_identity",
                 k.psk_identity, "psk_key", std::string(k.psk_key.begin(), k.psk_key.end()),
                 "public_key", std::string(k.public_key.begin(), k.public_key.end()),
                 "x509_common_name", k.x509_common_name, "json", credentials_json_part(k)});
    c.push_back({"SADD", index_key(endpoint, kCredentialed), endpoint});
  }
  auto replies = redis_.run(c, "writing");
  if (!replies) return replies.error();
  stale_ids_.clear();
  for (const std::size_t i : dropping) {
    if ((*replies)[i]->type == REDIS_REPLY_STRING)
      stale_ids_.push_back(reply_text((*replies)[i].get()));
  }
  // Registrations a Register here replaced: another node's is told after this flush.
  std::vector<std::array<std::string, 3>> replaced;
  for (const auto& [i, endpoint] : putting) {
    const redisReply* r = (*replies)[i].get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) continue;
    if (r->element[0]->type != REDIS_REPLY_STRING) continue;
    const std::string old_id = reply_text(r->element[0]);
    stale_ids_.push_back(old_id);
    const std::string owner =
        r->element[1]->type == REDIS_REPLY_STRING ? reply_text(r->element[1]) : std::string();
    if (!owner.empty() && owner != node_) replaced.push_back({endpoint, old_id, owner});
  }
  if (on_replaced_) {
    for (const auto& [endpoint, id, owner] : replaced) on_replaced_(endpoint, id, owner);
  }
  for (const auto& r : *replies) {
    // An EXEC answers the replies of its commands: one of them may have been refused.
    if (r->type != REDIS_REPLY_ARRAY) continue;
    for (std::size_t i = 0; i < r->elements; ++i) {
      if (r->element[i]->type == REDIS_REPLY_ERROR) {
        return error("writing", reply_text(r->element[i]));
      }
    }
  }
  // The IDs replaced or removed leave tether:ids; one that fails now goes with the next flush.
  if (stale_ids_.empty()) return Ok{};
  std::vector<Command> drops;
  for (const auto& id : stale_ids_) drops.push_back({"HDEL", kIds, id});
  if (redis_.run(drops, "writing")) stale_ids_.clear();
  return Ok{};
}

// The other nodes whose heartbeat key is gone.
Result<std::set<std::string>> RedisStore::dead_nodes() {
  auto members = redis_.run_one({"SMEMBERS", kNodes}, "reading the nodes");
  if (!members) return members.error();
  auto nodes = reply_texts(members->get());
  std::erase(nodes, node_);
  std::vector<Command> checks;
  for (const auto& n : nodes) checks.push_back({"EXISTS", alive_key(n)});
  auto alive = redis_.run(checks, "reading the nodes");
  if (!alive) return alive.error();
  std::set<std::string> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if ((*alive)[i]->type == REDIS_REPLY_INTEGER && (*alive)[i]->integer == 0) out.insert(nodes[i]);
  }
  return out;
}

bool RedisStore::held_elsewhere(const std::string& owner) const {
  return !owner.empty() && owner != node_;
}

Result<std::vector<std::pair<std::string, RedisConnection::Reply>>> RedisStore::load_all(
    const char* index, const char* kind, const char* what) {
  if (auto ok = flush(); !ok) return ok.error();
  auto listed = members(index, what);
  if (!listed) return listed.error();
  std::vector<std::string>& endpoints = *listed;
  std::vector<Command> gets;
  gets.reserve(endpoints.size());
  for (const auto& endpoint : endpoints) gets.push_back({"HGETALL", key(endpoint, kind)});
  auto replies = redis_.run(gets, what);
  if (!replies) return replies.error();
  std::vector<std::pair<std::string, RedisConnection::Reply>> out;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    // A member whose record has gone (removed meanwhile) is skipped.
    if (Fields((*replies)[i].get()).empty()) continue;
    out.emplace_back(std::move(endpoints[i]), std::move((*replies)[i]));
  }
  return out;
}

// At start a node takes its own registrations; a dead node's come through claim_orphans()
// (with its wait after an outage), another live node's stay with it.
Result<std::vector<Registration>> RedisStore::load_registrations() {
  auto all = load_all(kRegistrations, "reg", "reading registrations");
  if (!all) return all.error();
  std::vector<Registration> out;
  out.reserve(all->size());
  for (const auto& [endpoint, reply] : *all) {
    if (held_elsewhere(Fields(reply.get()).get("owner").value_or(""))) continue;
    auto r = parse_registration(endpoint, reply.get());
    if (!r) return error("reading registrations", key(endpoint, "reg") + ": " + r.error().reason);
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<ObservationRecord>> RedisStore::load_observations() {
  auto all = load_all(kObserved, "obs", "reading observations");
  if (!all) return all.error();
  std::vector<Command> owners;
  for (const auto& entry : *all) owners.push_back({"HGET", key(entry.first, "reg"), "owner"});
  auto owner = redis_.run(owners, "reading observations");
  if (!owner) return owner.error();
  std::vector<ObservationRecord> out;
  for (std::size_t e = 0; e < all->size(); ++e) {
    const auto& [endpoint, reply] = (*all)[e];
    if (held_elsewhere(reply_text((*owner)[e].get()))) continue;
    auto records = parse_observations(endpoint, reply.get());
    if (!records) return records.error();
    std::move(records->begin(), records->end(), std::back_inserter(out));
  }
  std::sort(out.begin(), out.end(),
            [](const ObservationRecord& a, const ObservationRecord& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<ObservationRecord>> RedisStore::parse_observations(
    const std::string& endpoint, const redisReply* reply) const {
  std::vector<ObservationRecord> out;
  for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
    const std::string id = reply_text(reply->element[i]);
    auto o = parse_observation(endpoint, id, reply_text(reply->element[i + 1]));
    if (!o) {
      return error("reading observations",
                   key(endpoint, "obs") + " '" + id + "': " + o.error().reason);
    }
    out.push_back(std::move(*o));
  }
  return out;
}

Result<std::vector<std::optional<ServerStore::Found>>> RedisStore::fetch(
    const std::vector<std::string>& endpoints, const char* what) {
  std::vector<Command> gets;
  for (const auto& endpoint : endpoints) {
    gets.push_back({"HGETALL", key(endpoint, "reg")});
    gets.push_back({"HGETALL", key(endpoint, "obs")});
  }
  auto records = redis_.run(gets, what);
  if (!records) return records.error();
  std::vector<std::optional<Found>> out;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const redisReply* reg = (*records)[2 * i].get();
    if (Fields(reg).empty()) {
      out.emplace_back();
      continue;
    }
    auto r = parse_registration(endpoints[i], reg);
    if (!r) return error(what, key(endpoints[i], "reg") + ": " + r.error().reason);
    auto observations = parse_observations(endpoints[i], (*records)[2 * i + 1].get());
    if (!observations) return observations.error();
    out.push_back(
        Found{std::move(*r), std::move(*observations), Fields(reg).get("owner").value_or("")});
  }
  return out;
}

Result<std::optional<ServerStore::Found>> RedisStore::find_registration(const std::string& id) {
  if (auto ok = flush(); !ok) return ok.error();
  auto endpoint = redis_.run_one({"HGET", kIds, id}, "finding a registration");
  if (!endpoint) return endpoint.error();
  if ((*endpoint)->type != REDIS_REPLY_STRING) return std::optional<Found>{};
  auto found = fetch({reply_text(endpoint->get())}, "finding a registration");
  if (!found) return found.error();
  // The index may lag a Register again under a new ID.
  if (!found->front() || found->front()->registration.id != id) return std::optional<Found>{};
  return std::move(found->front());
}

Result<Bytes> RedisStore::shared_secret(std::string_view name, const Bytes& candidate) {
  const std::string where = "tether:secret:" + std::string(name);
  auto replies = redis_.run(
      {{"SET", where, std::string(candidate.begin(), candidate.end()), "NX"}, {"GET", where}},
      "sharing a secret");
  if (!replies) return replies.error();
  const redisReply* stored = (*replies)[1].get();
  if (stored->type != REDIS_REPLY_STRING) return error("sharing a secret", where + " is not set");
  return Bytes(stored->str, stored->str + stored->len);
}

Result<std::optional<std::string>> RedisStore::owner_of(const std::string& endpoint) {
  auto owner = redis_.run_one({"HGET", key(endpoint, "reg"), "owner"}, "finding a client's node");
  if (!owner) return owner.error();
  if ((*owner)->type != REDIS_REPLY_STRING || (*owner)->len == 0) {
    return std::optional<std::string>{};
  }
  return std::optional<std::string>(reply_text(owner->get()));
}

// Taken at once, not at the next flush: from here the old owner can neither remove nor
// update it, and no node claiming orphans can take it too.
Result<bool> RedisStore::take_registration(const Registration& registration) {
  auto taken = redis_.run_one({"EVALSHA", redis_.script(kTake), "1",
                               key(registration.endpoint, "reg"), registration.id, node_},
                              "taking a registration over");
  if (!taken) return taken.error();
  return (*taken)->type == REDIS_REPLY_INTEGER && (*taken)->integer == 1;
}

// A node is dead once its heartbeat key is gone. Its registrations are claimed one by one
// (a compare-and-set on the owner that also checks the node is still dead, so two nodes
// sweeping at once never both take one), in slices within a time budget per call, then
// the node leaves tether:nodes so that the sweep happens once.
Result<std::vector<ServerStore::Found>> RedisStore::claim_orphans() {
  std::vector<Found> out;
  if (auto ok = flush(); !ok) return ok.error();
  const auto start = std::chrono::steady_clock::now();
  if (start - healthy_since_ < options_.claim_after) return out;
  const char* what = "claiming a dead node's registrations";
  // Claimed by an earlier call whose reading of the records failed: read once more (if
  // that fails too they wait for their devices, whose next request takes them over).
  if (!unfetched_.empty()) {
    auto found = fetch(unfetched_, what);
    unfetched_.clear();
    if (!found) return found.error();
    for (auto& f : *found) {
      if (f) out.push_back(std::move(*f));
    }
  }
  // Checked again at each call: a node may come back while its registrations are claimed.
  auto dead = dead_nodes();
  if (!dead) return dead.error();
  if (claim_queue_.empty()) {
    if (dead->empty()) return out;
    auto all = members(kRegistrations, what);
    if (!all) return all.error();
    claim_queue_ = std::move(*all);
    claim_dead_ = std::move(*dead);
  } else {
    std::erase_if(claim_dead_, [&](const std::string& n) { return !dead->contains(n); });
    if (claim_dead_.empty()) claim_queue_.clear();
  }
  bool first = true;
  do {
    // In a cluster the claim script cannot see the heartbeat key (another slot): it is
    // looked at before each slice instead.
    if (!first && redis_.clustered()) {
      if (auto ok = drop_living(); !ok) {
        return out.empty() ? Result<std::vector<Found>>(ok.error()) : out;
      }
      if (claim_queue_.empty()) return out;
    }
    first = false;
    const std::size_t n =
        std::min(claim_queue_.size(), std::max<std::size_t>(1, options_.claim_slice));
    const std::vector<std::string> slice(claim_queue_.end() - static_cast<std::ptrdiff_t>(n),
                                         claim_queue_.end());
    auto claimed = claim_some(slice, what);
    // What earlier slices claimed is this node's now: handed over even if this one failed.
    if (!claimed) return out.empty() ? Result<std::vector<Found>>(claimed.error()) : out;
    claim_queue_.resize(claim_queue_.size() - n);
    std::move(claimed->begin(), claimed->end(), std::back_inserter(out));
  } while (!claim_queue_.empty() &&
           std::chrono::steady_clock::now() - start < options_.claim_budget);
  if (!claim_queue_.empty()) return out;
  std::vector<Command> gone;
  for (const auto& n : claim_dead_) gone.push_back({"SREM", kNodes, n});
  claim_dead_.clear();
  if (auto removed = redis_.run(gone, what); !removed) return removed.error();
  return out;
}

Result<std::vector<ServerStore::Found>> RedisStore::claim_some(
    const std::vector<std::string>& endpoints, const char* what) {
  const std::set<std::string>& dead = claim_dead_;
  std::vector<Found> out;
  std::vector<Command> owners;
  for (const auto& e : endpoints) owners.push_back({"HGET", key(e, "reg"), "owner"});
  auto owner = redis_.run(owners, what);
  if (!owner) return owner.error();
  std::vector<std::string> orphans;
  std::vector<Command> claims;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const std::string o = reply_text((*owner)[i].get());
    if (!dead.contains(o)) continue;
    orphans.push_back(endpoints[i]);
    // In a cluster the heartbeat key is in another slot: dead_nodes() checked it at the
    // start of this call.
    Command claim = {
        "EVALSHA", redis_.script(kClaim), "2", key(endpoints[i], "reg"), alive_key(o), o, node_};
    if (redis_.clustered()) {
      claim[2] = "1";
      claim.erase(claim.begin() + 4);
    }
    claims.push_back(std::move(claim));
  }
  auto claimed = redis_.run(claims, what);
  if (!claimed) return claimed.error();
  std::vector<std::string> ours;
  for (std::size_t i = 0; i < orphans.size(); ++i) {
    if ((*claimed)[i]->type == REDIS_REPLY_INTEGER && (*claimed)[i]->integer == 1) {
      ours.push_back(orphans[i]);
    }
  }
  auto found = fetch(ours, what);
  if (!found) {
    unfetched_ = std::move(ours);  // claimed: read at the next call
    return found.error();
  }
  for (auto& f : *found) {
    if (f) out.push_back(std::move(*f));
  }
  return out;
}

// The nodes being claimed from whose heartbeat is back leave claim_dead_ (and with none
// left, the claim ends).
Result<Ok> RedisStore::drop_living() {
  const std::vector<std::string> nodes(claim_dead_.begin(), claim_dead_.end());
  std::vector<Command> checks;
  for (const auto& n : nodes) checks.push_back({"EXISTS", alive_key(n)});
  auto alive = redis_.run(checks, "claiming a dead node's registrations");
  if (!alive) return alive.error();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if ((*alive)[i]->type == REDIS_REPLY_INTEGER && (*alive)[i]->integer != 0) {
      claim_dead_.erase(nodes[i]);
    }
  }
  if (claim_dead_.empty()) claim_queue_.clear();
  return Ok{};
}

Result<Credentials> RedisStore::parse_credentials(const std::string& endpoint,
                                                  const redisReply* reply) const {
  Fields f(reply);
  Credentials c;
  c.endpoint = endpoint;
  const std::string kind = f.text("kind");
  c.psk_identity = f.text("psk_identity");
  const std::string psk_key = f.text("psk_key");
  const std::string public_key = f.text("public_key");
  c.x509_common_name = f.text("x509_common_name");
  const std::string json = f.text("json");
  const std::string where = key(endpoint, "cred");
  if (!f.problem().empty()) return error("reading credentials", where + ": " + f.problem());
  const auto parsed_kind = credentials_kind_from(kind);
  if (!parsed_kind) return error("reading credentials", where + ": unknown kind '" + kind + "'");
  c.kind = *parsed_kind;
  c.psk_key.assign(psk_key.begin(), psk_key.end());
  c.public_key.assign(public_key.begin(), public_key.end());
  if (auto merged = merge_credentials_json_part(c, json); !merged) {
    return error("reading credentials", where + ": " + merged.error().reason);
  }
  if (c.has_oscore()) {
    if (auto reserved = f.get("sequence_bound")) {
      std::uint64_t bound = 0;
      const auto [end, ec] =
          std::from_chars(reserved->data(), reserved->data() + reserved->size(), bound);
      if (ec != std::errc() || end != reserved->data() + reserved->size()) {
        return error("reading credentials", where + ": sequence_bound is not a number");
      }
      c.oscore.sequence_bound = std::max(c.oscore.sequence_bound, bound);
    }
  }
  return c;
}

Result<std::uint64_t> RedisStore::reserve_sequences(const std::string& endpoint, std::uint64_t from,
                                                    std::uint64_t step) {
  // Credentials of this endpoint written just before go first; nothing else waits on it.
  if (pending_.credentials().contains(endpoint)) {
    if (auto ok = flush(); !ok) return ok.error();
  }
  auto reply = redis_.run_one({"EVALSHA", redis_.script(kReserve), "1", key(endpoint, "cred"),
                               std::to_string(from), std::to_string(step)},
                              "reserving OSCORE sequence numbers");
  if (!reply) return reply.error();
  if ((*reply)->type != REDIS_REPLY_STRING) return fail("no OSCORE credentials for " + endpoint);
  const std::string text = reply_text(reply->get());
  std::uint64_t start = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), start);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail("reserving OSCORE sequence numbers: Redis answered " + text);
  }
  return start;
}

Result<std::vector<Credentials>> RedisStore::load_credentials() {
  auto all = load_all(kCredentialed, "cred", "reading credentials");
  if (!all) return all.error();
  std::vector<Credentials> out;
  for (const auto& [endpoint, reply] : *all) {
    auto c = parse_credentials(endpoint, reply.get());
    if (!c) return c.error();
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::optional<Credentials>> RedisStore::load_credentials_of(const std::string& endpoint) {
  if (auto ok = flush(); !ok) return ok.error();
  auto reply = redis_.run_one({"HGETALL", key(endpoint, "cred")}, "reading credentials");
  if (!reply) return reply.error();
  if (Fields(reply->get()).empty()) return std::optional<Credentials>{};
  auto c = parse_credentials(endpoint, reply->get());
  if (!c) return c.error();
  return std::optional<Credentials>(std::move(*c));
}

}  // namespace tether::server
