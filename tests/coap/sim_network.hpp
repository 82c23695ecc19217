#pragma once
// A simulated network for sans-I/O tests: endpoints joined by PeerId, a virtual clock that
// jumps to the earliest deadline or delivery, and configurable loss, duplication, delay
// (hence reordering) of datagrams. Stream links deliver bytes in order and turn a
// Transmit::Kind::kClose into on_disconnected on the other side. Every loop is bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "coap/endpoint.hpp"
#include "coap/tcp_codec.hpp"
#include "coap/udp_codec.hpp"
#include "common/random.hpp"
#include "common/time.hpp"

namespace tether::coap::sim {

// An arbitrary epoch far from zero, so that "time 0" bugs cannot hide.
inline Instant epoch() {
  return instant_at(Duration{10'000'000});
}

// An endpoint with its own deterministic randomness.
struct Node {
  explicit Node(EndpointConfig config = {}, std::uint64_t seed = 1)
      : random(seed), endpoint(std::move(config), random) {}
  SeededRandom random;
  Endpoint endpoint;
};

struct Packet {
  std::size_t seq = 0;  // 1-based, in order of transmission
  PeerId from = 0;
  PeerId to = 0;
  Transmit::Kind kind = Transmit::Kind::kData;
  Bytes bytes;
  Instant sent{};
  Instant deliver_at{};
  bool dropped = false;
  bool duplicate = false;          // the extra copy made by duplicate_if
  std::optional<Message> message;  // decoded, for inspection by predicates and tests
};

using PacketPredicate = std::function<bool(const Packet&)>;

class SimNetwork {
 public:
  static constexpr int kMaxSteps = 200'000;

  explicit SimNetwork(Carrier carrier = Carrier::kDatagram) : carrier_(carrier) {}

  // Joins `port` (an endpoint, or a security layer over one) under `address`: other nodes
  // reach it, and see it, by that PeerId.
  void add(PeerId address, CarrierPort& port) { nodes_[address] = &port; }
  void add(PeerId address, Node& node) { add(address, node.endpoint); }
  // Takes a node off the network (a process that stopped); packets to it are lost.
  void remove(PeerId address) { nodes_.erase(address); }
  // Something else with deadlines on the same virtual clock (an LwM2M server's timers):
  // `next` tells its next deadline, `fire` runs what is due.
  void add_timer_source(std::function<std::optional<Instant>()> next,
                        std::function<void(Instant)> fire) {
    timer_sources_.push_back({std::move(next), std::move(fire)});
  }
  // A scripted peer with no endpoint: what reaches it piles up in raw_inbox().
  void add_raw(PeerId address) { raw_[address]; }

  // Stream carriers: the connection is up on both sides (each sends its CSM).
  void connect(PeerId a, PeerId b) {
    if (auto* ep = endpoint(a)) ep->on_connected(b, now_);
    if (auto* ep = endpoint(b)) ep->on_connected(a, now_);
    settle();
  }

  // --- faults -------------------------------------------------------------
  // Drops the packet with this sequence number (see next_seq()).
  void drop_nth(std::size_t seq) { drop_seqs_.insert(seq); }
  void drop_if(PacketPredicate p) { drop_if_ = std::move(p); }
  void duplicate_if(PacketPredicate p) { duplicate_if_ = std::move(p); }
  // Extra latency per packet: a later packet with less delay overtakes an earlier one.
  void delay_by(std::function<Duration(const Packet&)> f) { delay_ = std::move(f); }
  void set_latency(Duration d) { latency_ = d; }
  void clear_faults() {
    drop_seqs_.clear();
    drop_if_ = nullptr;
    duplicate_if_ = nullptr;
    delay_ = nullptr;
  }

