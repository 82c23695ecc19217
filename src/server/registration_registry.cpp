#include "server/registration_registry.hpp"

#include "common/bytes.hpp"
#include "common/ordered_walk.hpp"
#include "common/text.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::server {

namespace {
using lwm2m::reject;
namespace status = lwm2m::status;

bool looks_like_version(const std::string& v) {
  const auto dot = v.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == v.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != dot && (v[i] < '0' || v[i] > '9')) return false;
  }
  return true;
}

// LwM2M 1.0 carries Queue Mode as a 'Q' in the binding ("UQ"); 1.1 moved it to its own
// parameter and dropped the letter.
void apply_binding(Registration& r, const std::string& binding) {
  r.binding.clear();
  for (char c : binding) {
    if (c == 'Q') {
      r.queue_mode = true;
    } else {
      r.binding.push_back(c);
    }
  }
  if (r.binding.empty()) r.binding = "U";
}
}  // namespace

std::string PeerIdentity::key() const {
  if (oscore) return "oscore:" + *oscore;
  if (cose) return "cose:" + *cose;
  if (psk_identity) return "psk:" + to_hex(to_bytes(*psk_identity));
  if (public_key) return "rpk:" + to_hex(*public_key);
  if (certificate_cn) return "x509:" + to_hex(to_bytes(*certificate_cn));
  if (http_user) return "http:" + to_hex(to_bytes(*http_user));
  return {};
}

RegistrationRegistry::RegistrationRegistry(RegistryConfig config, Random& random)
    : config_(config), random_(random) {}

