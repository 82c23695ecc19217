#include "oscore/keyring.hpp"

#include <algorithm>

namespace tether::oscore {

std::string Keyring::recipient_key(const ContextInput& input) {
  // The kid, and the kid context when there is one (a zero byte cannot start both).
  std::string k(input.recipient_id.begin(), input.recipient_id.end());
  k.insert(k.begin(), static_cast<char>(input.recipient_id.size()));
  if (input.id_context) {
    k.push_back('\x01');
    k.append(input.id_context->begin(), input.id_context->end());
  }
  return k;
}

std::string Keyring::secret_key(const ContextInput& input) {
  return std::string(input.master_secret.begin(), input.master_secret.end());
}

std::string Keyring::peer_key(const std::string& carrier, coap::PeerId peer) {
  std::string k(reinterpret_cast<const char*>(&peer), sizeof(peer));
  k += carrier;
  return k;
}

void Keyring::persist_sequences(std::uint64_t step, PersistSequence persist) {
  step_ = step;
  persist_ = std::move(persist);
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
  auto derived = SecurityContext::derive(input);
  auto context = std::make_shared<SecurityContext>(std::move(*derived));
  if (auto r = resumed_.find(name); r != resumed_.end()) {
    first_sequence = std::max(first_sequence, r->second);
  }
  context->set_sender_sequence(first_sequence);
  watch_sequence(name, *context);
  if (auto old = contexts_.find(name); old != contexts_.end()) {
    name_by_recipient_.erase(recipient_key(old->second.context->input()));
    name_by_secret_.erase(secret_key(old->second.context->input()));
  }
  name_by_recipient_[recipient_key(input)] = name;
  name_by_secret_[secret_key(input)] = name;
  contexts_[name] = Entry{std::move(context), name};
  return Ok{};
}

void Keyring::watch_sequence(const std::string& name, SecurityContext& context) {
  if (!persist_) return;
  context.reserve_in_steps(step_,
                           [this, name](std::uint64_t bound) { return persist_(name, bound); });
}

bool Keyring::remove(const std::string& name) {
  auto it = contexts_.find(name);
  if (it == contexts_.end()) return false;
  name_by_recipient_.erase(recipient_key(it->second.context->input()));
  name_by_secret_.erase(secret_key(it->second.context->input()));
  contexts_.erase(it);
  std::erase_if(bound_, [&](const auto& kv) { return kv.second == name; });
  return true;
}

SharedContext Keyring::find(const std::string& name) const {
  auto it = contexts_.find(name);
  return it == contexts_.end() ? nullptr : it->second.context;
}

void Keyring::bind(const std::string& carrier, coap::PeerId peer, const std::string& name) {
  bound_[peer_key(carrier, peer)] = name;
}

void Keyring::unbind(const std::string& carrier, coap::PeerId peer) {
  bound_.erase(peer_key(carrier, peer));
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
  p.lookup = [this](const Bytes& kid, const std::optional<Bytes>& kid_context) -> SharedContext {
    ContextInput probe;
    probe.recipient_id = kid;
    probe.id_context = kid_context;
    auto it = name_by_recipient_.find(recipient_key(probe));
    return it == name_by_recipient_.end() ? nullptr : find(it->second);
  };
  if (on_refused_) {
    p.on_refused = [handler = on_refused_, carrier](coap::PeerId peer, const Refusal& r) {
      handler(carrier, peer, r);
    };
  }
  // A closed connection's peer number is never used again (CoAP/TCP).
  p.on_closed = [this, carrier](coap::PeerId peer) { unbind(carrier, peer); };
  p.on_verified = [this, carrier](coap::PeerId peer, const SharedContext& context) {
    auto it = name_by_recipient_.find(recipient_key(context->input()));
    if (it != name_by_recipient_.end()) bind(carrier, peer, it->second);
  };
  return p;
}

}  // namespace tether::oscore
