#include "tls/secure_layer.hpp"

#include <cstring>

namespace tether::tls {

using coap::PeerId;
using coap::Transmit;

SecureLayer::SecureLayer(SecureLayerConfig config, Backend& backend, coap::CarrierPort& inner)
    : config_(config), backend_(backend), inner_(inner) {}

SecureLayer::~SecureLayer() = default;

void SecureLayer::emit(SecureEvent e) {
  if (on_event_) on_event_(e);
}

const PeerIdentity* SecureLayer::identity(PeerId peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.established) return nullptr;
  return &it->second.session->peer_identity();
}

const Failure* SecureLayer::last_failure(PeerId peer) const {
  auto it = failures_.find(peer);
  return it == failures_.end() ? nullptr : &it->second;
}

bool SecureLayer::established(PeerId peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.established;
}

bool SecureLayer::handshaking(PeerId peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && !it->second.established;
}

// --- client side --------------------------------------------------------------

void SecureLayer::set_credentials(PeerId peer, ClientCredentials credentials, Instant now) {
  now_ = now;
  auto [it, fresh] = credentials_.try_emplace(peer, credentials);
  if (!fresh) {
    if (it->second == credentials) return;
    it->second = std::move(credentials);
    resumption_.erase(peer);  // a session resumed would keep the old authentication
    if (config_.renew_on_credential_change && peers_.count(peer) != 0) reset(peer, now);
  }
  // A TLS connection already up waits for its credentials before handshaking.
  if (config_.carriage == Carriage::kStream && connected_.count(peer) != 0 &&
      peers_.count(peer) == 0) {
    start_client(peer, now);
  }
}

void SecureLayer::start_client(PeerId peer, Instant now) {
  auto creds = credentials_.find(peer);
  auto& p = peers_[peer];
  if (creds == credentials_.end()) {
    p.queued.clear();
    end(peer, SecureEvent::Kind::kFailed,
        Failure{Recovery::kFail, std::nullopt, std::nullopt, "no credentials for this peer"}, now);
    return;
  }
  auto resume = resumption_.find(peer);
  auto session =
      backend_.client_session(config_.carriage, creds->second,
                              resume == resumption_.end() ? ByteView{} : ByteView(resume->second));
  if (!session) {
    end(peer, SecureEvent::Kind::kFailed,
        Failure{Recovery::kFail, std::nullopt, std::nullopt, session.error().reason}, now);
    return;
  }
  p.session = std::move(*session);
  ++half_open_;
  p.session->start(now);
  pump(peer, now);
}

void SecureLayer::reset(PeerId peer, Instant now) {
  now_ = now;
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.session) return;
  close_session(peer);
  if (config_.carriage == Carriage::kStream) {
    // TLS cannot start over on the same connection: close it too.
    outbox_.push_back(Transmit{peer, Transmit::Kind::kClose, {}});
    connected_.erase(peer);
  }
  inner_.on_disconnected(peer, now);
}

// --- server side --------------------------------------------------------------

void SecureLayer::admit(PeerId peer, ByteView client_hello, Instant now) {
  if (half_open_ >= config_.max_half_open) return;  // a flood: the client retransmits later
  Bytes address(sizeof(peer));
  std::memcpy(address.data(), &peer, sizeof(peer));
  auto admission = backend_.admit_datagram(client_hello, address, now);
  if (!admission.reply.empty()) {
    outbox_.push_back(Transmit{peer, Transmit::Kind::kData, std::move(admission.reply)});
  }
  if (!admission.session) return;
  if (peers_.count(peer) != 0) {
    // RFC 6347 4.2.8: a verified new ClientHello from a known address is a client that lost
    // its state (a reboot); the old session goes.
    forget(peer);
    inner_.on_disconnected(peer, now);
  }
  add_session(peer, std::move(admission.session), now);
  // Only if the session survived its first hello: a failed one is gone already.
  if (auto it = peers_.find(peer); it != peers_.end()) {
    if (auto random = client_hello_random(client_hello)) it->second.hello_random = *random;
  }
}

void SecureLayer::add_session(PeerId peer, std::unique_ptr<Session> session, Instant now) {
  auto& p = peers_[peer];
  p.session = std::move(session);
  ++half_open_;
  pump(peer, now);
}

