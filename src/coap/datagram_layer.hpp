#pragma once
// RFC 7252 section 4 message layer for datagram carriers (UDP, DTLS, SMS, LoRaWAN, NIDD):
// CON/NON/ACK/RST, message IDs, exponential back-off, NSTART, duplicate detection with a
// cached reply for EXCHANGE_LIFETIME, empty ACK when a response is slow, CoAP ping.
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "coap/message_layer.hpp"
#include "coap/timer_queue.hpp"
#include "coap/transmission_parameters.hpp"
#include "common/lazy_deque.hpp"
#include "common/random.hpp"

namespace tether::coap {

struct DatagramLayerConfig {
  TransmissionParameters params;
  // How long a handler may take before its CON request gets an empty ACK and the
  // response goes separately (RFC 7252 5.2.2).
  Duration piggyback_window{1000};
  std::size_t max_message_size = 1152;
  // A carrier whose frame size differs per peer (LoRaWAN: the device's data rate) says so
  // here; block-wise sizes follow. Unset: max_message_size for everyone.
  std::function<std::size_t(PeerId)> max_message_size_of;
  // Bounded memory per peer. Duplicate detection (RFC 7252 4.5) keeps the newest messages'
  // replies within a byte budget, each counted with its bookkeeping: a client that waits for
  // each answer (NSTART 1) only ever repeats its latest ones. An older message keeps only
  // its ID until EXCHANGE_LIFETIME ends (16 bytes), so a late copy of it is dropped, never
  // handled twice; at most this many IDs and replies together.
  std::size_t max_dedup_entries_per_peer = 256;
  std::size_t max_dedup_bytes_per_peer = 512;
  std::size_t max_queued_per_peer = 128;
};

class DatagramLayer final : public MessageLayer {
 public:
  DatagramLayer(DatagramLayerConfig config, MessageSink& sink, Outbox& outbox, Random& random);

  void send(PeerId peer, Message m, Instant now) override;
  void respond(PeerId peer, const Message& request, Message response, Instant now) override;
  void receive(PeerId peer, ByteView bytes, Instant now) override;
  void on_timer(Instant now) override;
  std::optional<Instant> next_deadline() const override { return timers_.next(); }
  void on_connected(PeerId, Instant) override {}
  void on_disconnected(PeerId peer, Instant now) override { close(peer, now); }
  void close(PeerId peer, Instant now) override;
  void abandon(PeerId peer, const Bytes& token, Instant now) override;
  std::size_t peer_max_message_size(PeerId peer) const override {
    return config_.max_message_size_of ? config_.max_message_size_of(peer)
                                       : config_.max_message_size;
  }
  bool peer_supports_block_wise(PeerId) const override { return true; }
  std::size_t peer_count() const override { return peers_.size(); }

  const DatagramLayerConfig& config() const { return config_; }

 private:
  struct Outgoing {
    Bytes token;
    Bytes wire;
    unsigned retransmissions = 0;
    Duration timeout{};
    Instant deadline{};
  };
  struct Seen {
    Instant expires{};
    Bytes reply;  // cached ACK/RST/piggybacked response; empty while the handler works
  };
  struct AwaitingResponse {
    std::uint16_t mid = 0;
    Instant ack_at{};
  };
  // A message whose reply left the cache: its ID is still known until it expires.
  struct Forgotten {
    std::uint16_t mid;
    Instant expires{};
  };
  struct RecentNon {
    std::uint16_t mid;
    Bytes token;
    Instant expires{};
  };
  struct Peer {
    std::uint16_t next_mid = 0;
    std::optional<Instant> last_mid_at;  // when we last used a MID towards this peer
    std::unordered_map<std::uint16_t, Outgoing> outgoing;  // our CONs awaiting ACK/RST
    LazyDeque<Message> queued;                             // CONs held back by NSTART
    std::unordered_map<std::uint16_t, Seen> seen;          // dedup of their messages
    // Oldest first; a few entries (the byte budget bounds them), so a vector.
    std::vector<std::uint16_t> seen_order;
    std::size_t seen_bytes = 0;  // counted against the budget
    // Oldest first; a vector, which costs nothing while empty (a deque allocates ~600 B).
    std::vector<Forgotten> forgotten;
    // One expiry timer per peer, for the oldest entry; a timer for another instant is stale.
    std::optional<Instant> seen_timer_at;
    // Their CON requests not answered yet: one at a time from most clients (NSTART), so a
    // vector, which keeps its room and allocates nothing per request after the first.
    std::vector<AwaitingResponse> awaiting;
    LazyDeque<RecentNon> recent_non;  // our NONs, so an RST can name the token
  };
  // kDedupExpiry: our recent NONs; kSeenExpiry: the oldest entries of a peer's dedup cache.
  enum class TimerKind : std::uint8_t {
    kRetransmit,
    kDedupExpiry,
    kSeenExpiry,
    kEmptyAck,
    kRetiredExpiry
  };
  // What survives of a forgotten peer until its MIDs may be reused: 4 bytes and a deadline.
  struct Retired {
    std::uint16_t next_mid;
    Instant until;
  };
  struct TimerEntry {
    PeerId peer;
    TimerKind kind;
    std::uint16_t mid;
  };

  void transmit(PeerId peer, Bytes bytes);
  void start_con(PeerId peer, Peer& p, Message m, Instant now);
  void remember(PeerId peer, Peer& p, std::uint16_t mid, Bytes reply, Duration lifetime,
                Instant now);
  void reply_to_duplicate(PeerId peer, Peer& p, std::uint16_t mid);
  void cache_reply(Peer& p, std::uint16_t mid, const Bytes& wire);
  void keep_within_budget(Peer& p);
  bool is_duplicate(const Peer& p, std::uint16_t mid) const;
  void expire_seen(PeerId peer, Peer& p, Instant now);
  void send_empty(PeerId peer, Type type, std::uint16_t mid, Peer* cache_in, Instant now);
  void finish_outgoing(PeerId peer, Peer& p, std::uint16_t mid, Instant now);
  void drain_queue(PeerId peer, Peer& p, Instant now);
  void on_retransmit_timer(PeerId peer, std::uint16_t mid, Instant now);
  Peer& peer_state(PeerId peer);
  static std::vector<AwaitingResponse>::iterator awaiting_of(Peer& p, std::uint16_t mid);
  void forget_if_idle(PeerId peer, Instant now);
  void retire(PeerId peer, const Peer& p, Instant now);
  Duration initial_timeout();

  DatagramLayerConfig config_;
  MessageSink& sink_;
  Outbox& outbox_;
  Random& random_;
  std::unordered_map<PeerId, Peer> peers_;
  std::unordered_map<PeerId, Retired> retired_;
  TimerQueue<TimerEntry> timers_;
};

}  // namespace tether::coap
