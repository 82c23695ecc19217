#include "coap/datagram_layer.hpp"

#include <algorithm>
#include <cmath>

#include "coap/udp_codec.hpp"

namespace tether::coap {

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::kTimeout:
      return "timeout";
    case Failure::kReset:
      return "reset by peer";
    case Failure::kClosed:
      return "connection closed";
    case Failure::kOverflow:
      return "too many pending messages";
    case Failure::kCancelled:
      return "cancelled";
    case Failure::kProtocol:
      return "protocol error";
  }
  return "?";
}

DatagramLayer::DatagramLayer(DatagramLayerConfig config, MessageSink& sink, Outbox& outbox,
                             Random& random)
    : config_(config), sink_(sink), outbox_(outbox), random_(random) {}

void DatagramLayer::transmit(PeerId peer, Bytes bytes) {
  outbox_.push_back(Transmit{peer, Transmit::Kind::kData, std::move(bytes)});
}

Duration DatagramLayer::initial_timeout() {
  // RFC 7252 4.2: uniformly between ACK_TIMEOUT and ACK_TIMEOUT * ACK_RANDOM_FACTOR.
  const double base = static_cast<double>(config_.params.ack_timeout.count());
  const double spread = base * (config_.params.ack_random_factor - 1.0);
  return Duration{static_cast<std::int64_t>(base + spread * random_.next_unit())};
}

void DatagramLayer::send(PeerId peer, Message m, Instant now) {
  Peer& p = peer_state(peer);
  if (m.type == Type::kConfirmable) {
    if (p.outgoing.size() >= config_.params.nstart) {
      if (p.queued.size() >= config_.max_queued_per_peer) {
        Bytes token = m.token;
        sink_.on_failed(peer, token, Failure::kOverflow, now);
        return;
      }
      p.queued.push_back(std::move(m));
      return;
    }
    start_con(peer, p, std::move(m), now);
    return;
  }
  m.message_id = p.next_mid++;
  p.last_mid_at = now;
  if (m.type == Type::kNonConfirmable && !m.code.is_empty()) {
    if (p.recent_non.size() >= config_.max_dedup_entries_per_peer) p.recent_non.pop_front();
    const Instant expires = now + config_.params.non_lifetime();
    p.recent_non.push_back(RecentNon{m.message_id, m.token, expires});
    // Its own expiry timer: otherwise the entry, and so the peer, can outlive NON_LIFETIME.
    timers_.schedule(expires, TimerEntry{peer, TimerKind::kDedupExpiry, m.message_id});
  }
  transmit(peer, encode_udp(m));
}

void DatagramLayer::start_con(PeerId peer, Peer& p, Message m, Instant now) {
  m.message_id = p.next_mid++;
  p.last_mid_at = now;
  Outgoing out;
  out.token = m.token;
  out.wire = encode_udp(m);
  out.timeout = initial_timeout();
  out.deadline = now + out.timeout;
  transmit(peer, out.wire);
  timers_.schedule(out.deadline, TimerEntry{peer, TimerKind::kRetransmit, m.message_id});
  p.outgoing[m.message_id] = std::move(out);
}

void DatagramLayer::respond(PeerId peer, const Message& request, Message response, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;  // peer forgotten (closed); nothing to answer
  Peer& p = it->second;
  if (request.type == Type::kConfirmable) {
    auto aw = awaiting_of(p, request.message_id);
    if (aw != p.awaiting.end()) {
      // Piggybacked: the ACK carries the response (RFC 7252 5.2.1).
      p.awaiting.erase(aw);
      response.type = Type::kAcknowledgement;
      response.message_id = request.message_id;
      Bytes wire = encode_udp(response);
      cache_reply(p, request.message_id, wire);
      transmit(peer, std::move(wire));
      return;
    }
    // Already acknowledged empty: a separate CON response (RFC 7252 5.2.2).
    response.type = Type::kConfirmable;
  } else {
    response.type = Type::kNonConfirmable;
  }
  send(peer, std::move(response), now);
}

void DatagramLayer::send_empty(PeerId peer, Type type, std::uint16_t mid, Peer* cache_in, Instant) {
  Message e;
  e.type = type;
  e.message_id = mid;
  Bytes wire = encode_udp(e);
  if (cache_in != nullptr) cache_reply(*cache_in, mid, wire);
  transmit(peer, std::move(wire));
}