// --- carrier side -------------------------------------------------------------

void SecureLayer::receive(PeerId peer, ByteView bytes, Instant now) {
  now_ = now;
  auto it = peers_.find(peer);
  const bool has_session = it != peers_.end() && it->second.session;
  if (config_.role == Role::kServer && config_.carriage == Carriage::kDatagram) {
    // A hello with a new client random while a handshake runs is a client that started
    // over (it lost its state mid-handshake; over SMS its number stays the same): it goes
    // through the cookie check again and, verified, replaces the half-open session.
    const auto random = client_hello_random(bytes);
    const bool restarted =
        has_session && !it->second.established && random && *random != it->second.hello_random;
    if (!has_session || restarted || (it->second.established && is_client_hello(bytes))) {
      if (is_client_hello(bytes)) admit(peer, bytes, now);
      return;
    }
  }
  if (!has_session) return;  // nothing to decrypt it with: dropped (RFC 6347 4.1.2.7)
  it->second.session->feed(bytes, now);
  pump(peer, now);
}

void SecureLayer::on_connected(PeerId peer, Instant now) {
  now_ = now;
  connected_.insert(peer);
  if (config_.role == Role::kServer) {
    auto session = backend_.server_stream_session();
    if (!session) {
      outbox_.push_back(Transmit{peer, Transmit::Kind::kClose, {}});
      return;
    }
    add_session(peer, std::move(*session), now);
    return;
  }
  if (credentials_.count(peer) != 0) start_client(peer, now);
}

void SecureLayer::on_disconnected(PeerId peer, Instant now) {
  now_ = now;
  connected_.erase(peer);
  const bool had_session = peers_.count(peer) != 0;
  forget(peer);
  if (had_session || config_.carriage == Carriage::kStream) inner_.on_disconnected(peer, now);
}

void SecureLayer::on_timer(Instant now) {
  now_ = now;
  while (auto peer = timers_.pop_due(now)) {
    auto it = peers_.find(*peer);
    if (it == peers_.end() || !it->second.session) continue;
    auto due = it->second.session->deadline();
    if (!due || *due > now) continue;
    it->second.session->on_timer(now);
    pump(*peer, now);
  }
  close_idle(now);
  if (auto d = inner_.next_deadline(); d && *d <= now) inner_.on_timer(now);
}

std::optional<Instant> SecureLayer::idle_deadline() const {
  if (!config_.idle_timeout || lru_.empty()) return std::nullopt;
  return peers_.at(lru_.front()).last_active + *config_.idle_timeout;
}

void SecureLayer::close_idle(Instant now) {
  // The list runs from the least recently active: only its head can be due.
  for (auto due = idle_deadline(); due && *due <= now; due = idle_deadline()) {
    reset(lru_.front(), now);
  }
}

std::optional<Instant> SecureLayer::next_deadline() const {
  auto ours = timers_.next();
  if (auto idle = idle_deadline(); idle && (!ours || *idle < *ours)) ours = idle;
  auto theirs = inner_.next_deadline();
  if (!ours) return theirs;
  if (!theirs) return ours;
  return std::min(*ours, *theirs);
}

std::optional<Transmit> SecureLayer::poll_transmit() {
  for (int guard = 0; guard < 100'000; ++guard) {
    if (!outbox_.empty()) {
      Transmit t = std::move(outbox_.front());
      outbox_.pop_front();
      return t;
    }
    if (auto t = inner_.poll_transmit()) {
      if (t->kind == Transmit::Kind::kClose) {
        close_session(t->peer);
        connected_.erase(t->peer);
        outbox_.push_back(std::move(*t));
      } else {
        to_peer(t->peer, std::move(t->bytes));
      }
      continue;
    }
    if (lost_.empty()) return std::nullopt;
    // Messages the server could not protect: their exchanges fail now, not after a timeout.
    auto lost = std::move(lost_);
    lost_.clear();
    for (PeerId peer : lost) inner_.on_disconnected(peer, now_);
  }
  return std::nullopt;
}