  // --- inspection ---------------------------------------------------------
  Instant now() const { return now_; }
  Duration elapsed_since(Instant t) const { return now_ - t; }
  std::size_t next_seq() const { return log_.size() + 1; }
  const std::vector<Packet>& log() const { return log_; }
  std::vector<Packet> sent(PeerId from, const PacketPredicate& match = nullptr) const {
    std::vector<Packet> out;
    for (const auto& p : log_) {
      if (p.from == from && !p.duplicate && (!match || match(p))) out.push_back(p);
    }
    return out;
  }
  std::size_t count(PeerId from, const PacketPredicate& match = nullptr) const {
    return sent(from, match).size();
  }
  std::vector<Packet>& raw_inbox(PeerId address) { return raw_[address]; }
  bool idle() const { return in_flight_.empty(); }

  // --- driving ------------------------------------------------------------
  // Puts bytes on the wire as if `from` had sent them.
  void send_raw(PeerId from, PeerId to, Bytes bytes) {
    enqueue(from, Transmit{to, Transmit::Kind::kData, std::move(bytes)});
  }
  void send_raw(PeerId from, PeerId to, const Message& m) {
    send_raw(from, to, carrier_ == Carrier::kDatagram ? encode_udp(m) : encode_tcp(m));
  }

  // Delivers everything due at the current instant, and fires due timers, until quiet.
  void settle() {
    for (int step = 0; step < kMaxSteps; ++step) {
      if (!step_once()) return;
    }
    ADD_FAILURE() << "SimNetwork::settle did not converge";
  }

  // Advances the virtual clock to `until`, stopping at each deadline and delivery.
  void run_until(Instant until) {
    run_while([] { return true; }, until);
  }
  void run_for(Duration d) { run_until(now_ + d); }

  // Runs until `done()` holds or `max` virtual time has passed; returns done().
  bool run_until(const std::function<bool()>& done, Duration max) {
    run_while([&] { return !done(); }, now_ + max);
    return done();
  }

  std::optional<Instant> next_event() const {
    std::optional<Instant> next;
    auto consider = [&](std::optional<Instant> t) {
      if (t && (!next || *t < *next)) next = t;
    };
    for (const auto& [addr, ep] : nodes_) consider(ep->next_deadline());
    for (const auto& p : in_flight_) consider(p.deliver_at);
    for (const auto& source : timer_sources_) consider(source.first());
    return next;
  }

 private:
  CarrierPort* endpoint(PeerId address) {
    auto it = nodes_.find(address);
    return it == nodes_.end() ? nullptr : it->second;
  }

  void run_while(const std::function<bool()>& keep_going, Instant until) {
    for (int step = 0; step < kMaxSteps; ++step) {
      settle();
      if (!keep_going()) return;
      auto next = next_event();
      if (!next || *next > until) {
        now_ = std::max(now_, until);
        settle();
        return;
      }
      now_ = std::max(now_, *next);
    }
    ADD_FAILURE() << "SimNetwork::run did not finish in " << kMaxSteps << " steps";
  }

  std::optional<Message> decode(const Bytes& bytes) const {
    if (carrier_ == Carrier::kDatagram) {
      auto m = decode_udp(bytes);
      if (m) return std::move(*m);
      return std::nullopt;
    }
    auto m = decode_tcp(bytes);
    if (m) return std::move(*m);
    return std::nullopt;
  }

  void enqueue(PeerId from, Transmit t) {
    Packet p;
    p.seq = log_.size() + 1;
    p.from = from;
    p.to = t.peer;
    p.kind = t.kind;
    p.bytes = std::move(t.bytes);
    p.sent = now_;
    if (p.kind == Transmit::Kind::kData) p.message = decode(p.bytes);
    Duration delay = latency_;
    if (delay_ && p.kind == Transmit::Kind::kData) delay += delay_(p);
    p.deliver_at = now_ + delay;
    if (carrier_ == Carrier::kStream) {
      // In order per direction, whatever the delays say.
      Instant& last = stream_last_[{p.from, p.to}];
      p.deliver_at = std::max(p.deliver_at, last);
      last = p.deliver_at;
    }
    p.dropped = p.kind == Transmit::Kind::kData &&
                (drop_seqs_.count(p.seq) != 0 || (drop_if_ && drop_if_(p)));
    const bool dup =
        !p.dropped && p.kind == Transmit::Kind::kData && duplicate_if_ && duplicate_if_(p);
    log_.push_back(p);
    if (p.dropped) return;
    in_flight_.push_back(p);
    if (dup) {
      p.duplicate = true;
      in_flight_.push_back(p);
    }
  }

