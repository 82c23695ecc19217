#include "server/store/redis/redis_store.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "common/bytes.hpp"
#include "server/store/stored_text.hpp"

namespace tether::server {
namespace {

namespace link_format = lwm2m::format::link_format;

// Raised when a stored record changes shape; a newer one is refused rather than guessed at.
constexpr int kSchemaVersion = 1;
constexpr const char* kSchemaKey = "tether:schema";
constexpr const char* kRegistrations = "tether:registrations";  // SET of endpoints
constexpr const char* kObserved = "tether:observed";            // SET: endpoints with records
constexpr const char* kCredentialed = "tether:credentials";     // SET of endpoints

// Replies are read after this many commands are written, so a large flush neither holds
// every command in one buffer nor waits on one huge read.
constexpr std::size_t kBatch = 1024;

// Core TS 6.2.2: an Update rewrites its fields only while the registration is there, so a
// registration removed meanwhile (by this node or another) is not brought back half made.
constexpr const char* kUpdateScript =
    "if redis.call('exists', KEYS[1]) == 0 then return 0 end "
    "redis.call('hdel', KEYS[1], 'sms', 'profile_id') "
    "redis.call('hset', KEYS[1], unpack(ARGV)) return 1";

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

bool is_error(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_ERROR;
}

std::string reply_text(const redisReply* r) {
  return r->str != nullptr ? std::string(r->str, r->len) : std::string();
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

}  // namespace

void RedisStore::FreeContext::operator()(redisContext* context) const {
  redisFree(context);
}

void RedisStore::FreeReply::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

std::string RedisStore::Address::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::to_string(database);
}

Result<RedisStore::Address> RedisStore::parse_url(std::string_view url) {
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
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("redis URL: unclosed '[' in the host");
    a.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (rest.starts_with(':'))
      port = rest.substr(1);
    else if (!rest.empty())
      return fail("redis URL: text after the host's ']'");
  } else {
    const auto colon = rest.find(':');
    a.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (a.host.empty()) return fail("redis URL: no host");
  auto number = [](std::string_view text, long max, long& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && out >= 0 && out <= max;
  };
  long n = 0;
  if (!port.empty()) {
    if (!number(port, 65535, n) || n == 0) return fail("redis URL: bad port");
    a.port = static_cast<std::uint16_t>(n);
  }
  if (!database.empty()) {
    if (!number(database, 1'000'000, n)) return fail("redis URL: bad database number");
    a.database = static_cast<int>(n);
  }
  return a;
}

RedisStore::RedisStore(Address address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

Result<std::unique_ptr<RedisStore>> RedisStore::open(Address address,
                                                     std::chrono::milliseconds timeout) {
  std::unique_ptr<RedisStore> store(new RedisStore(std::move(address), timeout));
  if (auto ok = store->connect(); !ok) return ok.error();
  if (auto ok = store->check_schema(); !ok) return ok.error();
  return store;
}

RedisStore::~RedisStore() {
  (void)flush();
}

Error RedisStore::error(const std::string& what, const std::string& why) const {
  return fail("redis store " + address_.text() + ": " + what + ": " + why);
}

std::string RedisStore::key(std::string_view endpoint, std::string_view kind) const {
  std::string k = "tether:{";
  k.append(endpoint).append("}:").append(kind);
  return k;
}

Result<Ok> RedisStore::connect() {
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
  hello.push_back({"SCRIPT", "LOAD", kUpdateScript});
  auto replies = run(hello, "connecting");
  if (!replies) {
    context_.reset();
    return replies.error();
  }
  update_script_sha_ = reply_text(replies->back().get());
  return Ok{};
}

Result<Ok> RedisStore::check_schema() {
  auto set = run_one({"SET", kSchemaKey, std::to_string(kSchemaVersion), "NX"}, "schema");
  if (!set) return set.error();
  auto got = run_one({"GET", kSchemaKey}, "reading the schema version");
  if (!got) return got.error();
  const std::string text = (*got)->type == REDIS_REPLY_STRING ? reply_text(got->get()) : "";
  int version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return error("reading the schema version", kSchemaKey + std::string(" is not a number"));
  }
  if (version > kSchemaVersion) {
    return error("schema", "version " + text + " is newer than this build's (" +
                               std::to_string(kSchemaVersion) + ")");
  }
  return Ok{};
}

Result<std::vector<RedisStore::Reply>> RedisStore::run(const std::vector<Command>& commands,
                                                       const char* what) {
  if (!context_) {
    if (auto ok = connect(); !ok) return ok.error();
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  std::optional<Error> refused;
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
      if (is_error(reply.get()) && !refused) {
        const std::string why = reply_text(reply.get());
        if (why.starts_with("NOSCRIPT")) update_script_sha_.clear();
        refused = error(what, why);
      }
      replies.push_back(std::move(reply));
    }
  }
  if (refused) return *refused;
  return replies;
}

