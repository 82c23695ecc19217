#pragma once
// The message layer sits between the codec and the exchange layer (the Endpoint). Over
// datagrams it provides reliability and deduplication (RFC 7252 4); over streams it provides
// framing and signaling (RFC 8323 3 and 5). Either way it hands whole messages up and
// queues encoded bytes for the carrier.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coap/message.hpp"
#include "common/time.hpp"

namespace tether::coap {

// A carrier-chosen handle for a remote peer (an address, a connection, an MSISDN ...).
using PeerId = std::uint64_t;

enum class Carrier { kDatagram, kStream };

struct Transmit {
  enum class Kind { kData, kClose };
  PeerId peer = 0;
  Kind kind = Kind::kData;
  Bytes bytes;
};

using Outbox = std::deque<Transmit>;

enum class Failure { kTimeout, kReset, kClosed, kOverflow, kCancelled, kProtocol };
const char* failure_name(Failure f);

// RFC 8323 5.5: what a peer that released the connection asks of us for the next one.
struct ReleaseAdvice {
  std::vector<std::string> alternative_addresses;  // "host:port" authorities, its order
  std::optional<Duration> hold_off;                // do not reconnect before this has passed
};

// What the message layer tells the exchange layer.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // A request, a response or a notification. Returns false when a response matches no
  // exchange, so the datagram layer can answer with RST (RFC 7252 4.2, RFC 7641 3.6).
  virtual bool on_message(PeerId peer, Message&& m, Instant now) = 0;
  // A CON we sent was acknowledged (delivery known, response may follow separately).
  virtual void on_acknowledged(PeerId peer, const Bytes& token, Instant now) = 0;
  // A message we sent failed: timeout or RST (datagram), connection gone (stream).
  virtual void on_failed(PeerId peer, const Bytes& token, Failure why, Instant now) = 0;
  // A stream peer closed or was aborted; everything pending with it has failed.
  virtual void on_peer_closed(PeerId peer, Instant now) = 0;
  // A stream peer sent Release (the close follows): its advice for reconnecting.
  virtual void on_peer_released(PeerId /*peer*/, const ReleaseAdvice& /*advice*/, Instant /*now*/) {
  }
};

class MessageLayer {
 public:
  virtual ~MessageLayer() = default;
  // A request or a notification. `m.type` says CON or NON over datagrams.
  virtual void send(PeerId peer, Message m, Instant now) = 0;
  // The answer to `request`: piggybacked when still possible, separate otherwise.
  virtual void respond(PeerId peer, const Message& request, Message response, Instant now) = 0;
  virtual void receive(PeerId peer, ByteView bytes, Instant now) = 0;
  virtual void on_timer(Instant now) = 0;
  virtual std::optional<Instant> next_deadline() const = 0;
  // Stream carriers: a connection is up (send CSM) / gone (drop state).
  virtual void on_connected(PeerId peer, Instant now) = 0;
  virtual void on_disconnected(PeerId peer, Instant now) = 0;
  // Graceful close (RFC 8323 5.5 Release) or forgetting a datagram peer.
  virtual void close(PeerId peer, Instant now) = 0;
  // Stops retransmitting (or sending, if still queued) messages carrying this token: the
  // exchange they belonged to has ended. Matters on SMS and LoRaWAN, where each copy costs.
  virtual void abandon(PeerId peer, const Bytes& token, Instant now) = 0;

  // Largest message the peer accepts (its CSM over streams, path MTU guess otherwise).
  virtual std::size_t peer_max_message_size(PeerId peer) const = 0;
  virtual bool peer_supports_block_wise(PeerId peer) const = 0;
  // How many peers hold state: a number tracked for memory per peer.
  virtual std::size_t peer_count() const = 0;
};

// A layer between the Endpoint and its carrier's message layer (OSCORE): it sees every
// message the endpoint sends and every whole message the carrier delivers. `wrap` builds
// the carrier's layer with the decorator's own sink and returns the decorated layer.
class LayerDecorator {
 public:
  virtual ~LayerDecorator() = default;
  using InnerFactory = std::function<std::unique_ptr<MessageLayer>(MessageSink& sink)>;
  virtual std::unique_ptr<MessageLayer> wrap(MessageSink& above,
                                             const InnerFactory& make_inner) = 0;
};

}  // namespace tether::coap
