#include "oscore/keyring.hpp"

#include <algorithm>
#include <vector>

#include "oscore/crypto.hpp"

namespace tether::oscore {

namespace {
// Addresses a client is bound by at once (Transport TS 5.5.5 binding, per carrier).
constexpr std::size_t kMaxPeersPerName = 8;
}  // namespace

std::string Keyring::recipient_key(ByteView recipient_id, std::optional<ByteView> id_context) {
  // The kid's length and the kid, then the kid context when there is one.
  std::string k;
  k.reserve(2 + recipient_id.size() + (id_context ? id_context->size() : 0));
  k.push_back(static_cast<char>(recipient_id.size()));
  k.append(recipient_id.begin(), recipient_id.end());
  if (id_context) {
    k.push_back('\x01');
    k.append(id_context->begin(), id_context->end());
  }
  return k;
}

std::string Keyring::recipient_key(const ContextInput& input) {
  return recipient_key(input.recipient_id, view_of(input.id_context));
}

std::string Keyring::secret_key(const ContextInput& input) {
  return std::string(input.master_secret.begin(), input.master_secret.end());
}

std::string Keyring::peer_key(const std::string& carrier, coap::PeerId peer) {
  std::string k(reinterpret_cast<const char*>(&peer), sizeof(peer));
  k += carrier;
  return k;
}

void Keyring::persist_sequences(std::uint64_t step, PersistSequence persist, bool by_keys) {
  reserve_sequences(
      step,
      [persist = std::move(persist)](const std::string& key, std::uint64_t from,
                                     std::uint64_t n) -> std::optional<std::uint64_t> {
        if (!persist(key, from + n)) return std::nullopt;
        return from;
      },
      by_keys);
}

void Keyring::reserve_sequences(std::uint64_t step, ReserveSequences reserve, bool by_keys) {
  step_ = step;
  reserve_ = std::move(reserve);
  persist_by_keys_ = by_keys;
}

std::string Keyring::sequence_key(const ContextInput& input) {
  Bytes material;
  // Each field with a two-byte length first, so no two inputs give the same bytes (the API
  // takes values of at most 256 bytes).
  auto field = [&material](ByteView v) {
    material.push_back(static_cast<std::uint8_t>(v.size() >> 8));
    material.push_back(static_cast<std::uint8_t>(v.size() & 0xff));
    material.insert(material.end(), v.begin(), v.end());
  };
  field(input.master_secret);
  field(input.master_salt);
  field(input.sender_id);
  field(input.recipient_id);
  if (input.id_context) field(*input.id_context);
  material.push_back(static_cast<std::uint8_t>(input.aead));
  return "keys:" + to_hex(sha256(material));
}

Result<Ok> Keyring::check(const std::string& name, const ContextInput& input) const {
  auto taken = name_by_recipient_.find(recipient_key(input));
  if (taken != name_by_recipient_.end() && taken->second != name) {
    return fail("the OSCORE Recipient ID and ID Context are already " + taken->second + "'s");
  }
  auto shared = name_by_secret_.find(secret_key(input));
  if (shared != name_by_secret_.end() && shared->second != name) {
    return fail("the OSCORE Master Secret is already " + shared->second +
                "'s; each endpoint needs its own");
  }
  if (auto derived = SecurityContext::derive(input); !derived) return derived.error();
  return Ok{};
}

Result<Ok> Keyring::put(const std::string& name, const ContextInput& input,
                        std::uint64_t first_sequence) {
  if (auto ok = check(name, input); !ok) return ok;
  ContextInput start = input;
  if (rederive_on_start_) start.id_context = random_bytes(8);  // RFC 8613 B.2: our R1
  auto derived = SecurityContext::derive(start);
  if (!derived) return derived.error();
  auto context = std::make_shared<SecurityContext>(std::move(*derived));
  if (holders_ != nullptr) context->share_holding(holders_->of(name), self_);
  if (rederive_on_start_) {
    context->set_rederiving(true);
  } else {
    // Bounds stored under the name (before they were stored by keys) count too.
    const std::string key = persist_by_keys_ ? sequence_key(input) : name;
    for (const std::string* k : {&name, &key}) {
      if (auto r = resumed_.find(*k); r != resumed_.end()) {
        first_sequence = std::max(first_sequence, r->second);
      }
    }
    context->set_sender_sequence(first_sequence);
    watch_sequence(key, *context);
  }
  if (auto old = contexts_.find(name); old != contexts_.end()) unindex(name, old->second);
  Entry& entry = contexts_[name];
  entry = Entry{context, context, name, input, {}};
  index(name, entry);
  return Ok{};
}

void Keyring::index(const std::string& name, const Entry& entry) {
  name_by_recipient_[recipient_key(entry.input)] = name;
  name_by_secret_[secret_key(entry.input)] = name;
  name_by_context_[entry.context.get()] = name;
  name_by_context_[entry.configured.get()] = name;
  names_by_kid_.emplace(
      std::string(entry.input.recipient_id.begin(), entry.input.recipient_id.end()), name);
  if (!entry.rederived_key.empty()) name_by_rederived_[entry.rederived_key] = name;
}

void Keyring::unindex(const std::string& name, const Entry& entry) {
  name_by_recipient_.erase(recipient_key(entry.input));
  name_by_secret_.erase(secret_key(entry.input));
  name_by_context_.erase(entry.context.get());
  name_by_context_.erase(entry.configured.get());
  auto [from, to] = names_by_kid_.equal_range(
      std::string(entry.input.recipient_id.begin(), entry.input.recipient_id.end()));
  for (auto it = from; it != to; ++it) {
    if (it->second == name) {
      names_by_kid_.erase(it);
      break;
    }
  }
  if (!entry.rederived_key.empty()) name_by_rederived_.erase(entry.rederived_key);
}

SharedContext Keyring::current_for(ByteView kid, std::optional<ByteView> kid_context) const {
  const std::string k = recipient_key(kid, kid_context);
  if (!name_by_rederived_.empty()) {
    if (auto it = name_by_rederived_.find(k); it != name_by_rederived_.end()) {
      return find(it->second);
    }
    // A client still in RFC 8613 B.2 sends the agreed ID Context wrapped as a CBOR bstr.
    if (kid_context) {
      const Bytes unwrapped = unwrap_kid_context(*kid_context);
      if (unwrapped.size() != kid_context->size()) {
        auto it = name_by_rederived_.find(recipient_key(kid, ByteView(unwrapped)));
        if (it != name_by_rederived_.end()) return find(it->second);
      }
    }
  }
  auto it = name_by_recipient_.find(k);
  if (it == name_by_recipient_.end()) return nullptr;
  const Entry& entry = contexts_.at(it->second);
  if (entry.context->is_named_by(kid, kid_context)) return entry.context;
  // Re-derived since, but the peer speaks under the configured context again (it kept its
  // sequence numbers this time): that context, its window and numbers, still serves.
  return entry.configured->is_named_by(kid, kid_context) ? entry.configured : nullptr;
}

SharedContext Keyring::derive_with(const SharedContext& base, ByteView id_context) const {
  auto named = name_by_context_.find(base.get());
  if (named == name_by_context_.end() || id_context.empty() || id_context.size() > 255) {
    return nullptr;
  }
  ContextInput input = contexts_.at(named->second).input;
  input.id_context = Bytes(id_context.begin(), id_context.end());
  auto derived = SecurityContext::derive(input);
  if (!derived) return nullptr;
  auto fresh = std::make_shared<SecurityContext>(std::move(*derived));
  fresh->share_holding_of(*base);
  return fresh;
}

void Keyring::adopt(const SharedContext& old, const SharedContext& fresh) {
  auto named = name_by_context_.find(old.get());
  if (named == name_by_context_.end()) return;  // replaced or removed meanwhile
  const std::string name = named->second;
  Entry& entry = contexts_.at(name);
  unindex(name, entry);
  // A re-derived context's sequence numbers are not stored: its keys die with the process,
  // and the stored bound stays that of the configured keys, which a restart uses again.
  entry.context = fresh;
  entry.rederived_key.clear();
  if (fresh != entry.configured) {
    entry.rederived_key = recipient_key(fresh->recipient_id(), view_of(fresh->id_context()));
  }
  index(name, entry);
}

void Keyring::watch_sequence(const std::string& key, SecurityContext& context) {
  if (!reserve_) return;
  context.reserve_windows(step_, [this, key](std::uint64_t from, std::uint64_t step) {
    auto start = reserve_(key, from, step);
    if (!start) return start;
    // The same keys put again later in this run start past it too.
    std::uint64_t& resumed = resumed_[key];
    resumed = std::max(resumed, *start + step);
    return start;
  });
}

bool Keyring::remove(const std::string& name) {
  auto it = contexts_.find(name);
  if (it == contexts_.end()) return false;
  unindex(name, it->second);
  contexts_.erase(it);
  if (auto keys = keys_by_name_.find(name); keys != keys_by_name_.end()) {
    for (const auto& key : keys->second) bound_.erase(key);
    keys_by_name_.erase(keys);
  }
  return true;
}

SharedContext Keyring::find(const std::string& name) const {
  auto it = contexts_.find(name);
  return it == contexts_.end() ? nullptr : it->second.context;
}

void Keyring::require_freshness(const std::string& name) {
  auto it = contexts_.find(name);
  if (it == contexts_.end()) return;
  it->second.context->require_freshness();
  it->second.configured->require_freshness();
}

const ContextInput* Keyring::input_of(const std::string& name) const {
  auto it = contexts_.find(name);
  return it == contexts_.end() ? nullptr : &it->second.input;
}

void Keyring::bind(const std::string& carrier, coap::PeerId peer, const std::string& name) {
  bind_key(peer_key(carrier, peer), name);
}

void Keyring::unbind(const std::string& carrier, coap::PeerId peer) {
  unbind_key(peer_key(carrier, peer));
}

void Keyring::bind_key(const std::string& key, const std::string& name) {
  if (auto b = bound_.find(key); b != bound_.end()) {
    if (b->second == name) return;
    unbind_key(key);
  }
  bound_.emplace(key, name);
  auto& keys = keys_by_name_[name];
  keys.push_back(key);
  if (keys.size() > kMaxPeersPerName) {
    bound_.erase(keys.front());
    keys.erase(keys.begin());
  }
}

void Keyring::unbind_key(const std::string& key) {
  auto b = bound_.find(key);
  if (b == bound_.end()) return;
  if (auto keys = keys_by_name_.find(b->second); keys != keys_by_name_.end()) {
    std::erase(keys->second, key);
    if (keys->second.empty()) keys_by_name_.erase(keys);
  }
  bound_.erase(b);
}

const Keyring::Entry* Keyring::entry_for_peer(const std::string& carrier, coap::PeerId peer) const {
  auto b = bound_.find(peer_key(carrier, peer));
  if (b == bound_.end()) return nullptr;
  auto it = contexts_.find(b->second);
  return it == contexts_.end() ? nullptr : &it->second;
}

const std::string* Keyring::bound_name(const std::string& carrier, coap::PeerId peer) const {
  const Entry* e = entry_for_peer(carrier, peer);
  return e != nullptr ? &e->name : nullptr;
}

OscorePeers Keyring::peers(const std::string& carrier) {
  OscorePeers p;
  p.context_for_peer = [this, carrier](coap::PeerId peer) -> SharedContext {
    const Entry* e = entry_for_peer(carrier, peer);
    return e != nullptr ? e->context : nullptr;
  };
  p.lookup = [this](ByteView kid, std::optional<ByteView> kid_context) {
    return current_for(kid, kid_context);
  };
  p.rederivable = [this](ByteView kid) {
    std::vector<SharedContext> out;
    if (!allow_rederivation_) return out;
    // A Recipient ID is shared by a few endpoints at most (each with its own ID Context);
    // beyond four, a forged request would cost a derivation each.
    auto [from, to] = names_by_kid_.equal_range(std::string(kid.begin(), kid.end()));
    for (auto it = from; it != to && out.size() < 4; ++it) out.push_back(find(it->second));
    return out;
  };
  p.derive_with = [this](const SharedContext& base, ByteView id_context) {
    return derive_with(base, id_context);
  };
  p.adopt = [this](const SharedContext& old, const SharedContext& fresh) { adopt(old, fresh); };
  if (on_refused_) {
    p.on_refused = [handler = on_refused_, carrier](coap::PeerId peer, const Refusal& r) {
      handler(carrier, peer, r);
    };
  }
  // A closed connection's peer number is never used again (CoAP/TCP).
  p.on_closed = [this, carrier](coap::PeerId peer) { unbind(carrier, peer); };
  p.on_verified = [this, carrier](coap::PeerId peer, const SharedContext& context) {
    // A context replaced meanwhile keeps no name: its peer is not bound to the new one.
    auto it = name_by_context_.find(context.get());
    if (it == name_by_context_.end()) return;
    // Back under the configured context after a re-derivation: it is the one in use again.
    if (const Entry& entry = contexts_.at(it->second); entry.context != context) {
      const std::string name = it->second;  // adopt() rebuilds the index
      adopt(SharedContext(entry.context), context);
      bind_key(peer_key(carrier, peer), name);
      return;
    }
    bind_key(peer_key(carrier, peer), it->second);
  };
  return p;
}

}  // namespace tether::oscore
