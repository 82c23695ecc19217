#pragma once
// The MQTT binding's exchange layer, what coap::Endpoint is to CoAP (Transport TS 8.3-8.4):
// requests leave with a token and wait for the answer with that token on the same topic
// (bounded in time), an Observe's exchange stays open for its Notify messages, requests
// from the peer go up with a responder that publishes the generic response, and a repeated
// request (MQTT QoS 1 delivers at least once) gets the same answer again instead of being
// acted on twice. Client and server publish on the same topic, so each may hear itself
// (MQTT 3.1.1 has no No Local): what we published is recognised and dropped.
//
// Sans-I/O: bytes and the time in, publications and the next deadline out; the MQTT
// connection (transport/mqtt) sits outside.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "binding/mqtt/mqtt_payload.hpp"
#include "binding/mqtt/topic.hpp"
#include "common/result.hpp"
#include "common/time.hpp"

namespace tether::binding::mqtt {

struct ExchangeCounters {
  std::uint64_t malformed = 0;   // not a map of table 8.7, or on a foreign topic
  std::uint64_t unmatched = 0;   // an answer or Notify no exchange waits for
  std::uint64_t echoes = 0;      // our own publications heard back
  std::uint64_t duplicates = 0;  // repeated requests answered from the cache
  std::uint64_t timeouts = 0;
};

class Exchanges {
 public:
  using Publish = std::function<void(const std::string& topic, const Bytes& bytes)>;
  // The answer (or, for an Observe, each Notify after it); an error when no answer came in
  // time or the exchange was cancelled.
  using AnswerCallback = std::function<void(Result<Payload>)>;
  // Answers one request; the token is filled in. Call at most once.
  using Responder = std::function<void(Payload answer)>;
  using RequestHandler =
      std::function<void(const Topic& topic, const Payload& request, Responder respond)>;

  Exchanges(std::string prefix, Publish publish, Duration timeout, std::uint64_t first_token);
  ~Exchanges() { *alive_ = false; }
  Exchanges(const Exchanges&) = delete;
  Exchanges& operator=(const Exchanges&) = delete;

  void set_request_handler(RequestHandler h) { on_request_ = std::move(h); }

  // Publishes `request` on `topic` with a fresh token, which it returns. An Observe (or
  // Observe-Composite) keeps its exchange after the answer, for the Notify messages, until
  // forget().
  std::uint64_t request(const Topic& topic, Payload request, AnswerCallback on_answer, Instant now);
  // Ends an exchange without telling the peer (a passive cancel, or giving up).
  void forget(const std::string& endpoint, std::uint64_t token);
  // 8.3.4: ends an open observation by publishing Cancel-Observe under its token; the peer's
  // answer (or a timeout) goes to `on_answer`, and Notify messages are no longer taken. False
  // when no such observation is open.
  bool cancel_observation(const Topic& topic, std::uint64_t token, AnswerCallback on_answer,
                          Instant now);
  // Publishes a message that waits for nothing (a Notify under its observation's token).
  void publish_message(const Topic& topic, const Payload& message, Instant now);
  // After a restart: takes the Notify messages of an observation made before it again.
  void adopt(const Topic& topic, std::uint64_t token, AnswerCallback on_notify);
  // Whether an exchange (an observation) with this token is open.
  bool is_open(const std::string& endpoint, std::uint64_t token) const;

  // A message the MQTT connection delivered.
  void on_message(std::string_view topic, ByteView bytes, Instant now);

  std::optional<Instant> next_deadline() const;
  void on_timer(Instant now);

  const ExchangeCounters& counters() const { return counters_; }

 private:
  struct Key {
    std::string endpoint;
    std::uint64_t token = 0;
    // For peers' requests only: Cancel-Observe reuses its observation's token (8.3.4), so
    // a token alone does not name a request.
    std::uint64_t operation = 0;
    friend bool operator<(const Key& a, const Key& b) {
      if (a.token != b.token) return a.token < b.token;
      if (a.operation != b.operation) return a.operation < b.operation;
      return a.endpoint < b.endpoint;
    }
  };
  struct Waiting {
    AnswerCallback on_answer;
    bool observe = false;
    bool answered = false;
    Instant deadline{};
  };

  void publish(const std::string& topic, const Bytes& bytes, Instant now);
  bool is_echo(std::string_view topic, ByteView bytes);
  void expire(Instant now);
  void on_answer(const Topic& topic, const Payload& p);
  void on_peer_request(const Topic& topic, std::string_view topic_name, const Payload& p,
                       Instant now);

  std::string prefix_;
  Publish publish_;
  Duration timeout_;
  std::uint64_t next_token_;
  RequestHandler on_request_;
  std::map<Key, Waiting> waiting_;
  std::multimap<Instant, Key> deadlines_;  // lazily pruned: an ended exchange stays here
  // Recent publications by a digest of topic and bytes, to recognise echoes.
  std::unordered_map<std::uint64_t, int> sent_;
  std::deque<std::pair<std::uint64_t, Instant>> sent_order_;
  // Recent requests from peers and our answers (empty while the answer is being made).
  std::map<Key, Bytes> answered_;
  std::deque<std::pair<Key, Instant>> answered_order_;
  Instant last_now_{};  // the latest time we were given, for answers made later
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  ExchangeCounters counters_;
};

}  // namespace tether::binding::mqtt