Result<RedisStore::Reply> RedisStore::run_one(Command command, const char* what) {
  std::vector<Command> one;
  one.push_back(std::move(command));
  auto replies = run(one, what);
  if (!replies) return replies.error();
  return std::move(replies->front());
}

Result<Ok> RedisStore::flush() {
  if (pending_.empty()) return Ok{};
  Result<Ok> written = Ok{};
  // A second try only when the first found the connection gone (Redis restarted, or a
  // failover): the new connection loads the update script again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!context_ || update_script_sha_.empty()) {
      if (auto ok = connect(); !ok) return ok;
    }
    written = write_pending();
    if (written || context_) break;
  }
  // On failure everything stays pending: each write sets a state, so sending it again is
  // harmless, and an endpoint's write is one transaction, never half applied.
  if (written) pending_.clear();
  return written;
}

Result<Ok> RedisStore::write_pending() {
  std::vector<Command> c;
  // Sweeps first: they stand for removals of records stored before any pending change.
  for (const auto& [endpoint, seq] : pending_.sweeps()) {
    c.push_back({"DEL", key(endpoint, "obs")});
    c.push_back({"SREM", kObserved, endpoint});
  }
  for (const auto& [id, pending] : pending_.observations()) {
    const std::string obs = key(pending.endpoint, "obs");
    if (!pending.record || pending_.swept(pending)) {
      c.push_back({"HDEL", obs, id});
      continue;
    }
    c.push_back({"HSET", obs, id, observation_value(*pending.record)});
    c.push_back({"SADD", kObserved, pending.endpoint});
  }
  for (const auto& [endpoint, pending] : pending_.registrations()) {
    const std::string reg = key(endpoint, "reg");
    if (!pending) {
      c.push_back({"DEL", reg});
      c.push_back({"SREM", kRegistrations, endpoint});
      continue;
    }
    const Registration& r = *pending;
    Command hset = {"HSET",
                    reg,
                    "id",
                    r.id,
                    "version",
                    r.version,
                    "objects",
                    link_format::serialize_registration(*r.objects),
                    "registered_at",
                    std::to_string(r.registered_at)};
    add_update_fields(hset, UpdatedFields::of(r));
    c.push_back({"MULTI"});
    c.push_back({"DEL", reg});
    c.push_back(std::move(hset));
    c.push_back({"EXEC"});
    c.push_back({"SADD", kRegistrations, endpoint});
  }
  for (const auto& [endpoint, u] : pending_.updates()) {
    Command eval = {"EVALSHA", update_script_sha_, "1", key(endpoint, "reg")};
    add_update_fields(eval, u);
    c.push_back(std::move(eval));
  }
  for (const auto& [endpoint, pending] : pending_.credentials()) {
    const std::string cred = key(endpoint, "cred");
    if (!pending) {
      c.push_back({"DEL", cred});
      c.push_back({"SREM", kCredentialed, endpoint});
      continue;
    }
    const Credentials& k = *pending;
    c.push_back({"MULTI"});
    c.push_back({"DEL", cred});
    c.push_back({"HSET", cred, "kind", credentials_kind_name(k.kind), "psk_identity",
                 k.psk_identity, "psk_key", std::string(k.psk_key.begin(), k.psk_key.end()),
                 "public_key", std::string(k.public_key.begin(), k.public_key.end()),
                 "x509_common_name", k.x509_common_name, "json", credentials_json_part(k)});
    c.push_back({"EXEC"});
    c.push_back({"SADD", kCredentialed, endpoint});
  }
  auto replies = run(c, "writing");
  if (!replies) return replies.error();
  for (const auto& r : *replies) {
    // An EXEC whose transaction was discarded answers nil.
    if (r->type == REDIS_REPLY_NIL) return error("writing", "a transaction was not applied");
  }
  return Ok{};
}

