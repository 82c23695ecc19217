#pragma once
// The exchange layer: one CoAP endpoint that is client and server at once over one
// carrier (an LwM2M client sends Register and answers Read on the same socket).
// Sans-I/O: feed it bytes, connection events and the time; drain poll_transmit() and wake
// it at next_deadline(). It owns token matching, Observe (RFC 7641) on both sides,
// block-wise transfers (RFC 7959) on both sides and Echo/Request-Tag (RFC 9175).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "coap/block_option.hpp"
#include "coap/carrier_port.hpp"
#include "coap/datagram_layer.hpp"
#include "coap/message_layer.hpp"
#include "coap/stream_layer.hpp"
#include "coap/timer_queue.hpp"
#include "common/random.hpp"
#include "common/result.hpp"

namespace tether::coap {

using RequestId = std::uint64_t;
using ObservationId = std::uint64_t;

struct EndpointConfig {
  Carrier carrier = Carrier::kDatagram;
  DatagramLayerConfig datagram;
  StreamLayerConfig stream;
  // Octets of the tokens we make, and of the Request-Tag of a Block1 transfer (RFC 9175):
  // fewer where every octet counts (LoRaWAN frames of 51 octets).
  std::uint8_t token_length = 8;
  std::uint8_t request_tag_length = 4;
  // Block size we prefer for Block1 and Block2 (SZX 6 = 1024 bytes).
  std::uint8_t block_szx = 6;
  // Bounds on block-wise memory per peer: one request body being reassembled and the
  // cached representations served block by block.
  std::size_t max_request_body = 1 << 20;
  std::size_t max_block_cache_per_peer = 1 << 20;
  Duration block_cache_lifetime{60'000};
  // A client gives up on a response after this long (0: EXCHANGE_LIFETIME).
  Duration request_timeout{0};
  // RFC 9175 2: how long an Echo value we issued stays fresh.
  Duration echo_freshness{60'000};
  // Decides which requests must prove freshness with an Echo option (e.g. unsafe
  // methods from a peer not yet seen). Unset: none.
  std::function<bool(PeerId, const Message&, Instant)> require_echo;
  // Told when a request carries an Echo value we issued to that peer and is still fresh:
  // the peer receives at its address now (binding/coap/freshness_gate remembers it).
  std::function<void(PeerId, Instant)> on_fresh_echo;
  // A layer under the exchanges, over the carrier's message layer (oscore/OscoreLayer).
  std::shared_ptr<LayerDecorator> decorator;
  // RFC 7252 5.7.2: we proxy for no one, but a forward proxy may pass on a request that
  // still names its target with Proxy-Scheme, Uri-Host and Uri-Port; when this says the
  // target is us, the request is served, else (and for Proxy-Uri) it gets 5.05.
  std::function<bool(const std::string& host, std::uint16_t port)> names_self;
};

struct RequestOptions {
  // Empty: the endpoint's block_szx. Sets the Block1 size and asks for this Block2 size.
  std::optional<std::uint8_t> block_szx;
  // Empty: the endpoint default.
  std::optional<Duration> timeout;
};

// The final response to a request, or each notification of an observation.
using ResponseHandler = std::function<void(Result<Message> response)>;

class Endpoint;

// Lets a request handler answer now or later (a separate response).
class Responder {
 public:
  Responder(Endpoint* endpoint, std::uint64_t id) : endpoint_(endpoint), id_(id) {}
  // Sends the response. When the request asked to observe and the response is a success
  // carrying an Observe option, the observation is registered and its ID returned.
  std::optional<ObservationId> respond(Message response, Instant now) const;

 private:
  Endpoint* endpoint_;
  std::uint64_t id_;
};

using RequestHandler = std::function<void(PeerId peer, const Message& request, Responder)>;
using ObservationEndedHandler = std::function<void(ObservationId id, Failure why)>;

class Endpoint final : public CarrierPort, private MessageSink {
 public:
  Endpoint(EndpointConfig config, Random& random);
  ~Endpoint() override;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // --- carrier side -------------------------------------------------------
  void receive(PeerId peer, ByteView bytes, Instant now) override;
  void on_connected(PeerId peer, Instant now) override;
  void on_disconnected(PeerId peer, Instant now) override;
  void on_timer(Instant now) override;
  std::optional<Transmit> poll_transmit() override;
  std::optional<Instant> next_deadline() const override;

  // --- CoAP client --------------------------------------------------------
  // Sends `request` (type CON or NON from request.type; the token is chosen here). Large
  // payloads go block-wise; a Block2 response is fetched to the end; a 4.01 with Echo is
  // retried once with the Echo value. With Observe=0 the handler sees every notification.
  RequestId request(PeerId peer, Message request, ResponseHandler handler, Instant now,
                    RequestOptions options = {});
  // Ends an observation or an outstanding request. Proactive cancellation sends a GET
  // with Observe=1 (RFC 7641 3.6) and hands its answer (or failure) to `on_answer`;
  // otherwise the next notification is answered by RST.
  void cancel(RequestId id, bool proactive, Instant now, ResponseHandler on_answer = nullptr);
  // Re-attaches an observation established before a restart: notifications carrying
  // `request.token` from `peer` reach `handler` again, and cancel() works as for any other.
  // Nothing is sent. The token must not be in use with this peer.
  RequestId adopt_observation(PeerId peer, Message request, ResponseHandler handler);
  // The token an outstanding request or observation uses (to persist an observation).
  std::optional<Bytes> token_of(RequestId id) const;
  // CoAP ping: an empty CON (RFC 7252 4.3) answered by RST, or over streams a Ping signal
  // answered by Pong (RFC 8323 5.4). The handler gets the RST/Pong, or a failure.
  RequestId ping(PeerId peer, ResponseHandler handler, Instant now);

  // --- CoAP server --------------------------------------------------------
  void set_request_handler(RequestHandler handler) { request_handler_ = std::move(handler); }
  void set_observation_ended_handler(ObservationEndedHandler h) {
    observation_ended_ = std::move(h);
  }
  // Stream: a peer sent Release; the connection closes right after the handler returns.
  void set_release_handler(std::function<void(PeerId, const ReleaseAdvice&)> h) {
    release_handler_ = std::move(h);
  }
  // Sends a notification: code, options and payload from `content`; token and Observe
  // sequence number from the observation. A non-2.xx code ends the observation.
  bool notify(ObservationId id, Message content, Type type, Instant now);
  bool has_observation(ObservationId id) const { return observations_.count(id) != 0; }
  std::size_t observation_count() const { return observations_.size(); }
  // Whether the peer observes something here (its address must be kept to notify it).
  bool observed_by(PeerId peer) const { return observers_.count(peer) != 0; }
  // Stream: Release the connection. Datagram: forget the peer's state.
  void close(PeerId peer, Instant now);

  MessageLayer& message_layer() { return *layer_; }
  const EndpointConfig& config() const { return config_; }
  std::size_t pending_requests() const { return client_.size(); }

 private:
  friend class Responder;
  struct ClientExchange;
  struct ServerExchange;
  struct Observation;
  struct Reassembly;
  struct CachedBody;

  MessageSink& sink() { return *this; }
  // MessageSink
  bool on_message(PeerId peer, Message&& m, Instant now) override;
  void on_acknowledged(PeerId peer, const Bytes& token, Instant now) override;
  void on_failed(PeerId peer, const Bytes& token, Failure why, Instant now) override;
  void on_peer_closed(PeerId peer, Instant now) override;
  void on_peer_released(PeerId peer, const ReleaseAdvice& advice, Instant now) override;

  // Client side.
  void transmit_request(ClientExchange& ex, Instant now);
  bool handle_response(PeerId peer, Message&& m, Instant now);
  void finish(RequestId id, Result<Message> result, Instant now);
  void start_block2_follow_up(ClientExchange& parent, Message first, Instant now);
  Bytes new_token();
  std::uint8_t szx_for_peer(PeerId peer, std::optional<std::uint8_t> wanted) const;
  Duration default_timeout() const;

  // Server side.
  void handle_request(PeerId peer, Message&& m, Instant now);
  std::optional<ObservationId> send_response(std::uint64_t server_id, Message response,
                                             Instant now);
  void reply_now(PeerId peer, const Message& request, Message response, Instant now);
  bool serve_cached_block(PeerId peer, const Message& request, const std::string& cache_key,
                          const BlockOption& block2, Instant now);
  // Block `num` of `full`; block 0 of a multi-block body also caches it for the later blocks.
  Message slice_for_block2(PeerId peer, const std::string& cache_key, const Message& full,
                           std::uint8_t szx, std::uint32_t num, Instant now);
  void cache_representation(PeerId peer, const std::string& cache_key, const Message& full,
                            Instant now);
  void end_observation(ObservationId id, Failure why);
  bool echo_is_fresh(PeerId peer, const Message& request, Instant now);

  enum class TimerKind : std::uint8_t {
    kRequestDeadline,
    kCacheExpiry,
    kReassemblyExpiry,
    kServerExchangeExpiry,
    kEchoExpiry,
  };
  struct TimerEntry {
    TimerKind kind;
    std::uint64_t id;
    std::string key;
  };

  EndpointConfig config_;
  Random& random_;
  Outbox outbox_;
  std::unique_ptr<MessageLayer> layer_;
  RequestHandler request_handler_;
  ObservationEndedHandler observation_ended_;
  std::function<void(PeerId, const ReleaseAdvice&)> release_handler_;

  std::uint64_t next_id_ = 1;
  std::unordered_map<RequestId, std::unique_ptr<ClientExchange>> client_;
  std::unordered_map<std::string, RequestId> client_by_token_;  // peer+token
  std::unordered_map<std::uint64_t, std::unique_ptr<ServerExchange>> server_;
  std::unordered_map<ObservationId, std::unique_ptr<Observation>> observations_;
  std::unordered_map<PeerId, std::uint32_t> observers_;  // peer -> its observations here
  std::unordered_map<std::string, ObservationId> observation_by_token_;      // peer+token
  std::unordered_map<std::string, std::unique_ptr<Reassembly>> reassembly_;  // peer+key
  std::unordered_map<PeerId, std::size_t> reassembly_bytes_;
  std::unordered_map<std::string, std::unique_ptr<CachedBody>> block_cache_;  // peer+key
  std::unordered_map<PeerId, std::size_t> block_cache_bytes_;
  std::unordered_map<PeerId, std::pair<Bytes, Instant>> echo_issued_;
  TimerQueue<TimerEntry> timers_;
};

// RFC 7641 3.4: whether notification (v2, t2) is newer than (v1, t1).
bool is_newer_notification(std::uint32_t v1, Instant t1, std::uint32_t v2, Instant t2);

}  // namespace tether::coap
