#pragma once
// RFC 8323 message layer for stream carriers (TCP, TLS): framing, the CSM exchange,
// Ping/Pong keep-alive, Release and Abort. TCP gives reliability, so no ACKs or MIDs.
#include <unordered_map>

#include "coap/message_layer.hpp"
#include "coap/tcp_codec.hpp"
#include "coap/timer_queue.hpp"
#include "common/random.hpp"

namespace tether::coap {

struct StreamLayerConfig {
  // What we accept, announced in our CSM (RFC 8323 5.3.1).
  std::size_t max_message_size = 1152 * 64;
  bool block_wise = true;
  // Keep-alive: a Ping after this much silence, 0 to disable; Abort if no Pong in time.
  Duration ping_interval{0};
  Duration pong_timeout{10'000};
  // RFC 8323 5.3: a peer that sends no CSM in time is aborted.
  Duration csm_timeout{10'000};
};

struct PeerCapabilities {
  std::size_t max_message_size = 1152;  // RFC 8323 5.3.1 default
  bool block_wise = false;
  bool csm_received = false;
};

class StreamLayer final : public MessageLayer {
 public:
  StreamLayer(StreamLayerConfig config, MessageSink& sink, Outbox& outbox, Random& random);

  void send(PeerId peer, Message m, Instant now) override;
  void respond(PeerId peer, const Message& request, Message response, Instant now) override;
  void receive(PeerId peer, ByteView bytes, Instant now) override;
  void on_timer(Instant now) override;
  std::optional<Instant> next_deadline() const override { return timers_.next(); }
  void on_connected(PeerId peer, Instant now) override;
  void on_disconnected(PeerId peer, Instant now) override;
  void close(PeerId peer, Instant now) override;
  void abandon(PeerId, const Bytes&, Instant) override {}
  std::size_t peer_max_message_size(PeerId peer) const override;
  bool peer_supports_block_wise(PeerId peer) const override;
  std::size_t peer_count() const override { return peers_.size(); }

  // Sends a Ping (RFC 8323 5.4) and returns its token; the Pong reaches the sink as
  // on_acknowledged(token), a missing Pong aborts the connection.
  std::optional<Bytes> ping(PeerId peer, Instant now);
  // Sends Abort with a diagnostic payload and closes (RFC 8323 5.6).
  void abort(PeerId peer, std::string_view diagnostic, Instant now);
  const PeerCapabilities* capabilities(PeerId peer) const;

 private:
  struct Peer {
    explicit Peer(std::size_t max) : decoder(max) {}
    TcpFrameDecoder decoder;
    PeerCapabilities caps;
    Instant last_heard{};
    Instant csm_deadline{};
    std::optional<Bytes> ping_token;
    Instant pong_deadline{};
    std::uint64_t generation = 0;  // tells this connection's timers from an earlier one's
  };
  enum class TimerKind : std::uint8_t { kKeepAlive, kPongTimeout, kCsmTimeout };
  struct TimerEntry {
    PeerId peer;
    TimerKind kind;
    std::uint64_t generation;
  };

  Peer& peer_state(PeerId peer, Instant now);
  void transmit(PeerId peer, const Message& m);
  void handle_signal(PeerId peer, Peer& p, Message& m, Instant now);
  void drop(PeerId peer, Instant now);

  StreamLayerConfig config_;
  MessageSink& sink_;
  Outbox& outbox_;
  Random& random_;
  std::unordered_map<PeerId, Peer> peers_;
  TimerQueue<TimerEntry> timers_;
  std::uint64_t next_generation_ = 1;
};

}  // namespace tether::coap