void SecureLayer::to_peer(PeerId peer, Bytes plaintext) {
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second.established) {
    Peer& p = it->second;
    if (p.session->write(plaintext)) {
      send_records(peer, *p.session);
    } else if (p.session->state() == Session::State::kFailed) {
      // The session cannot go on (its sequence numbers ran out): the next message
      // handshakes anew rather than being dropped like this one.
      end(peer, SecureEvent::Kind::kFailed, p.session->failure(), now_);
    }
    return;
  }
  if (config_.role == Role::kServer) {
    lost_.push_back(peer);
    return;
  }
  auto& p = peers_[peer];
  // CoAP retransmits while the handshake runs: the last copies are enough.
  if (p.queued.size() >= config_.max_queued_per_peer) p.queued.pop_front();
  p.queued.push_back(std::move(plaintext));
  const bool waits_for_connection =
      config_.carriage == Carriage::kStream && connected_.count(peer) == 0;
  if (!p.session && !waits_for_connection) start_client(peer, now_);
}

void SecureLayer::send_records(PeerId peer, Session& s) {
  while (auto out = s.poll_output()) {
    outbox_.push_back(Transmit{peer, Transmit::Kind::kData, std::move(*out)});
  }
}

void SecureLayer::touch(Peer& p, Instant now) {
  p.last_active = now;
  if (p.established) lru_.splice(lru_.end(), lru_, p.lru);
}

void SecureLayer::pump(PeerId peer, Instant now) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.session) return;
  Session& s = *it->second.session;
  send_records(peer, s);
  const auto state = s.state();
  if (state == Session::State::kEstablished && !it->second.established) {
    Peer& p = it->second;
    p.established = true;
    p.last_active = now;
    --half_open_;
    p.lru = lru_.insert(lru_.end(), peer);
    failures_.erase(peer);
    if (config_.role == Role::kClient) resumption_[peer] = s.resumption_data();
    emit(SecureEvent{SecureEvent::Kind::kEstablished, peer, s.peer_identity(), {}});
    auto queued = std::move(p.queued);
    p.queued.clear();
    for (auto& m : queued) {
      if (s.write(m)) send_records(peer, s);
    }
    if (config_.carriage == Carriage::kStream) inner_.on_connected(peer, now);
    while (lru_.size() > config_.max_sessions) {
      const PeerId oldest = lru_.front();
      if (oldest == peer) break;
      reset(oldest, now);
    }
  }
  // Plaintext goes up one message at a time; the endpoint may answer or reset the peer.
  for (;;) {
    auto again = peers_.find(peer);
    if (again == peers_.end() || !again->second.session) return;
    auto pt = again->second.session->poll_plaintext();
    if (!pt) break;
    touch(again->second, now);
    inner_.receive(peer, *pt, now);
  }
  auto again = peers_.find(peer);
  if (again == peers_.end() || !again->second.session) return;
  if (again->second.established && !again->second.compact) {
    if (auto lean = again->second.session->compact()) {
      again->second.session = std::move(lean);
      again->second.compact = true;
      ++compact_;
      ++compacted_total_;
    }
  }
  Session& live = *again->second.session;
  if (live.state() == Session::State::kFailed || live.state() == Session::State::kClosed) {
    const auto kind = live.state() == Session::State::kFailed ? SecureEvent::Kind::kFailed
                                                              : SecureEvent::Kind::kClosed;
    end(peer, kind, live.failure(), now);
    return;
  }
  if (auto d = live.deadline()) timers_.schedule(*d, peer);
}

void SecureLayer::end(PeerId peer, SecureEvent::Kind kind, Failure failure, Instant now) {
  failures_[peer] = failure;
  forget(peer);
  if (config_.carriage == Carriage::kStream) {
    outbox_.push_back(Transmit{peer, Transmit::Kind::kClose, {}});
    connected_.erase(peer);
  }
  emit(SecureEvent{kind, peer, {}, std::move(failure)});
  // The endpoint's exchanges with this peer fail now rather than time out.
  inner_.on_disconnected(peer, now);
}

void SecureLayer::close_session(PeerId peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second.session) {
    it->second.session->close();
    send_records(peer, *it->second.session);
  }
  forget(peer);
}

void SecureLayer::forget(PeerId peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (it->second.compact) --compact_;
  if (it->second.session) {
    if (it->second.established) {
      lru_.erase(it->second.lru);
    } else {
      --half_open_;
    }
  }
  peers_.erase(it);
}

}  // namespace tether::tls
