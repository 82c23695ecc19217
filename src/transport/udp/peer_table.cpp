#include "transport/udp/peer_table.hpp"

#include <algorithm>
#include <limits>

namespace tether::transport {

namespace {
constexpr std::uint64_t kIndexBits = 32;
constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kIndexBits) - 1;
}  // namespace

std::uint32_t PeerTable::seconds(Instant now) {
  if (!base_) base_ = now;
  if (now <= *base_) return 0;
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(now - *base_).count();
  return static_cast<std::uint32_t>(
      std::min<std::int64_t>(s, std::numeric_limits<std::uint32_t>::max()));
}

PeerTable::Slot* PeerTable::slot_of(coap::PeerId peer) {
  return const_cast<Slot*>(std::as_const(*this).slot_of(peer));
}

const PeerTable::Slot* PeerTable::slot_of(coap::PeerId peer) const {
  const std::uint64_t index = peer & kIndexMask;
  if (index == 0 || index > slots_.size()) return nullptr;
  const Slot& s = slots_[index - 1];
  if (!s.live || s.generation != (peer >> kIndexBits)) return nullptr;
  return &s;
}

void PeerTable::enqueue(coap::PeerId peer, Slot& s) {
  order_.push_back(Entry{peer, s.active});
  s.queued = true;
}

coap::PeerId PeerTable::id_of(const SocketAddress& address, Instant now) {
  const std::uint32_t at = seconds(now);
  auto [it, fresh] = ids_.try_emplace(address.key(), 0);
  if (!fresh) {
    slots_[(it->second & kIndexMask) - 1].active = at;
    return it->second;
  }
  std::size_t index = slots_.size();
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    slots_.emplace_back();
  }
  Slot& s = slots_[index];
  s.address = address;
  s.live = true;
  s.holds = 0;
  s.active = at;
  it->second = (std::uint64_t{s.generation} << kIndexBits) | (index + 1);
  enqueue(it->second, s);
  return it->second;
}

const SocketAddress* PeerTable::address_of(coap::PeerId peer) const {
  const Slot* s = slot_of(peer);
  return s == nullptr ? nullptr : &s->address;
}

std::optional<coap::PeerId> PeerTable::find(const SocketAddress& address) const {
  auto it = ids_.find(address.key());
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const SocketAddress* PeerTable::address_for_send(coap::PeerId peer, Instant now) {
  Slot* s = slot_of(peer);
  if (s == nullptr) return nullptr;
  s->active = seconds(now);
  return &s->address;
}

bool PeerTable::hold(coap::PeerId peer) {
  Slot* s = slot_of(peer);
  if (s == nullptr) return false;
  if (s->holds == std::numeric_limits<std::uint32_t>::max()) return true;
  if (s->holds++ == 0) ++held_;
  return true;
}

void PeerTable::release(coap::PeerId peer, Instant now) {
  Slot* s = slot_of(peer);
  if (s == nullptr || s->holds == 0) return;
  if (--s->holds > 0) return;
  --held_;
  // Idle from now on, not from its last datagram: a registration that just ended may still
  // be answered.
  s->active = seconds(now);
  if (!s->queued) enqueue(peer, *s);
}

void PeerTable::forget(coap::PeerId peer, Slot& s) {
  ids_.erase(s.address.key());
  s.live = false;
  s.queued = false;
  s.address = SocketAddress{};
  ++s.generation;
  free_.push_back(static_cast<std::uint32_t>((peer & kIndexMask) - 1));
}

std::vector<coap::PeerId> PeerTable::sweep(Instant now,
                                           const std::function<bool(coap::PeerId)>& busy,
                                           std::size_t at_most) {
  const std::uint32_t at = seconds(now);
  const auto idle = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(limits_.idle).count());
  std::vector<coap::PeerId> out;
  // Each step pops one entry; re-queued ones (active since, or busy) cost a step too.
  for (std::size_t steps = 0; !order_.empty() && out.size() < at_most && steps < 4 * at_most + 16;
       ++steps) {
    const Entry e = order_.front();
    if (std::uint64_t{e.since} + idle > at && !over_cap()) break;
    order_.pop_front();
    Slot* s = slot_of(e.peer);
    if (s == nullptr) continue;
    s->queued = false;
    if (s->holds > 0) continue;  // release() queues it again
    if (s->active > e.since) {
      enqueue(e.peer, *s);
      continue;
    }
    if (busy && busy(e.peer)) {
      s->active = at;
      enqueue(e.peer, *s);
      continue;
    }
    forget(e.peer, *s);
    out.push_back(e.peer);
  }
  return out;
}

std::optional<Instant> PeerTable::next_sweep() const {
  if (order_.empty() || !base_) return std::nullopt;
  if (over_cap()) return *base_;
  return *base_ + std::chrono::seconds(order_.front().since) + limits_.idle;
}

}  // namespace tether::transport