namespace {
// What one dedup entry costs besides its reply: the map node, the order slot, the deadline.
constexpr std::size_t kSeenOverhead = 64;
}  // namespace

void DatagramLayer::remember(PeerId peer, Peer& p, std::uint16_t mid, Bytes reply,
                             Duration lifetime, Instant now) {
  p.seen_bytes += kSeenOverhead + reply.size();
  p.seen[mid] = Seen{now + lifetime, std::move(reply)};
  p.seen_order.push_back(mid);
  keep_within_budget(p);
  // Entries expire oldest first, so one timer per peer, for the oldest, is enough (one
  // per message would grow the heap with the message rate times EXCHANGE_LIFETIME).
  if (!p.seen_timer_at) {
    p.seen_timer_at = now + lifetime;
    timers_.schedule(*p.seen_timer_at, TimerEntry{peer, TimerKind::kSeenExpiry, 0});
  }
}

void DatagramLayer::cache_reply(Peer& p, std::uint16_t mid, const Bytes& wire) {
  auto seen = p.seen.find(mid);
  if (seen == p.seen.end()) return;
  // Counted now, trimmed when the next message comes: the entry just answered may be the
  // oldest, and its reply is the one a retransmission would need.
  p.seen_bytes = p.seen_bytes - seen->second.reply.size() + wire.size();
  seen->second.reply = wire;
}

void DatagramLayer::keep_within_budget(Peer& p) {
  // The newest entry always stays, and so does one whose handler is still working (its
  // reply is not there yet). Older replies leave, their IDs stay known as forgotten ones.
  while (p.seen_order.size() > 1) {
    const bool over_count = p.seen.size() + p.forgotten.size() > config_.max_dedup_entries_per_peer;
    if (!over_count && p.seen_bytes <= config_.max_dedup_bytes_per_peer) break;
    const std::uint16_t mid = p.seen_order.front();
    if (awaiting_of(p, mid) != p.awaiting.end() && !over_count) break;
    auto oldest = p.seen.find(mid);
    if (oldest != p.seen.end()) {
      p.seen_bytes -= kSeenOverhead + oldest->second.reply.size();
      p.forgotten.push_back(Forgotten{mid, oldest->second.expires});
      p.seen.erase(oldest);
    }
    p.seen_order.erase(p.seen_order.begin());
    if (p.seen.size() + p.forgotten.size() > config_.max_dedup_entries_per_peer) {
      p.forgotten.erase(p.forgotten.begin());
    }
  }
}

bool DatagramLayer::is_duplicate(const Peer& p, std::uint16_t mid) const {
  if (p.seen.count(mid) != 0) return true;
  return std::any_of(p.forgotten.begin(), p.forgotten.end(),
                     [mid](const Forgotten& f) { return f.mid == mid; });
}

void DatagramLayer::expire_seen(PeerId peer, Peer& p, Instant now) {
  std::erase_if(p.forgotten, [now](const Forgotten& f) { return f.expires <= now; });
  while (!p.seen_order.empty()) {
    auto oldest = p.seen.find(p.seen_order.front());
    if (oldest != p.seen.end() && oldest->second.expires > now) break;
    if (oldest != p.seen.end()) {
      p.seen_bytes -= kSeenOverhead + oldest->second.reply.size();
      p.seen.erase(oldest);
    }
    p.seen_order.erase(p.seen_order.begin());
  }
  std::optional<Instant> next;
  if (!p.seen_order.empty()) next = p.seen.at(p.seen_order.front()).expires;
  for (const auto& f : p.forgotten) {
    if (!next || f.expires < *next) next = f.expires;
  }
  p.seen_timer_at = next;
  if (next) timers_.schedule(*next, TimerEntry{peer, TimerKind::kSeenExpiry, 0});
}

void DatagramLayer::reply_to_duplicate(PeerId peer, Peer& p, std::uint16_t mid) {
  auto seen = p.seen.find(mid);
  // RFC 7252 4.5: answer a duplicate CON with the same reply; while the handler is still
  // working there is nothing to repeat yet.
  if (seen != p.seen.end() && !seen->second.reply.empty()) transmit(peer, seen->second.reply);
}