Result<std::vector<std::pair<std::string, RedisStore::Reply>>> RedisStore::load_all(
    const char* index, const char* kind, const char* what) {
  if (auto ok = flush(); !ok) return ok.error();
  auto members = run_one({"SMEMBERS", index}, what);
  if (!members) return members.error();
  std::vector<std::string> endpoints;
  if ((*members)->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < (*members)->elements; ++i) {
      endpoints.push_back(reply_text((*members)->element[i]));
    }
  }
  std::sort(endpoints.begin(), endpoints.end());
  std::vector<Command> gets;
  gets.reserve(endpoints.size());
  for (const auto& endpoint : endpoints) gets.push_back({"HGETALL", key(endpoint, kind)});
  auto replies = run(gets, what);
  if (!replies) return replies.error();
  std::vector<std::pair<std::string, Reply>> out;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    // A member whose record has gone (removed meanwhile) is skipped.
    if (Fields((*replies)[i].get()).empty()) continue;
    out.emplace_back(std::move(endpoints[i]), std::move((*replies)[i]));
  }
  return out;
}

Result<std::vector<Registration>> RedisStore::load_registrations() {
  auto all = load_all(kRegistrations, "reg", "reading registrations");
  if (!all) return all.error();
  std::vector<Registration> out;
  out.reserve(all->size());
  for (const auto& [endpoint, reply] : *all) {
    Fields f(reply.get());
    Registration r;
    r.endpoint = endpoint;
    r.id = f.text("id");
    r.version = f.text("version");
    r.binding = f.text("binding");
    r.queue_mode = f.integer("queue_mode", 1) == 1;
    r.lifetime = static_cast<std::uint32_t>(
        f.integer("lifetime", std::numeric_limits<std::uint32_t>::max()));
    r.sms = f.get("sms");
    r.profile_id = f.get("profile_id");
    const std::string objects = f.text("objects");
    r.transport = f.text("transport");
    r.address = f.text("address");
    r.registered_at = f.integer("registered_at", std::numeric_limits<std::int64_t>::max());
    r.updated_at = f.integer("updated_at", std::numeric_limits<std::int64_t>::max());
    r.identity = f.text("identity");
    if (!f.problem().empty()) {
      return error("reading registrations", key(endpoint, "reg") + ": " + f.problem());
    }
    auto payload = link_format::parse_registration(objects);
    if (!payload) {
      return error("reading registrations",
                   key(endpoint, "reg") + ": objects: " + payload.error().reason);
    }
    r.objects = std::move(*payload);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<ObservationRecord>> RedisStore::load_observations() {
  auto all = load_all(kObserved, "obs", "reading observations");
  if (!all) return all.error();
  std::vector<ObservationRecord> out;
  for (const auto& [endpoint, reply] : *all) {
    for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
      const std::string id = reply_text(reply->element[i]);
      auto o = parse_observation(endpoint, id, reply_text(reply->element[i + 1]));
      if (!o) {
        return error("reading observations",
                     key(endpoint, "obs") + " '" + id + "': " + o.error().reason);
      }
      out.push_back(std::move(*o));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ObservationRecord& a, const ObservationRecord& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<Credentials>> RedisStore::load_credentials() {
  auto all = load_all(kCredentialed, "cred", "reading credentials");
  if (!all) return all.error();
  std::vector<Credentials> out;
  for (const auto& [endpoint, reply] : *all) {
    Fields f(reply.get());
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
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tether::server
