#pragma once
// The OSCORE security contexts an LwM2M role holds, each under a name (the server: the
// client's endpoint; the client: its Security instance), found by what a protected request
// names (kid, kid context) and bound to the peers that proved them (Transport TS 5.5). One
// keyring serves the OSCORE layers of every transport; `carrier` tells them apart.
//
// Transport TS 5.5.5: a context belongs to one endpoint, so a peer that proved a context is
// that endpoint and no other; the roles ask bound_name() for it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coap/message_layer.hpp"
#include "common/result.hpp"
#include "oscore/context_holders.hpp"
#include "oscore/oscore_layer.hpp"

namespace tether::oscore {

class Keyring {
 public:
  // Stores `bound` as the name's Sender Sequence Number bound (RFC 8613 B.1.1); false: not
  // stored, so nothing is sent under that context.
  using PersistSequence = std::function<bool(const std::string& name, std::uint64_t bound)>;

  // Persists each context's Sender Sequence Number `step` numbers ahead (set before put()).
  // `by_keys`: the bounds are stored under a digest of the keys' input (sequence_key())
  // instead of the name, so the same keys put under another name (a bootstrap server writing
  // them to a new instance) resume from where they were.
  void persist_sequences(std::uint64_t step, PersistSequence persist, bool by_keys = false);
  // The same when other keyrings hold the same contexts (workers): `reserve(key, from, step)`
  // stores a bound and answers the first of the `step` numbers it reserved, at or past
  // `from` and past what any other keyring reserved; nullopt: not stored, nothing is sent.
  using ReserveSequences = std::function<std::optional<std::uint64_t>(
      const std::string& key, std::uint64_t from, std::uint64_t step)>;
  void reserve_sequences(std::uint64_t step, ReserveSequences reserve, bool by_keys = false);
  // Other keyrings (workers) hold copies of these contexts: a copy acts on a request only
  // once it proved freshness since another copy last did (SecurityContext::share_holding).
  // Set before put().
  void share_holding(ContextHolders& holders, std::uint32_t self) {
    holders_ = &holders;
    self_ = self;
  }
  // "keys:" and a SHA-256 digest of the input, in hex: no secret can be read back from it.
  static std::string sequence_key(const ContextInput& input);
  // The bounds stored before a restart, by name: put() never starts below them.
  void resume_sequences(std::unordered_map<std::string, std::uint64_t> bounds) {
    resumed_ = std::move(bounds);
  }

  // RFC 8613 B.2 as a server: a request under a known Recipient ID with an unknown ID
  // Context may re-derive that context with the client (a client that lost its sequence
  // numbers does so). On by default.
  void allow_rederivation(bool on) { allow_rederivation_ = on; }
  // RFC 8613 B.2 as a client that keeps no sequence numbers across restarts: each context
  // put() starts under a random ID Context and is re-derived with the server before use.
  void rederive_on_start(bool on) { rederive_on_start_ = on; }

  // Adds or replaces name's context, sending from `first_sequence` (a stored bound). Fails
  // when the input does not derive, when another name's context has the same Recipient ID
  // and ID Context (a protected request could not tell the two apart), or the same Master
  // Secret (each could derive the other's keys and pose as it).
  Result<Ok> put(const std::string& name, const ContextInput& input,
                 std::uint64_t first_sequence = 0);
  // Whether `input` could be put() under `name` (derives, Recipient ID not taken).
  Result<Ok> check(const std::string& name, const ContextInput& input) const;
  // Forgets the context and every peer bound to it; exchanges under way finish with it.
  bool remove(const std::string& name);
  SharedContext find(const std::string& name) const;
  // Another holder (a worker, a node) acts under name's context from now on: each context
  // of the name (the configured one and one re-derived from it) proves freshness again
  // before this keyring's layers act on a request under it (RFC 8613 B.1.2).
  void require_freshness(const std::string& name);
  // What name's context was derived from (nullptr: none); a re-derived context differs in its
  // ID Context only.
  const ContextInput* input_of(const std::string& name) const;
  std::size_t size() const { return contexts_.size(); }

  // From now on requests to `peer` on `carrier` are protected with name's context, and its
  // plain requests refused.
  void bind(const std::string& carrier, coap::PeerId peer, const std::string& name);
  void unbind(const std::string& carrier, coap::PeerId peer);
  // The name whose context `peer` proved (or was bound to); nullptr: none.
  const std::string* bound_name(const std::string& carrier, coap::PeerId peer) const;

  // The callbacks of the OSCORE layer on `carrier`; a verified request binds its peer.
  OscorePeers peers(const std::string& carrier);
  // Told of the requests the layers refuse (set before peers()).
  using RefusalHandler =
      std::function<void(const std::string& carrier, coap::PeerId peer, const Refusal& refusal)>;
  void set_refusal_handler(RefusalHandler handler) { on_refused_ = std::move(handler); }

 private:
  struct Entry {
    SharedContext context;     // in use: the configured one, or one re-derived (RFC 8613 B.2)
    SharedContext configured;  // what put() made; a peer back under it gets it back
    std::string name;
    ContextInput input;
    std::string rederived_key;  // context's key in name_by_rederived_ (empty: none)
  };
  static std::string recipient_key(ByteView recipient_id, std::optional<ByteView> id_context);
  static std::string recipient_key(const ContextInput& input);
  // The Master Secret: whoever knows it derives every key under it (salts and ID contexts
  // are no secret), so two names must not share it.
  static std::string secret_key(const ContextInput& input);
  const Entry* entry_for_peer(const std::string& carrier, coap::PeerId peer) const;
  // Forgets every index of name's entry but the entry itself.
  void unindex(const std::string& name, const Entry& entry);
  void index(const std::string& name, const Entry& entry);
  SharedContext current_for(ByteView kid, std::optional<ByteView> kid_context) const;
  SharedContext derive_with(const SharedContext& base, ByteView id_context) const;
  void adopt(const SharedContext& old, const SharedContext& fresh);
  void watch_sequence(const std::string& key, SecurityContext& context);

  static std::string peer_key(const std::string& carrier, coap::PeerId peer);
  void bind_key(const std::string& key, const std::string& name);
  void unbind_key(const std::string& key);

  std::unordered_map<std::string, Entry> contexts_;                 // by name
  std::unordered_map<std::string, std::string> name_by_recipient_;  // recipient_key -> name
  std::unordered_map<std::string, std::string> name_by_secret_;     // secret_key -> name
  std::unordered_map<const SecurityContext*, std::string> name_by_context_;
  std::unordered_multimap<std::string, std::string> names_by_kid_;  // Recipient ID -> names
  // Contexts whose ID Context is no longer the configured one (RFC 8613 B.2), by theirs.
  std::unordered_map<std::string, std::string> name_by_rederived_;
  bool allow_rederivation_ = true;
  bool rederive_on_start_ = false;
  std::unordered_map<std::string, std::string> bound_;  // peer_key -> name
  // The peer keys bound to each name, oldest first: a client that moves (NAT rebinding)
  // leaves old addresses behind, and only the last few stay bound.
  std::unordered_map<std::string, std::vector<std::string>> keys_by_name_;
  std::uint64_t step_ = 0;
  ReserveSequences reserve_;
  ContextHolders* holders_ = nullptr;
  std::uint32_t self_ = 0;
  bool persist_by_keys_ = false;
  std::unordered_map<std::string, std::uint64_t> resumed_;
  RefusalHandler on_refused_;
};

}  // namespace tether::oscore