void DatagramLayer::receive(PeerId peer, ByteView bytes, Instant now) {
  auto decoded = decode_udp(bytes);
  if (!decoded) {
    // RFC 7252 4.2/4.3: reject a malformed CON with RST, silently drop anything else.
    auto header = peek_udp_header(bytes);
    if (header && header->type == Type::kConfirmable) {
      send_empty(peer, Type::kReset, header->message_id, nullptr, now);
    }
    return;
  }
  Message m = std::move(*decoded);
  Peer& p = peer_state(peer);
  const std::uint16_t mid = m.message_id;

  switch (m.type) {
    case Type::kAcknowledgement: {
      auto out = p.outgoing.find(mid);
      if (out == p.outgoing.end()) break;
      Bytes token = out->second.token;
      finish_outgoing(peer, p, mid, now);
      if (m.code.is_empty()) {
        sink_.on_acknowledged(peer, token, now);
      } else if (m.token == token) {
        sink_.on_acknowledged(peer, token, now);
        sink_.on_message(peer, std::move(m), now);
      } else {
        sink_.on_failed(peer, token, Failure::kProtocol, now);
      }
      break;
    }
    case Type::kReset: {
      auto out = p.outgoing.find(mid);
      if (out != p.outgoing.end()) {
        Bytes token = out->second.token;
        finish_outgoing(peer, p, mid, now);
        sink_.on_failed(peer, token, Failure::kReset, now);
        break;
      }
      for (auto non = p.recent_non.begin(); non != p.recent_non.end(); ++non) {
        if (non->mid == mid) {
          Bytes token = non->token;
          p.recent_non.erase(non);
          sink_.on_failed(peer, token, Failure::kReset, now);
          break;
        }
      }
      break;
    }
    case Type::kConfirmable:
    case Type::kNonConfirmable: {
      const bool con = m.type == Type::kConfirmable;
      if (is_duplicate(p, mid)) {
        if (con) reply_to_duplicate(peer, p, mid);  // a forgotten one has no reply: dropped
        break;
      }
      const Duration lifetime =
          con ? config_.params.exchange_lifetime() : config_.params.non_lifetime();
      remember(peer, p, mid, {}, lifetime, now);
      if (m.code.is_empty()) {
        // CoAP ping (RFC 7252 4.3): an empty CON is answered with RST.
        if (con) send_empty(peer, Type::kReset, mid, &p, now);
        break;
      }
      if (m.code.is_request()) {
        if (con) p.awaiting.push_back(AwaitingResponse{mid, now + config_.piggyback_window});
        sink_.on_message(peer, std::move(m), now);
        // Most requests are answered before on_message returns (piggybacked): only one
        // still waiting needs the timer that acknowledges it empty (RFC 7252 5.2.2).
        auto again = con ? peers_.find(peer) : peers_.end();
        if (again != peers_.end() &&
            awaiting_of(again->second, mid) != again->second.awaiting.end()) {
          timers_.schedule(now + config_.piggyback_window,
                           TimerEntry{peer, TimerKind::kEmptyAck, mid});
        }
        break;
      }
      // A separate response or a notification.
      const bool known = sink_.on_message(peer, std::move(m), now);
      auto again = peers_.find(peer);
      if (again == peers_.end()) break;
      if (con || !known) {
        send_empty(peer, known ? Type::kAcknowledgement : Type::kReset, mid, &again->second, now);
      }
      break;
    }
  }
  forget_if_idle(peer, now);
}

void DatagramLayer::finish_outgoing(PeerId peer, Peer& p, std::uint16_t mid, Instant now) {
  p.outgoing.erase(mid);
  drain_queue(peer, p, now);
}

void DatagramLayer::drain_queue(PeerId peer, Peer& p, Instant now) {
  while (p.outgoing.size() < config_.params.nstart && !p.queued.empty()) {
    Message m = std::move(p.queued.front());
    p.queued.pop_front();
    start_con(peer, p, std::move(m), now);
  }
}

void DatagramLayer::on_retransmit_timer(PeerId peer, std::uint16_t mid, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  auto out = p.outgoing.find(mid);
  if (out == p.outgoing.end() || out->second.deadline > now) return;
  Outgoing& o = out->second;
  if (o.retransmissions >= config_.params.max_retransmit) {
    Bytes token = o.token;
    finish_outgoing(peer, p, mid, now);
    sink_.on_failed(peer, token, Failure::kTimeout, now);
    return;
  }
  ++o.retransmissions;
  if (config_.params.exponential_backoff) o.timeout *= 2;
  o.deadline = now + o.timeout;
  transmit(peer, o.wire);
  timers_.schedule(o.deadline, TimerEntry{peer, TimerKind::kRetransmit, mid});
}

