#pragma once
// The seam between the server engines and the bindings that carry LwM2M (Transport TS 6 CoAP,
// 8 MQTT, later 7 HTTP). A ServerLink is one attached binding instance: it decodes a client's
// requests into lwm2m::Uplink values, encodes the engine's answers, carries DownlinkRequests
// to clients and their answers back, and says who a peer is. The engines see peers as
// PeerKeys and exchanges as ExchangeIds, never a socket, a CoAP message or an MQTT topic.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/time.hpp"
#include "lwm2m/operation/downlink_request.hpp"
#include "lwm2m/operation/uplink.hpp"
#include "server/registration_registry.hpp"

namespace tether::server {

// A peer as its link knows it: CoAP numbers peers (`number`), MQTT names them by the
// endpoint of their topic (`name`). Meaningful only to the link that made it.
struct PeerKey {
  std::uint64_t number = 0;
  std::string name;
  bool known() const { return number != 0 || !name.empty(); }
  friend auto operator<=>(const PeerKey&, const PeerKey&) = default;
};

class ServerLink;

// A peer together with the link that knows it, hashable: the server finds the client behind
// an uplink by it on every message.
struct LinkPeer {
  const ServerLink* link = nullptr;
  PeerKey peer;
  friend bool operator==(const LinkPeer&, const LinkPeer&) = default;
};

struct LinkPeerHash {
  std::size_t operator()(const LinkPeer& p) const noexcept {
    std::size_t h =
        std::hash<const ServerLink*>{}(p.link) ^ (p.peer.number * 0x9E3779B97F4A7C15ULL);
    if (!p.peer.name.empty()) h ^= std::hash<std::string>{}(p.peer.name) + (h << 6) + (h >> 2);
    return h;
  }
};

// A link's handle on one exchange (a request in flight, or an observation); 0: none.
using ExchangeId = std::uint64_t;

// The answer to a downlink request, then (for an Observe) each notification; an error when
// the peer could not be reached or gave up.
using AnswerHandler = std::function<void(Result<lwm2m::DownlinkResponse>)>;

// Where an uplink came from.
struct UplinkFrom {
  ServerLink* link = nullptr;
  PeerKey peer;
  // What the request was, for refusal reports: "POST /rd", "Update on lwm2m/rd/dev1".
  std::string summary;
  // The endpoint the binding itself names the sender by (MQTT's topic); CoAP names none.
  std::optional<std::string> endpoint;
};

// Answers one uplink, at most once. The link makes it on its stack, so the common case (an
// answer at once) allocates nothing; keep() makes a copy that outlives the call, for an
// answer that waits for a store commit.
class UplinkReply {
 public:
  virtual ~UplinkReply() = default;
  virtual void answer(lwm2m::UplinkAnswer answer) = 0;
  virtual std::unique_ptr<UplinkReply> keep() const = 0;
};

class ServerLink {
 public:
  using UplinkHandler = std::function<void(const UplinkFrom&, Result<lwm2m::Uplink>, UplinkReply&)>;

  virtual ~ServerLink() = default;

  // Stored with each registration ("udp", "dtls", "mqtt"); stable across restarts.
  virtual const std::string& name() const = 0;
  virtual void set_uplink_handler(UplinkHandler handler) = 0;

  // Transport TS 5.2.6: what the link knows of a peer (address, what its security proved).
  virtual PeerIdentity identify(const PeerKey& peer) const = 0;
  // The peer's address as stored in Registration::address ("127.0.0.1:5683", a topic).
  virtual std::string describe(const PeerKey& peer) const = 0;
  // The peer at a stored address, after a restart (the endpoint names it on MQTT). Fails when
  // the link cannot reach it until it speaks again (a closed TCP connection).
  virtual Result<PeerKey> peer_at(const std::string& address, const std::string& endpoint) = 0;

  // Whether the binding can carry `request` to a client whose root is `root` (4.00 why not).
  virtual Result<Ok> can_carry(const lwm2m::DownlinkRequest& request,
                               const std::string& root) const = 0;
  virtual Result<ExchangeId> request(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                                     const std::string& root, AnswerHandler handler,
                                     Instant now) = 0;
  // Ends an exchange here without telling the peer (a passive cancel, a timeout, an ended
  // registration).
  virtual void forget(ExchangeId id, Instant now) = 0;
  // Ends an observation made by `observe` and tells the client (RFC 7641 3.6, Transport TS
  // 8.3.4); the client's answer goes to `on_answer`.
  virtual void cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                                  const std::string& root, Instant now,
                                  AnswerHandler on_answer) = 0;
  // After a restart: listens again for the notifications of a stored observation.
  virtual Result<ExchangeId> adopt_observation(const PeerKey& peer,
                                               const lwm2m::DownlinkRequest& request,
                                               const std::string& root, ByteView token,
                                               AnswerHandler on_notify) = 0;
  // The token an observation runs under, as stored in ObservationRecord::token.
  virtual Bytes token_of(ExchangeId id) const = 0;
  // After a restart, whether a stored observation must be made again rather than adopted
  // (RFC 8613 B.1.3: an OSCORE observation cannot be resumed).
  virtual bool observes_again_after_restart(const std::string& endpoint) const {
    (void)endpoint;
    return false;
  }

  // Called before a request to an endpoint goes out (OSCORE binds its context to the peer).
  virtual void protect(const PeerKey& peer, const std::string& endpoint) {
    (void)peer;
    (void)endpoint;
  }
  // Seed 000: ends the peer's (D)TLS session so it handshakes again; false when there is none.
  virtual bool renew_security(const PeerKey& peer, Instant now) {
    (void)peer;
    (void)now;
    return false;
  }
  // A registered client's peer is held while its registration lasts, so a datagram link
  // keeps its address however long the client is silent (Transport::hold); the link may
  // forget peers nobody holds.
  // False when the link no longer knows the peer (see Transport::hold).
  virtual bool hold(const PeerKey& peer) {
    (void)peer;
    return true;
  }
  virtual void release(const PeerKey& peer) { (void)peer; }
  // Pushes what the link has queued (after it was used outside one of its own callbacks).
  virtual void flush() = 0;
  // What the link dropped or repeated on its own, by reason, for /metrics ("malformed": 3).
  virtual std::vector<std::pair<std::string, std::uint64_t>> counters() const { return {}; }
};

// The links an engine serves on, in attach order.
class LinkSet {
 public:
  ServerLink& add(std::unique_ptr<ServerLink> link) {
    links_.push_back(std::move(link));
    return *links_.back();
  }
  ServerLink* find(const std::string& name) const {
    for (const auto& l : links_) {
      if (l->name() == name) return l.get();
    }
    return nullptr;
  }
  ServerLink* first() const { return links_.empty() ? nullptr : links_.front().get(); }
  void flush() const {
    for (const auto& l : links_) l->flush();
  }
  const std::vector<std::unique_ptr<ServerLink>>& all() const { return links_; }

 private:
  std::vector<std::unique_ptr<ServerLink>> links_;
};

}  // namespace tether::server
