#include "lorawan/con_retransmission.hpp"

#include <algorithm>

namespace tether::lorawan {

namespace {
enum : std::uint8_t { kCon = 0, kNon = 1, kAck = 2, kRst = 3 };

struct Header {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint16_t mid = 0;
};

std::optional<Header> header_of(ByteView b) {
  if (b.size() < 4 || (b[0] >> 6) != 1) return std::nullopt;
  return Header{static_cast<std::uint8_t>((b[0] >> 4) & 3), b[1],
                static_cast<std::uint16_t>((b[2] << 8) | b[3])};
}

bool is_empty_con(ByteView b) {
  auto h = header_of(b);
  return h && h->type == kCon && h->code == 0 && b.size() == 4;
}
}  // namespace

ConRetransmission::ConRetransmission(ConRetransmissionConfig config, coap::CarrierPort& inner)
    : config_(config), inner_(inner) {}

void ConRetransmission::erase(Peer& p, std::uint16_t mid) {
  p.cons.erase(std::remove_if(p.cons.begin(), p.cons.end(),
                              [mid](const Pending& c) { return c.mid == mid; }),
               p.cons.end());
  if (p.cons.empty()) p.poll_at.reset();
}

ConRetransmission::Pending* ConRetransmission::find(Peer& p, std::uint16_t mid) {
  for (auto& c : p.cons) {
    if (c.mid == mid) return &c;
  }
  return nullptr;
}

void ConRetransmission::rearm(coap::PeerId id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  std::optional<Instant> next = p.poll_at;
  for (const auto& c : p.cons) {
    if (c.deadline && (!next || *c.deadline < *next)) next = c.deadline;
    if (!next || c.expires < *next) next = c.expires;
  }
  if (p.armed == next && (next || !p.cons.empty())) return;
  if (p.armed) timers_.erase({*p.armed, id});
  p.armed = next;
  if (next) timers_.insert({*next, id});
  if (p.cons.empty() && !next) peers_.erase(it);
}

void ConRetransmission::receive(coap::PeerId peer, ByteView bytes, Instant now) {
  now_ = now;
  auto h = header_of(bytes);
  if (h && (h->type == kAck || h->type == kRst)) {
    if (auto it = peers_.find(peer); it != peers_.end()) {
      // The answer to one of our polls (a server that takes it for a ping): ours alone.
      auto& polls = it->second.polls;
      if (std::find(polls.begin(), polls.end(), h->mid) != polls.end()) {
        polls.erase(std::find(polls.begin(), polls.end(), h->mid));
        return;
      }
      erase(it->second, h->mid);
      rearm(peer);
    }
  }
  if (config_.side == ConRetransmissionConfig::Side::kApplicationServer && is_empty_con(bytes)) {
    // C.3.1.1 step 2: it only opened a receive window for what we queued.
    ++counters_.polls_heard;
    return;
  }
  inner_.receive(peer, bytes, now);
}

void ConRetransmission::on_disconnected(coap::PeerId peer, Instant now) {
  if (auto it = peers_.find(peer); it != peers_.end()) {
    it->second.cons.clear();
    it->second.poll_at.reset();
    rearm(peer);
  }
  inner_.on_disconnected(peer, now);
}

std::optional<coap::Transmit> ConRetransmission::poll_transmit() {
  if (!out_.empty()) {
    auto t = std::move(out_.front());
    out_.pop_front();
    return t;
  }
  auto t = inner_.poll_transmit();
  if (!t || t->kind != coap::Transmit::Kind::kData) return t;
  auto h = header_of(t->bytes);
  if (h && h->type == kCon && h->code != 0) {
    Peer& p = peers_[t->peer];
    if (find(p, h->mid) == nullptr) {
      // Bounded per peer: the endpoint sends one CON at a time (NSTART 1); more than a few
      // here are exchanges it gave up on.
      if (p.cons.size() >= kMaxPerPeer) {
        ++counters_.gave_up;
        p.cons.pop_front();
      }
      Pending c;
      c.mid = h->mid;
      c.wire = t->bytes;
      c.expires = now_ + lorawan_exchange_span(config_);
      p.cons.push_back(std::move(c));
      rearm(t->peer);
    }
  }
  return t;
}

bool ConRetransmission::rides_confirmed(ByteView frame) const {
  // C.3.1: polls too, so that the network's acknowledgement (and what it queued for us)
  // comes back, repeated by the MAC until it does.
  if (!config_.confirmed) return false;
  auto h = header_of(frame);
  return h && (h->type == kCon || h->type == kAck);
}

void ConRetransmission::resend(coap::PeerId id, Pending& c) {
  ++counters_.resent;
  ++c.attempts;
  c.with_carrier = true;
  c.deadline.reset();
  out_.push_back(coap::Transmit{id, coap::Transmit::Kind::kData, c.wire});
}

void ConRetransmission::forget(coap::PeerId peer, ByteView frame) {
  auto it = peers_.find(peer);
  auto h = header_of(frame);
  if (it == peers_.end() || !h) return;
  ++counters_.gave_up;
  erase(it->second, h->mid);
  rearm(peer);
}

void ConRetransmission::on_carried(coap::PeerId peer, ByteView frame, bool delivered, Instant now) {
  now_ = now;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  auto h = header_of(frame);
  Pending* c = (h && h->type == kCon && h->code != 0) ? find(p, h->mid) : nullptr;
  if (config_.side == ConRetransmissionConfig::Side::kApplicationServer) {
    if (c == nullptr || !c->with_carrier) return;
    c->with_carrier = false;
    if (delivered) {
      c->deadline = now + config_.ack_timeout;
    } else if (c->attempts < config_.max_retransmit) {
      resend(peer, *c);
    } else {
      ++counters_.gave_up;
      erase(p, c->mid);
    }
    rearm(peer);
    return;
  }
  // The endpoint: any frame of ours opened windows; the next one opens after poll_delay.
  if (c != nullptr) {
    c->with_carrier = false;
    // Never acknowledged by the network: the CON itself has to go again (C.3.1).
    if (!delivered) c->resend_next = true;
  }
  if (!p.cons.empty()) p.poll_at = now + config_.poll_delay;
  rearm(peer);
}

void ConRetransmission::step_endpoint(coap::PeerId id, Peer& p) {
  p.poll_at.reset();
  while (!p.cons.empty()) {
    Pending& c = p.cons.front();
    if (c.with_carrier) return;  // its frame is still with the MAC: wait for its word
    // C.3.2.1 repeats a poll and a resend MAX_RETRANSMIT times each.
    const unsigned limit = config_.confirmed ? config_.max_retransmit : 2 * config_.max_retransmit;
    if (c.attempts >= limit) {
      ++counters_.gave_up;
      p.cons.pop_front();
      continue;
    }
    if (c.resend_next) {
      c.resend_next = false;
      resend(id, c);
      return;
    }
    ++c.attempts;
    ++counters_.polls;
    // C.3.2.1 step 3: after a poll, the CON itself.
    c.resend_next = !config_.confirmed;
    const std::uint16_t mid = next_poll_mid_++;
    if (next_poll_mid_ == 0) next_poll_mid_ = 0x8000;
    p.polls.push_back(mid);
    if (p.polls.size() > kMaxPerPeer) p.polls.pop_front();
    Bytes poll{0x40, 0x00, static_cast<std::uint8_t>(mid >> 8), static_cast<std::uint8_t>(mid)};
    out_.push_back(coap::Transmit{id, coap::Transmit::Kind::kData, std::move(poll)});
    return;
  }
}

void ConRetransmission::on_timer(Instant now) {
  now_ = now;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const coap::PeerId id = timers_.begin()->second;
    Peer& p = peers_.at(id);
    timers_.erase(timers_.begin());
    p.armed.reset();
    // Exchanges the endpoint under us has given up on by now.
    const auto before = p.cons.size();
    p.cons.erase(std::remove_if(p.cons.begin(), p.cons.end(),
                                [now](const Pending& c) { return c.expires <= now; }),
                 p.cons.end());
    counters_.gave_up += before - p.cons.size();
    if (p.cons.empty()) p.poll_at.reset();
    if (config_.side == ConRetransmissionConfig::Side::kEndpoint) {
      if (p.poll_at && *p.poll_at <= now) step_endpoint(id, p);
    } else {
      for (auto c = p.cons.begin(); c != p.cons.end();) {
        if (!c->deadline || *c->deadline > now) {
          ++c;
          continue;
        }
        // C.3.1.2: over confirmed frames the network already repeated it: no ACK is final.
        if (config_.confirmed || c->attempts >= config_.max_retransmit) {
          ++counters_.gave_up;
          c = p.cons.erase(c);
          continue;
        }
        resend(id, *c);  // C.3.2.2 step 3
        ++c;
      }
    }
    rearm(id);
  }
  inner_.on_timer(now);
}