void DatagramLayer::on_timer(Instant now) {
  while (auto entry = timers_.pop_due(now)) {
    const PeerId peer = entry->peer;
    switch (entry->kind) {
      case TimerKind::kRetransmit:
        on_retransmit_timer(peer, entry->mid, now);
        break;
      case TimerKind::kEmptyAck: {
        auto it = peers_.find(peer);
        if (it == peers_.end()) break;
        auto aw = awaiting_of(it->second, entry->mid);
        if (aw == it->second.awaiting.end() || aw->ack_at > now) break;
        it->second.awaiting.erase(aw);
        send_empty(peer, Type::kAcknowledgement, entry->mid, &it->second, now);
        break;
      }
      case TimerKind::kRetiredExpiry: {
        auto it = retired_.find(peer);
        if (it != retired_.end() && it->second.until <= now) retired_.erase(it);
        break;
      }
      case TimerKind::kSeenExpiry: {
        auto it = peers_.find(peer);
        // A timer of a peer closed since, or superseded, is not this peer's current one.
        if (it == peers_.end() || !it->second.seen_timer_at || *it->second.seen_timer_at > now) {
          break;
        }
        expire_seen(peer, it->second, now);
        break;
      }
      case TimerKind::kDedupExpiry: {
        auto it = peers_.find(peer);
        if (it == peers_.end()) break;
        Peer& p = it->second;
        while (!p.recent_non.empty() && p.recent_non.front().expires <= now) {
          p.recent_non.pop_front();
        }
        break;
      }
    }
    forget_if_idle(peer, now);
  }
}

void DatagramLayer::close(PeerId peer, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  std::vector<Bytes> tokens;
  for (auto& [mid, out] : it->second.outgoing) tokens.push_back(out.token);
  for (auto& q : it->second.queued) tokens.push_back(q.token);
  retire(peer, it->second, now);
  peers_.erase(it);
  for (auto& t : tokens) sink_.on_failed(peer, t, Failure::kClosed, now);
}

void DatagramLayer::abandon(PeerId peer, const Bytes& token, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  erase_if(p.queued, [&](const Message& q) { return q.token == token; });
  const auto before = p.outgoing.size();
  std::erase_if(p.outgoing, [&](const auto& kv) { return kv.second.token == token; });
  if (p.outgoing.size() != before) drain_queue(peer, p, now);
  forget_if_idle(peer, now);
}

DatagramLayer::Peer& DatagramLayer::peer_state(PeerId peer) {
  auto [it, fresh] = peers_.try_emplace(peer);
  if (fresh) {
    // RFC 7252 4.4: a new peer starts at a random MID; a peer forgotten recently carries on
    // where it stopped, so no MID repeats within EXCHANGE_LIFETIME.
    auto retired = retired_.find(peer);
    if (retired != retired_.end()) {
      it->second.next_mid = retired->second.next_mid;
      retired_.erase(retired);
    } else {
      it->second.next_mid = static_cast<std::uint16_t>(random_.next_u32());
    }
  }
  return it->second;
}

std::vector<DatagramLayer::AwaitingResponse>::iterator DatagramLayer::awaiting_of(
    Peer& p, std::uint16_t mid) {
  return std::find_if(p.awaiting.begin(), p.awaiting.end(),
                      [mid](const AwaitingResponse& a) { return a.mid == mid; });
}

void DatagramLayer::forget_if_idle(PeerId peer, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  const Peer& p = it->second;
  if (p.outgoing.empty() && p.queued.empty() && p.seen.empty() && p.forgotten.empty() &&
      p.awaiting.empty() && p.recent_non.empty()) {
    retire(peer, p, now);
    peers_.erase(it);
  }
}

void DatagramLayer::retire(PeerId peer, const Peer& p, Instant now) {
  if (!p.last_mid_at || *p.last_mid_at + config_.params.exchange_lifetime() <= now) return;
  const Instant until = *p.last_mid_at + config_.params.exchange_lifetime();
  retired_[peer] = Retired{p.next_mid, until};
  timers_.schedule(until, TimerEntry{peer, TimerKind::kRetiredExpiry, 0});
}

}  // namespace tether::coap
