#include "coap/stream_layer.hpp"

namespace tether::coap {

StreamLayer::StreamLayer(StreamLayerConfig config, MessageSink& sink, Outbox& outbox,
                         Random& random)
    : config_(config), sink_(sink), outbox_(outbox), random_(random) {}

StreamLayer::Peer& StreamLayer::peer_state(PeerId peer, Instant now) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) return it->second;
  on_connected(peer, now);
  return peers_.at(peer);
}

void StreamLayer::transmit(PeerId peer, const Message& m) {
  outbox_.push_back(Transmit{peer, Transmit::Kind::kData, encode_tcp(m)});
}

void StreamLayer::on_connected(PeerId peer, Instant now) {
  if (peers_.count(peer) != 0) return;
  Peer& p = peers_.emplace(peer, Peer(config_.max_message_size)).first->second;
  p.last_heard = now;
  p.csm_deadline = now + config_.csm_timeout;
  p.generation = next_generation_++;
  // RFC 8323 5.3: each side sends its CSM first, without waiting for the other.
  Message csm;
  csm.code = codes::kCsm;
  csm.options.add_uint(option::kCsmMaxMessageSize, config_.max_message_size);
  if (config_.block_wise) csm.options.add(option::kCsmBlockWiseTransfer, Bytes{});
  transmit(peer, csm);
  timers_.schedule(p.csm_deadline, TimerEntry{peer, TimerKind::kCsmTimeout, p.generation});
  if (config_.ping_interval.count() > 0) {
    timers_.schedule(now + config_.ping_interval,
                     TimerEntry{peer, TimerKind::kKeepAlive, p.generation});
  }
}

void StreamLayer::send(PeerId peer, Message m, Instant now) {
  peer_state(peer, now);
  transmit(peer, m);
}

void StreamLayer::respond(PeerId peer, const Message&, Message response, Instant now) {
  if (peers_.count(peer) == 0) return;  // connection gone: the response has nowhere to go
  send(peer, std::move(response), now);
}

void StreamLayer::receive(PeerId peer, ByteView bytes, Instant now) {
  {
    Peer& p = peer_state(peer, now);
    p.last_heard = now;
    p.decoder.feed(bytes);
  }
  for (;;) {
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;  // closed by a handler or an Abort
    Peer& p = it->second;
    auto next = p.decoder.next();
    if (!next) {
      abort(peer, next.error().reason, now);
      return;
    }
    if (!*next) return;
    Message m = std::move(**next);
    if (!p.caps.csm_received && m.code != codes::kCsm) {
      abort(peer, "the first message must be a CSM", now);
      return;
    }
    if (m.code.is_signaling()) {
      handle_signal(peer, p, m, now);
      continue;
    }
    if (m.code.is_empty()) continue;  // RFC 8323 4.4: empty messages are ignored
    sink_.on_message(peer, std::move(m), now);
  }
}

void StreamLayer::handle_signal(PeerId peer, Peer& p, Message& m, Instant now) {
  switch (m.code.value) {
    case codes::kCsm.value: {
      for (const auto& o : m.options.list()) {
        if (o.number == option::kCsmMaxMessageSize) {
          auto v = decode_uint(o.value);
          if (v) p.caps.max_message_size = static_cast<std::size_t>(*v);
        } else if (o.number == option::kCsmBlockWiseTransfer) {
          p.caps.block_wise = true;
        } else if (option::is_critical(o.number)) {
          // RFC 8323 5.3: an unknown critical CSM option aborts, naming it.
          Message ab;
          ab.code = codes::kAbort;
          ab.options.add_uint(option::kAbortBadCsmOption, o.number);
          ab.payload = to_bytes("unsupported critical CSM option");
          transmit(peer, ab);
          drop(peer, now);
          return;
        }
      }
      p.caps.csm_received = true;
      return;
    }
    case codes::kPing.value: {
      Message pong;
      pong.code = codes::kPong;
      pong.token = m.token;
      transmit(peer, pong);
      return;
    }
    case codes::kPong.value:
      if (p.ping_token && *p.ping_token == m.token) {
        p.ping_token.reset();
        sink_.on_acknowledged(peer, m.token, now);
      }
      return;
    case codes::kRelease.value: {
      // RFC 8323 5.5: the peer wants us to close; its options say where and when to come
      // back. Malformed ones are ignored, the close happens anyway.
      ReleaseAdvice advice;
      for (const auto& o : m.options.list()) {
        if (o.number == option::kReleaseAlternativeAddress && !o.value.empty() &&
            o.value.size() <= 255) {
          advice.alternative_addresses.emplace_back(o.value.begin(), o.value.end());
        } else if (o.number == option::kReleaseHoldOff && o.value.size() <= 3) {
          if (auto v = decode_uint(o.value)) advice.hold_off = Duration{std::int64_t{1000} * *v};
        }
      }
      sink_.on_peer_released(peer, advice, now);
      drop(peer, now);
      return;
    }
    case codes::kAbort.value:
      drop(peer, now);
      return;
    default:
      abort(peer, "unknown signaling code " + m.code.to_string(), now);
      return;
  }
}

