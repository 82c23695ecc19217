#pragma once
// The UDP transport's peers: source address <-> PeerId. Anyone can send a datagram from any
// address, so a table that kept every address it heard would grow without bound under
// spoofed sources. Peers nobody holds are forgotten once idle, and the oldest first while
// there are more of them than a cap. Sans-I/O: time comes in, the forgotten PeerIds go out
// (the transport tells the layers above with on_disconnected).
//
// A PeerId carries its slot and the slot's generation, so a forgotten id never names the
// next peer to take the slot: a late reply to it finds no address and is dropped.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "coap/message_layer.hpp"
#include "common/time.hpp"
#include "transport/socket_address.hpp"

namespace tether::transport {

struct PeerTableLimits {
  // Unheld peers not heard from or sent to for this long are forgotten (at most about as
  // long again later: a peer heard again waits behind the newer ones). Above CoAP's
  // EXCHANGE_LIFETIME (247 s), so no exchange or dedup entry outlives its address.
  Duration idle = std::chrono::minutes(10);
  // Unheld peers kept at most; beyond it the longest idle go first, even before `idle`.
  std::size_t max_loose = std::size_t{1} << 18;
};

class PeerTable {
 public:
  explicit PeerTable(PeerTableLimits limits = {}) : limits_(limits) {}

  // The peer at `address` (a new one if unknown); it was active `now`.
  coap::PeerId id_of(const SocketAddress& address, Instant now);
  // The address of a live peer; none for a forgotten or unknown one. A send to it is
  // activity: `now` marks it.
  const SocketAddress* address_of(coap::PeerId peer) const;
  std::optional<coap::PeerId> find(const SocketAddress& address) const;
  const SocketAddress* address_for_send(coap::PeerId peer, Instant now);
  // A held peer is never forgotten (a registered client, a configured server); holds count.
  // False for a forgotten or unknown peer.
  bool hold(coap::PeerId peer);
  void release(coap::PeerId peer, Instant now);

  // Forgets at most `at_most` peers that are due (idle past the limit, or the oldest while
  // over the cap) and not `busy` (a live DTLS session, say), and returns them.
  std::vector<coap::PeerId> sweep(Instant now, const std::function<bool(coap::PeerId)>& busy,
                                  std::size_t at_most);
  // When the next sweep has something to look at; none with nothing unheld.
  std::optional<Instant> next_sweep() const;
  bool over_cap() const { return loose() > limits_.max_loose; }

  std::size_t size() const { return ids_.size(); }
  std::size_t loose() const { return ids_.size() - held_; }

 private:
  struct Slot {
    SocketAddress address;
    std::uint32_t generation = 0;
    std::uint32_t holds = 0;
    std::uint32_t active = 0;  // seconds since base_
    bool live = false;
    bool queued = false;  // has an entry in order_
  };
  // Unheld peers by when they were last seen active (entries go stale: checked on pop).
  struct Entry {
    coap::PeerId peer;
    std::uint32_t since;
  };

  Slot* slot_of(coap::PeerId peer);
  const Slot* slot_of(coap::PeerId peer) const;
  std::uint32_t seconds(Instant now);
  void enqueue(coap::PeerId peer, Slot& s);
  void forget(coap::PeerId peer, Slot& s);

  PeerTableLimits limits_;
  std::optional<Instant> base_;
  std::unordered_map<AddressKey, coap::PeerId, AddressKeyHash> ids_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::deque<Entry> order_;
  std::size_t held_ = 0;
};

}  // namespace tether::transport