  // One unit of work at the current instant; false when there was none.
  bool step_once() {
    for (auto& [addr, ep] : nodes_) {
      bool any = false;
      while (auto t = ep->poll_transmit()) {
        enqueue(addr, std::move(*t));
        any = true;
      }
      if (any) return true;
    }
    // The earliest due packet (ties: transmission order).
    auto best = in_flight_.end();
    for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
      if (it->deliver_at > now_) continue;
      if (best == in_flight_.end() || it->deliver_at < best->deliver_at) best = it;
    }
    if (best != in_flight_.end()) {
      Packet p = std::move(*best);
      in_flight_.erase(best);
      deliver(p);
      return true;
    }
    for (auto& [addr, ep] : nodes_) {
      auto d = ep->next_deadline();
      if (d && *d <= now_) {
        ep->on_timer(now_);
        auto after = ep->next_deadline();
        if (after && *after <= now_) {
          ADD_FAILURE() << "on_timer left a deadline that is already due";
          return false;
        }
        return true;
      }
    }
    for (auto& [next, fire] : timer_sources_) {
      auto d = next();
      if (d && *d <= now_) {
        fire(now_);
        return true;
      }
    }
    return false;
  }

  void deliver(const Packet& p) {
    if (auto raw = raw_.find(p.to); raw != raw_.end()) {
      raw->second.push_back(p);
      return;
    }
    CarrierPort* ep = endpoint(p.to);
    if (ep == nullptr) return;  // nobody there: lost
    if (p.kind == Transmit::Kind::kClose) {
      ep->on_disconnected(p.from, now_);
    } else {
      ep->receive(p.from, p.bytes, now_);
    }
  }

  Carrier carrier_;
  std::vector<std::pair<std::function<std::optional<Instant>()>, std::function<void(Instant)>>>
      timer_sources_;
  Instant now_ = epoch();
  Duration latency_{0};
  std::map<PeerId, CarrierPort*> nodes_;
  std::map<PeerId, std::vector<Packet>> raw_;
  std::vector<Packet> in_flight_;
  std::vector<Packet> log_;
  std::set<std::size_t> drop_seqs_;
  PacketPredicate drop_if_;
  PacketPredicate duplicate_if_;
  std::function<Duration(const Packet&)> delay_;
  std::map<std::pair<PeerId, PeerId>, Instant> stream_last_;
};

// --- small helpers shared by the tests ---------------------------------------

// Collects what a ResponseHandler receives.
struct Recorder {
  std::vector<Result<Message>> results;
  ResponseHandler handler() {
    return [this](Result<Message> r) { results.push_back(std::move(r)); };
  }
  std::size_t size() const { return results.size(); }
  const Message& message(std::size_t i = 0) const { return results.at(i).value(); }
  bool ok(std::size_t i = 0) const { return results.at(i).ok(); }
};

inline bool is_type(const Packet& p, Type t) {
  return p.message && p.message->type == t;
}
inline bool is_code(const Packet& p, Code c) {
  return p.message && p.message->code == c;
}
inline bool is_request(const Packet& p) {
  return p.message && p.message->code.is_request();
}
inline bool is_empty_ack(const Packet& p) {
  return p.message && p.message->type == Type::kAcknowledgement && p.message->code.is_empty();
}

inline Bytes pattern(std::size_t n, std::uint8_t salt = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::uint8_t>((i * 31 + i / 251 + salt) & 0xff);
  }
  return b;
}

inline Message get(std::string_view path, Type type = Type::kConfirmable) {
  Message m = make_request(codes::kGet, path);
  m.type = type;
  return m;
}

}  // namespace tether::coap::sim