std::optional<Bytes> StreamLayer::ping(PeerId peer, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  Peer& p = it->second;
  Message ping;
  ping.code = codes::kPing;
  ping.token.resize(4);
  random_.fill(ping.token);
  p.ping_token = ping.token;
  p.pong_deadline = now + config_.pong_timeout;
  transmit(peer, ping);
  timers_.schedule(p.pong_deadline, TimerEntry{peer, TimerKind::kPongTimeout, p.generation});
  return ping.token;
}

void StreamLayer::abort(PeerId peer, std::string_view diagnostic, Instant now) {
  if (peers_.count(peer) == 0) return;
  Message ab;
  ab.code = codes::kAbort;
  ab.payload = to_bytes(diagnostic.substr(0, 200));
  transmit(peer, ab);
  drop(peer, now);
}

void StreamLayer::close(PeerId peer, Instant now) {
  if (peers_.count(peer) == 0) return;
  Message rel;
  rel.code = codes::kRelease;
  transmit(peer, rel);
  drop(peer, now);
}

void StreamLayer::drop(PeerId peer, Instant now) {
  if (peers_.erase(peer) == 0) return;
  outbox_.push_back(Transmit{peer, Transmit::Kind::kClose, {}});
  sink_.on_peer_closed(peer, now);
}

void StreamLayer::on_disconnected(PeerId peer, Instant now) {
  if (peers_.erase(peer) == 0) return;
  sink_.on_peer_closed(peer, now);
}

void StreamLayer::on_timer(Instant now) {
  while (auto entry = timers_.pop_due(now)) {
    auto it = peers_.find(entry->peer);
    if (it == peers_.end() || it->second.generation != entry->generation) continue;
    Peer& p = it->second;
    switch (entry->kind) {
      case TimerKind::kCsmTimeout:
        // The deadline check skips a timer left over from an earlier connection.
        if (!p.caps.csm_received && p.csm_deadline <= now) {
          abort(entry->peer, "no CSM received", now);
        }
        break;
      case TimerKind::kPongTimeout:
        if (p.ping_token && p.pong_deadline <= now) abort(entry->peer, "no Pong received", now);
        break;
      case TimerKind::kKeepAlive: {
        const Instant due = p.last_heard + config_.ping_interval;
        if (due <= now) {
          if (!p.ping_token) ping(entry->peer, now);
          timers_.schedule(now + config_.ping_interval,
                           TimerEntry{entry->peer, TimerKind::kKeepAlive, p.generation});
        } else {
          timers_.schedule(due, TimerEntry{entry->peer, TimerKind::kKeepAlive, p.generation});
        }
        break;
      }
    }
  }
}

std::size_t StreamLayer::peer_max_message_size(PeerId peer) const {
  auto* c = capabilities(peer);
  return c ? c->max_message_size : PeerCapabilities{}.max_message_size;
}

bool StreamLayer::peer_supports_block_wise(PeerId peer) const {
  auto* c = capabilities(peer);
  return c && c->block_wise;
}

const PeerCapabilities* StreamLayer::capabilities(PeerId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.caps;
}

}  // namespace tether::coap