std::string RegistrationRegistry::new_id() {
  static constexpr char kAlphabet[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (;;) {
    Bytes raw(10);
    random_.fill(raw);
    std::string id;
    for (auto b : raw) id.push_back(kAlphabet[b % 62]);
    if (!by_id_.contains(id)) return id;
  }
}

UnixMillis RegistrationRegistry::deadline(const Registration& r) const {
  return r.expires_at() + static_cast<UnixMillis>(config_.expiry_grace_seconds) * 1000;
}

RegistrationRegistry::CountedKind RegistrationRegistry::counted_kind(const Registration& r) {
  return CountedKind{r.binding, r.version, r.transport, security_of(r), r.queue_mode};
}

void RegistrationRegistry::tally(const CountedKind& k, int sign) {
  auto add = [sign](std::map<std::string, std::size_t>& m, const std::string& key) {
    auto& n = m[key];
    n = sign > 0 ? n + 1 : n - 1;
    if (n == 0) m.erase(key);
  };
  add(counts_.binding, k.binding);
  add(counts_.version, k.version);
  add(counts_.transport, k.transport);
  add(counts_.security, k.security);
  if (k.queue_mode) counts_.queue_mode = sign > 0 ? counts_.queue_mode + 1 : counts_.queue_mode - 1;
}

void RegistrationRegistry::tally(const Registration& r, int sign) {
  tally(counted_kind(r), sign);
}

void RegistrationRegistry::index(Registration& stored) {
  by_id_[stored.id] = &stored;
  deadlines_.emplace(deadline(stored), stored.endpoint);
}

Result<RegistrationRegistry::Registered> RegistrationRegistry::register_client(
    const lwm2m::RegisterRequest& request, const PeerIdentity& peer, UnixMillis now) {
  const auto& p = request.params;
  if (!p.endpoint) return reject(status::kBadRequest, "the endpoint name (ep) is missing");
  const std::string version = p.version.value_or("1.0");
  if (!looks_like_version(version)) {
    return reject(status::kBadRequest, "lwm2m=" + printable(version, 16) + " is not a version");
  }
  if (!lwm2m::is_supported_version(version)) {
    return reject(status::kPreconditionFailed,
                  "LwM2M " + version + " is not supported (1.0, 1.1 and 1.2 are)");
  }
  if (version != "1.0" && p.binding && p.binding->find('Q') != std::string::npos) {
    return reject(status::kBadRequest, "since LwM2M 1.1 queue mode is the Q parameter");
  }
  // The name may come from a certificate's CN rather than `ep`: it is checked whatever
  // its source.
  if (auto ok = lwm2m::check_endpoint_name(*p.endpoint); !ok) return ok.error();
  if (policy_) {
    auto allowed = policy_(*p.endpoint, peer);
    if (!allowed) return allowed.error();
  }
  // A registration made over (D)TLS is not replaced from plain UDP/TCP: the name alone
  // proves nothing (a secure peer was admitted by the policy above).
  if (auto it = by_endpoint_.find(*p.endpoint);
      it != by_endpoint_.end() && !it->second.identity.empty() && !peer.secure()) {
    return reject(status::kForbidden, "endpoint " + *p.endpoint +
                                          " is registered over (D)TLS; a plain Register "
                                          "cannot replace it");
  }
  Registration r;
  r.id = new_id();
  r.endpoint = *p.endpoint;
  r.version = version;
  r.lifetime = p.lifetime.value_or(config_.default_lifetime);
  r.queue_mode = p.queue_mode;
  apply_binding(r, p.binding.value_or("U"));
  r.sms = p.sms;
  r.profile_id = p.profile_id;
  r.objects = payloads_.intern(request.objects);
  r.transport = peer.transport;
  r.address = peer.address;
  r.identity = peer.key();
  r.registered_at = now;
  r.updated_at = now;

  Registered out{r, std::nullopt};
  Registration* stored = nullptr;
  if (auto it = by_endpoint_.find(r.endpoint); it != by_endpoint_.end()) {
    by_id_.erase(it->second.id);
    tally(it->second, -1);
    out.replaced = std::move(it->second);
    it->second = std::move(r);
    stored = &it->second;
  } else {
    auto [added, inserted] = by_endpoint_.emplace(r.endpoint, std::move(r));
    ordered_.emplace(added->first, &added->second);
    stored = &added->second;
  }
  tally(*stored, +1);
  index(*stored);
  return out;
}

Result<Registration*> RegistrationRegistry::owned_by(const std::string& location,
                                                     const PeerIdentity& peer) {
  // Built only when needed: this runs on every Update.
  auto missing = [&location]() -> Error {
    return reject(status::kNotFound,
                  "no registration /rd/" + printable(location, 64) + " of this peer");
  };
  auto id = by_id_.find(location);
  if (id == by_id_.end()) return missing();
  Registration& r = *id->second;
  if (!speaks_for(r, peer)) return missing();
  // Credentials put on file since the Register bind the name from now on.
  if (policy_ && !policy_(r.endpoint, peer)) return missing();
  return &r;
}

bool speaks_for(const Registration& r, const PeerIdentity& peer) {
  if (r.identity == Registration::kAnySecureIdentity) return peer.secure();
  if (r.identity.empty()) return !peer.secure();
  return peer.key() == r.identity;
}

Result<const Registration*> RegistrationRegistry::update(const lwm2m::UpdateRequest& request,
                                                         const PeerIdentity& peer, UnixMillis now) {
  auto owned = owned_by(request.location, peer);
  if (!owned) return owned.error();
  Registration& r = **owned;
  // Past its lifetime and grace, it is as good as gone, even while an expiry wave has not
  // reached it yet: the client registers again.
  if (deadline(r) <= now) {
    return reject(status::kNotFound,
                  "registration /rd/" + printable(request.location, 64) + " has expired");
  }
  const auto& p = request.params;
  if (r.version != "1.0" && p.binding && p.binding->find('Q') != std::string::npos) {
    return reject(status::kBadRequest, "since LwM2M 1.1 queue mode is the Q parameter");
  }
  // Most Updates change nothing counted: the counts move only when something did (the
  // kinds are short, so this copy stays on the stack).
  const CountedKind before = counted_kind(r);
  // The deadline moves: its heap entry goes now if it is the top (clients that update in
  // turn keep the heap at one entry each), else when it comes up.
  if (!deadlines_.empty() && deadlines_.top().first == deadline(r) &&
      deadlines_.top().second == r.endpoint) {
    deadlines_.pop();
    checked_top_.reset();
  }
  if (p.lifetime) r.lifetime = *p.lifetime;
  if (p.binding) {
    if (r.version == "1.0") r.queue_mode = false;  // a 1.0 binding restates Q each time
    apply_binding(r, *p.binding);
  }
  if (p.queue_mode) r.queue_mode = true;
  if (p.sms) r.sms = p.sms;
  if (p.profile_id) r.profile_id = p.profile_id;
  if (request.objects) r.objects = payloads_.intern(*request.objects);
  r.transport = peer.transport;
  r.address = peer.address;
  // Every check passed: a legacy '*' registration is now bound to this identity.
  if (r.identity == Registration::kAnySecureIdentity) r.identity = peer.key();
  r.updated_at = now;
  if (CountedKind after = counted_kind(r); after != before) {
    tally(before, -1);
    tally(after, +1);
  }
  deadlines_.emplace(deadline(r), r.endpoint);
  return &r;
}

Result<Registration> RegistrationRegistry::deregister(const lwm2m::DeregisterRequest& request,
                                                      const PeerIdentity& peer) {
  auto owned = owned_by(request.location, peer);
  if (!owned) return owned.error();
  const std::string endpoint = (*owned)->endpoint;  // remove() erases the index entry
  return std::move(*remove(endpoint));
}

std::optional<Registration> RegistrationRegistry::remove(const std::string& endpoint) {
  auto it = by_endpoint_.find(endpoint);
  if (it == by_endpoint_.end()) return std::nullopt;
  ordered_.erase(it->first);
  tally(it->second, -1);
  Registration r = std::move(it->second);
  by_endpoint_.erase(it);
  by_id_.erase(r.id);
  return r;
}

std::vector<Registration> RegistrationRegistry::expire(UnixMillis now, std::size_t at_most) {
  std::vector<Registration> out;
  while (!deadlines_.empty() && deadlines_.top().first <= now && out.size() < at_most) {
    auto [at, endpoint] = deadlines_.top();
    deadlines_.pop();
    auto it = by_endpoint_.find(endpoint);
    if (it == by_endpoint_.end() || deadline(it->second) != at) continue;  // stale entry
    out.push_back(*remove(endpoint));
  }
  return out;
}

std::optional<UnixMillis> RegistrationRegistry::next_expiry() {
  // Every registration's current deadline is in the heap, so the top is never later than
  // the earliest one; a stale top only wakes the server early. The lookup below drops stale
  // tops once per new top, not on every loop turn.
  while (!deadlines_.empty()) {
    const auto& [at, endpoint] = deadlines_.top();
    if (checked_top_ == at) return at;
    auto it = by_endpoint_.find(endpoint);
    if (it != by_endpoint_.end() && deadline(it->second) == at) {
      checked_top_ = at;
      return at;
    }
    deadlines_.pop();
  }
  return std::nullopt;
}

void RegistrationRegistry::restore(Registration registration) {
  registration.objects = payloads_.intern(registration.objects);
  if (auto old = by_endpoint_.find(registration.endpoint); old != by_endpoint_.end()) {
    by_id_.erase(old->second.id);
    tally(old->second, -1);
  }
  auto [at, inserted] =
      by_endpoint_.insert_or_assign(registration.endpoint, std::move(registration));
  index(at->second);
  tally(at->second, +1);
  ordered_.emplace(at->first, &at->second);
}

const Registration* RegistrationRegistry::find(const std::string& endpoint) const {
  auto it = by_endpoint_.find(endpoint);
  return it == by_endpoint_.end() ? nullptr : &it->second;
}

const Registration* RegistrationRegistry::find_by_id(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void RegistrationRegistry::walk(std::string_view after, std::string_view prefix,
                                const std::function<bool(const Registration&)>& visit) const {
  walk_ordered(ordered_, after, prefix, [&](const Registration* r) { return visit(*r); });
}

}  // namespace tether::server
