#pragma once
// (D)TLS as a layer between a carrier and the CoAP endpoint (Transport TS 5.2), sans-I/O:
// records in from the carrier become plaintext for the endpoint, the endpoint's messages
// become records, and handshake retransmissions run on the deadline it reports. It is a
// CarrierPort over a CarrierPort, so UDP becomes DTLS and TCP becomes TLS without either
// side changing.
//
// One session per peer. As a client it handshakes on the first message towards a peer,
// with the credentials set for that peer, and resumes later sessions when it can. As a
// server it answers each new ClientHello with a cookie exchange before allocating anything,
// bounds the handshakes in progress and the sessions kept (least recently used goes first),
// and tells who each peer proved to be.
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "coap/carrier_port.hpp"
#include "coap/timer_queue.hpp"
#include "common/lazy_deque.hpp"
#include "tls/session.hpp"

namespace tether::tls {

struct SecureLayerConfig {
  Role role = Role::kClient;
  Carriage carriage = Carriage::kDatagram;
  // Server: handshakes in progress at once; further ClientHellos are dropped.
  std::size_t max_half_open = 1024;
  // Established sessions kept; beyond this the one least recently heard from is closed.
  std::size_t max_sessions = std::size_t{1} << 20;
  // Client: messages held per peer while its handshake runs.
  std::size_t max_queued_per_peer = 32;
  // Transport TS 5.2.4 (seed 000): new credentials for a peer end its live session, so
  // the next message handshakes with them.
  bool renew_on_credential_change = true;
  // Established sessions that heard nothing from their peer for this long are closed (a bound on
  // memory for devices gone for good); none by default, as a closed session makes the
  // server unable to reach a device until it handshakes again.
  std::optional<Duration> idle_timeout;
};

struct SecureEvent {
  enum class Kind : std::uint8_t { kEstablished, kFailed, kClosed };
  Kind kind = Kind::kEstablished;
  coap::PeerId peer = 0;
  PeerIdentity identity;  // kEstablished
  Failure failure;        // kFailed, kClosed
};

class SecureLayer final : public coap::CarrierPort {
 public:
  SecureLayer(SecureLayerConfig config, Backend& backend, coap::CarrierPort& inner);
  ~SecureLayer() override;
  SecureLayer(const SecureLayer&) = delete;
  SecureLayer& operator=(const SecureLayer&) = delete;

  // Client role: the credentials for `peer`, used from its next handshake.
  void set_credentials(coap::PeerId peer, ClientCredentials credentials, Instant now);
  // Ends the session with `peer` (close_notify), if any; the next message handshakes anew.
  void reset(coap::PeerId peer, Instant now);

  // Who `peer` proved to be, while its session is established.
  const PeerIdentity* identity(coap::PeerId peer) const;
  // Why the last session with `peer` failed or was closed by the peer, until a new one is up.
  const Failure* last_failure(coap::PeerId peer) const;
  bool established(coap::PeerId peer) const;
  // A handshake with `peer` is under way (not established, not failed).
  bool handshaking(coap::PeerId peer) const;
  std::size_t session_count() const { return peers_.size(); }
  // Whether the peer has an established session (it proved it holds its address).
  bool has_session(coap::PeerId peer) const {
    auto it = peers_.find(peer);
    return it != peers_.end() && it->second.established;
  }
  std::size_t half_open_count() const { return half_open_; }
  // Established sessions carried on by their record keys alone (Session::compact), now and
  // since the start.
  std::size_t compact_count() const { return compact_; }
  std::uint64_t compacted_total() const { return compacted_total_; }
  void set_event_handler(std::function<void(const SecureEvent&)> h) { on_event_ = std::move(h); }
  const SecureLayerConfig& config() const { return config_; }

  // CarrierPort
  void receive(coap::PeerId peer, ByteView bytes, Instant now) override;
  void on_connected(coap::PeerId peer, Instant now) override;
  void on_disconnected(coap::PeerId peer, Instant now) override;
  void on_timer(Instant now) override;
  std::optional<coap::Transmit> poll_transmit() override;
  std::optional<Instant> next_deadline() const override;

 private:
  struct Peer {
    std::unique_ptr<Session> session;
    LazyDeque<Bytes> queued;  // plaintext waiting for the handshake
    bool established = false;
    bool compact = false;  // the session is the lean one Session::compact() gave
    // Server: the client random of the hello that started the handshake (a hello with
    // another one while it runs is a client that started over).
    std::array<std::uint8_t, 32> hello_random{};
    Instant last_active{};
    std::list<coap::PeerId>::iterator lru;
  };

  void admit(coap::PeerId peer, ByteView client_hello, Instant now);
  void start_client(coap::PeerId peer, Instant now);
  void add_session(coap::PeerId peer, std::unique_ptr<Session> session, Instant now);
  void to_peer(coap::PeerId peer, Bytes plaintext);
  // Moves what the session produced on, and acts on its state.
  void pump(coap::PeerId peer, Instant now);
  void end(coap::PeerId peer, SecureEvent::Kind kind, Failure failure, Instant now);
  void forget(coap::PeerId peer);
  // Sends close_notify (if a session is up) and forgets the peer's session.
  void close_session(coap::PeerId peer);
  // What the peer sent keeps its session: the least recently heard from goes first, as only
  // arrivals carry a trustworthy time (sends may come from outside any callback).
  void touch(Peer& p, Instant now);
  std::optional<Instant> idle_deadline() const;
  void close_idle(Instant now);
  void emit(SecureEvent e);
  void send_records(coap::PeerId peer, Session& s);

  SecureLayerConfig config_;
  Backend& backend_;
  coap::CarrierPort& inner_;
  std::unordered_map<coap::PeerId, Peer> peers_;
  std::unordered_map<coap::PeerId, ClientCredentials> credentials_;
  std::unordered_map<coap::PeerId, Bytes> resumption_;
  std::unordered_map<coap::PeerId, Failure> failures_;
  std::unordered_set<coap::PeerId> connected_;  // stream peers whose connection is up
  std::list<coap::PeerId> lru_;                 // established, least recent first
  std::size_t half_open_ = 0;
  std::size_t compact_ = 0;
  std::uint64_t compacted_total_ = 0;
  std::deque<coap::Transmit> outbox_;
  std::vector<coap::PeerId> lost_;  // server: messages for peers without a session
  coap::TimerQueue<coap::PeerId> timers_;
  Instant now_{};
  std::function<void(const SecureEvent&)> on_event_;
};

}  // namespace tether::tls
