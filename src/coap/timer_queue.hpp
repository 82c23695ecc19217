#pragma once
// A min-heap of deadlines with lazy cancellation: owners check on expiry whether the
// entry still matters, which keeps scheduling O(log n) for many peers.
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include "common/time.hpp"

namespace tether::coap {

template <typename Payload>
class TimerQueue {
 public:
  void schedule(Instant at, Payload p) { heap_.push(Entry{at, seq_++, std::move(p)}); }
  std::optional<Instant> next() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().at;
  }
  // Pops one entry due at or before `now`.
  std::optional<Payload> pop_due(Instant now) {
    if (heap_.empty() || heap_.top().at > now) return std::nullopt;
    Payload p = heap_.top().payload;
    heap_.pop();
    return p;
  }
  std::size_t size() const { return heap_.size(); }

 private:
  struct Entry {
    Instant at;
    std::uint64_t seq;
    Payload payload;
    bool operator>(const Entry& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::uint64_t seq_ = 0;
};

}  // namespace tether::coap