std::optional<Instant> ConRetransmission::next_deadline() const {
  auto inner = inner_.next_deadline();
  if (timers_.empty()) return inner;
  const Instant own = timers_.begin()->first;
  return inner ? std::min(*inner, own) : own;
}

std::size_t ConRetransmission::outstanding() const {
  std::size_t n = 0;
  for (const auto& [id, p] : peers_) n += p.cons.size();
  return n;
}

Duration lorawan_exchange_span(const ConRetransmissionConfig& c) {
  const unsigned steps = c.confirmed ? c.max_retransmit : 2 * c.max_retransmit;
  return std::max(c.ack_timeout, c.poll_delay) * static_cast<std::int64_t>(steps + 2);
}

coap::EndpointConfig lorawan_endpoint_config(coap::EndpointConfig base,
                                             const ConRetransmissionConfig& c) {
  base.carrier = coap::Carrier::kDatagram;
  auto& p = base.datagram.params;
  p.max_retransmit = 0;
  p.ack_random_factor = 1.0;
  p.exponential_backoff = false;
  p.ack_timeout = lorawan_exchange_span(c);
  p.max_latency = c.ack_timeout;
  // Transport TS 6.8.4: piggybacked responses only; a slow handler still answers in one.
  base.datagram.piggyback_window = c.ack_timeout / 2;
  base.datagram.max_message_size = 222;
  base.block_szx = 3;
  // Every octet counts in a 51-octet frame.
  base.token_length = 4;
  base.request_tag_length = 2;
  return base;
}

}  // namespace tether::lorawan
