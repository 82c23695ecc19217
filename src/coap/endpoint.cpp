#include "coap/endpoint.hpp"

#include <algorithm>
#include <cstring>

namespace tether::coap {

namespace {
std::string peer_key(PeerId peer, ByteView extra) {
  std::string k(sizeof(peer), '\0');
  std::memcpy(k.data(), &peer, sizeof(peer));
  k.append(extra.begin(), extra.end());
  return k;
}
std::string peer_key(PeerId peer, const std::string& extra) {
  return peer_key(peer,
                  ByteView(reinterpret_cast<const std::uint8_t*>(extra.data()), extra.size()));
}

// What identifies "the same representation" for Block2 caching: method, target, Accept
// and (for FETCH) the request body; never the block options themselves.
std::string representation_key(const Message& m) {
  std::string k;
  k.push_back(static_cast<char>(m.code.value));
  for (const auto& o : m.options.list()) {
    if (o.number == option::kUriPath || o.number == option::kUriQuery ||
        o.number == option::kAccept) {
      k += std::to_string(o.number);
      k.push_back(':');
      k.append(o.value.begin(), o.value.end());
      k.push_back('\x1f');
    }
  }
  if (m.code == codes::kFetch) k.append(m.payload.begin(), m.payload.end());
  return k;
}

// Reassembly identity for Block1 (RFC 9175 3.3: Request-Tag separates concurrent bodies).
std::string body_key(const Message& m) {
  std::string k = representation_key(m);
  if (const Option* tag = m.options.find(option::kRequestTag)) {
    k += "#tag:";
    k.append(tag->value.begin(), tag->value.end());
  }
  return k;
}

constexpr std::size_t kHeaderAllowance = 64;  // room for header, token and options

// Block `num` of `full` in 2^(szx+4)-byte blocks (RFC 7959 2.2); 4.02 past the end. Copies
// only the slice, so serving block after block from the cache stays cheap.
Message block_of(const Message& full, std::uint8_t szx, std::uint32_t num) {
  const std::size_t size = std::size_t{1} << (szx + 4);
  const std::size_t offset = static_cast<std::size_t>(num) * size;
  Message r;
  if (offset >= full.payload.size() && !(offset == 0 && full.payload.empty())) {
    r.code = codes::kBadOption;
    r.payload = to_bytes("block number beyond the representation");
    return r;
  }
  const std::size_t end = std::min(full.payload.size(), offset + size);
  r.type = full.type;
  r.code = full.code;
  r.token = full.token;
  r.options = full.options;
  r.payload.assign(full.payload.begin() + static_cast<std::ptrdiff_t>(offset),
                   full.payload.begin() + static_cast<std::ptrdiff_t>(end));
  set_block(r, option::kBlock2, BlockOption{num, end < full.payload.size(), szx});
  if (num == 0) r.options.set_uint(option::kSize2, full.payload.size());
  return r;
}
}  // namespace

bool is_newer_notification(std::uint32_t v1, Instant t1, std::uint32_t v2, Instant t2) {
  constexpr std::uint32_t kHalf = 1u << 23;
  return (v1 < v2 && v2 - v1 < kHalf) || (v1 > v2 && v1 - v2 > kHalf) ||
         t2 > t1 + std::chrono::seconds(128);
}

struct Endpoint::ClientExchange {
  RequestId id = 0;
  PeerId peer = 0;
  Bytes token;
  Message request;
  ResponseHandler handler;
  Duration timeout{};
  Instant deadline{};
  std::uint8_t szx = 6;
  // Block1 state.
  bool block1 = false;
  std::size_t block1_offset = 0;
  Bytes request_tag;
  bool tried_block1_after_413 = false;
  // Block2 state.
  std::uint32_t block2_next = 0;
  Bytes body;
  std::function<void(Result<Message>, Instant)> on_block2_done;  // follow-up of a notification
  // RFC 9175 2.3: one retry with the server's Echo value.
  std::optional<Bytes> echo;
  // Observe state.
  bool observe = false;
  bool established = false;
  bool cancelling = false;
  bool ping = false;
  std::uint32_t last_seq = 0;
  Instant last_seen{};
};

struct Endpoint::ServerExchange {
  PeerId peer = 0;
  Message wire;  // type, MID and token of the message to answer
  std::optional<BlockOption> block1;
  std::optional<BlockOption> block2;
  bool wants_observe = false;
  std::string cache_key;
};

struct Endpoint::Observation {
  ObservationId id = 0;
  PeerId peer = 0;
  Bytes token;
  std::string cache_key;
  std::uint32_t seq = 0;
  std::uint8_t szx = 6;
};

struct Endpoint::Reassembly {
  Bytes body;
  Instant expires{};
};

struct Endpoint::CachedBody {
  Message full;
  Instant expires{};
};

std::optional<ObservationId> Responder::respond(Message response, Instant now) const {
  return endpoint_->send_response(id_, std::move(response), now);
}

Endpoint::Endpoint(EndpointConfig config, Random& random)
    : config_(std::move(config)), random_(random) {
  auto make_carrier_layer = [this](MessageSink& s) -> std::unique_ptr<MessageLayer> {
    if (config_.carrier == Carrier::kDatagram) {
      return std::make_unique<DatagramLayer>(config_.datagram, s, outbox_, random_);
    }
    return std::make_unique<StreamLayer>(config_.stream, s, outbox_, random_);
  };
  layer_ = config_.decorator ? config_.decorator->wrap(sink(), make_carrier_layer)
                             : make_carrier_layer(sink());
}

Endpoint::~Endpoint() = default;

// ---------------------------------------------------------------- carrier side

void Endpoint::receive(PeerId peer, ByteView bytes, Instant now) {
  layer_->receive(peer, bytes, now);
}
void Endpoint::on_connected(PeerId peer, Instant now) {
  layer_->on_connected(peer, now);
}
void Endpoint::on_disconnected(PeerId peer, Instant now) {
  layer_->on_disconnected(peer, now);
}
void Endpoint::close(PeerId peer, Instant now) {
  layer_->close(peer, now);
  // A stream layer reports the close itself; a datagram peer is simply forgotten.
  if (config_.carrier == Carrier::kDatagram) on_peer_closed(peer, now);
}

std::optional<Transmit> Endpoint::poll_transmit() {
  if (outbox_.empty()) return std::nullopt;
  Transmit t = std::move(outbox_.front());
  outbox_.pop_front();
  return t;
}

std::optional<Instant> Endpoint::next_deadline() const {
  auto a = layer_->next_deadline();
  auto b = timers_.next();
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

void Endpoint::on_timer(Instant now) {
  layer_->on_timer(now);
  while (auto entry = timers_.pop_due(now)) {
    switch (entry->kind) {
      case TimerKind::kRequestDeadline: {
        auto it = client_.find(entry->id);
        if (it == client_.end()) break;
        ClientExchange& ex = *it->second;
        if (ex.established || ex.deadline > now) break;  // observing, or renewed
        finish(entry->id, fail("no response (timeout)"), now);
        break;
      }
      case TimerKind::kCacheExpiry: {
        auto it = block_cache_.find(entry->key);
        if (it == block_cache_.end() || it->second->expires > now) break;
        PeerId peer = 0;
        std::memcpy(&peer, entry->key.data(), sizeof(peer));
        block_cache_bytes_[peer] -= it->second->full.payload.size();
        if (block_cache_bytes_[peer] == 0) block_cache_bytes_.erase(peer);
        block_cache_.erase(it);
        break;
      }
      case TimerKind::kReassemblyExpiry: {
        auto it = reassembly_.find(entry->key);
        if (it == reassembly_.end() || it->second->expires > now) break;
        PeerId peer = 0;
        std::memcpy(&peer, entry->key.data(), sizeof(peer));
        reassembly_bytes_[peer] -= it->second->body.size();
        if (reassembly_bytes_[peer] == 0) reassembly_bytes_.erase(peer);
        reassembly_.erase(it);
        break;
      }
      case TimerKind::kServerExchangeExpiry:
        server_.erase(entry->id);
        break;
      case TimerKind::kEchoExpiry: {
        PeerId peer = 0;
        std::memcpy(&peer, entry->key.data(), sizeof(peer));
        auto it = echo_issued_.find(peer);
        if (it != echo_issued_.end() && it->second.second + config_.echo_freshness <= now) {
          echo_issued_.erase(it);
        }
        break;
      }
    }
  }
}

bool Endpoint::on_message(PeerId peer, Message&& m, Instant now) {
  if (m.code.is_request()) {
    handle_request(peer, std::move(m), now);
    return true;
  }
  return handle_response(peer, std::move(m), now);
}

void Endpoint::on_acknowledged(PeerId peer, const Bytes& token, Instant now) {
  // Over streams a Pong acknowledges our Ping by token (RFC 8323 5.4).
  auto it = client_by_token_.find(peer_key(peer, token));
  if (it == client_by_token_.end() || !client_.at(it->second)->ping) return;
  Message pong;
  pong.code = codes::kPong;
  pong.token = token;
  finish(it->second, std::move(pong), now);
}

void Endpoint::on_failed(PeerId peer, const Bytes& token, Failure why, Instant now) {
  const std::string key = peer_key(peer, token);
  if (auto it = client_by_token_.find(key); it != client_by_token_.end()) {
    auto ex = client_.find(it->second);
    if (ex != client_.end() && ex->second->ping && why == Failure::kReset) {
      Message rst;
      rst.type = Type::kReset;
      finish(it->second, std::move(rst), now);  // RFC 7252 4.3: the RST answers the ping
      return;
    }
    finish(it->second, fail(std::string("request failed: ") + failure_name(why)), now);
    return;
  }
  if (auto it = observation_by_token_.find(key); it != observation_by_token_.end()) {
    // RFC 7641 4.5: a notification rejected by RST or never acknowledged ends the observation.
    end_observation(it->second, why);
  }
}

void Endpoint::on_peer_released(PeerId peer, const ReleaseAdvice& advice, Instant) {
  if (release_handler_) release_handler_(peer, advice);
}

void Endpoint::on_peer_closed(PeerId peer, Instant now) {
  std::vector<RequestId> failed;
  for (auto& [id, ex] : client_) {
    if (ex->peer == peer) failed.push_back(id);
  }
  for (auto id : failed) finish(id, fail("connection closed"), now);
  std::vector<ObservationId> ended;
  for (auto& [id, obs] : observations_) {
    if (obs->peer == peer) ended.push_back(id);
  }
  for (auto id : ended) end_observation(id, Failure::kClosed);
  std::erase_if(server_, [peer](const auto& kv) { return kv.second->peer == peer; });
}

// ---------------------------------------------------------------- client side

Bytes Endpoint::new_token() {
  Bytes t(config_.token_length);
  random_.fill(t);
  return t;
}

Duration Endpoint::default_timeout() const {
  if (config_.request_timeout.count() > 0) return config_.request_timeout;
  return config_.datagram.params.exchange_lifetime();
}

std::uint8_t Endpoint::szx_for_peer(PeerId peer, std::optional<std::uint8_t> wanted) const {
  std::uint8_t szx = std::min<std::uint8_t>(wanted.value_or(config_.block_szx), 6);
  const std::size_t max = layer_->peer_max_message_size(peer);
  while (szx > 0 && (std::size_t{1} << (szx + 4)) + kHeaderAllowance > max) --szx;
  return szx;
}

RequestId Endpoint::request(PeerId peer, Message request, ResponseHandler handler, Instant now,
                            RequestOptions options) {
  auto ex = std::make_unique<ClientExchange>();
  ex->id = next_id_++;
  ex->peer = peer;
  ex->token = new_token();
  ex->handler = std::move(handler);
  ex->timeout = options.timeout.value_or(default_timeout());
  ex->szx = szx_for_peer(peer, options.block_szx);
  ex->observe = request.observe() == 0u;
  const std::size_t block_size = std::size_t{1} << (ex->szx + 4);
  const bool too_big =
      request.payload.size() + kHeaderAllowance > layer_->peer_max_message_size(peer);
  if (request.payload.size() > block_size && (too_big || options.block_szx)) {
    ex->block1 = true;
    ex->request_tag = Bytes(config_.request_tag_length);
    random_.fill(ex->request_tag);
  }
  if (options.block_szx && !ex->block1 &&
      (request.code == codes::kGet || request.code == codes::kFetch)) {
    // RFC 7959 2.4: early negotiation of the response block size.
    set_block(request, option::kBlock2, BlockOption{0, false, ex->szx});
  }
  ex->request = std::move(request);
  const RequestId id = ex->id;
  client_by_token_[peer_key(peer, ex->token)] = id;
  ClientExchange& ref = *ex;
  client_.emplace(id, std::move(ex));
  transmit_request(ref, now);
  return id;
}

RequestId Endpoint::adopt_observation(PeerId peer, Message request, ResponseHandler handler) {
  auto ex = std::make_unique<ClientExchange>();
  ex->id = next_id_++;
  ex->peer = peer;
  ex->token = request.token;
  ex->handler = std::move(handler);
  ex->szx = szx_for_peer(peer, std::nullopt);
  ex->observe = true;
  ex->established = true;  // no deadline: it lives until cancelled or ended by the peer
  ex->request = std::move(request);
  const RequestId id = ex->id;
  client_by_token_[peer_key(peer, ex->token)] = id;
  client_.emplace(id, std::move(ex));
  return id;
}

std::optional<Bytes> Endpoint::token_of(RequestId id) const {
  auto it = client_.find(id);
  if (it == client_.end()) return std::nullopt;
  return it->second->token;
}

RequestId Endpoint::ping(PeerId peer, ResponseHandler handler, Instant now) {
  Bytes token;
  if (config_.carrier == Carrier::kStream) {
    auto ping_token = static_cast<StreamLayer&>(*layer_).ping(peer, now);
    if (!ping_token) {
      if (handler) handler(fail("not connected"));
      return 0;
    }
    token = std::move(*ping_token);
  }
  const std::string key = peer_key(peer, token);
  if (auto it = client_by_token_.find(key); it != client_by_token_.end()) {
    // The RST names no token, so one ping per peer is outstanding; later ones share its
    // outcome rather than orphaning it.
    ClientExchange& pending = *client_.at(it->second);
    pending.handler = [first = std::move(pending.handler),
                       second = std::move(handler)](Result<Message> r) {
      if (first) first(r);
      if (second) second(std::move(r));
    };
    return it->second;
  }
  auto ex = std::make_unique<ClientExchange>();
  ex->id = next_id_++;
  ex->peer = peer;
  ex->ping = true;
  ex->token = token;
  ex->handler = std::move(handler);
  const RequestId id = ex->id;
  client_by_token_[key] = id;
  client_.emplace(id, std::move(ex));
  if (config_.carrier == Carrier::kDatagram) {
    Message empty;
    empty.type = Type::kConfirmable;
    layer_->send(peer, std::move(empty), now);
  }
  return id;
}

void Endpoint::transmit_request(ClientExchange& ex, Instant now) {
  Message m;
  m.type = ex.request.type;
  m.code = ex.request.code;
  m.token = ex.token;
  m.options = ex.request.options;
  if (ex.block1) {
    const std::size_t size = std::size_t{1} << (ex.szx + 4);
    const std::size_t end = std::min(ex.request.payload.size(), ex.block1_offset + size);
    m.payload.assign(ex.request.payload.begin() + static_cast<std::ptrdiff_t>(ex.block1_offset),
                     ex.request.payload.begin() + static_cast<std::ptrdiff_t>(end));
    const auto num = static_cast<std::uint32_t>(ex.block1_offset / size);
    set_block(m, option::kBlock1, BlockOption{num, end < ex.request.payload.size(), ex.szx});
    if (num == 0) m.options.set_uint(option::kSize1, ex.request.payload.size());
    m.options.set(option::kRequestTag, ex.request_tag);
  } else if (ex.block2_next == 0 || m.code == codes::kFetch) {
    m.payload = ex.request.payload;
  }
  if (ex.block2_next > 0) {
    // RFC 7959 2.4 / RFC 7641 2: later blocks are plain requests, never observe anew.
    set_block(m, option::kBlock2, BlockOption{ex.block2_next, false, ex.szx});
    m.options.remove(option::kObserve);
  }
  if (ex.echo) m.options.set(option::kEcho, *ex.echo);
  ex.deadline = now + ex.timeout;
  timers_.schedule(ex.deadline, TimerEntry{TimerKind::kRequestDeadline, ex.id, {}});
  layer_->send(ex.peer, std::move(m), now);
}

void Endpoint::finish(RequestId id, Result<Message> result, Instant now) {
  auto it = client_.find(id);
  if (it == client_.end()) return;
  std::unique_ptr<ClientExchange> ex = std::move(it->second);
  client_.erase(it);
  client_by_token_.erase(peer_key(ex->peer, ex->token));
  if (!ex->ping) layer_->abandon(ex->peer, ex->token, now);
  if (ex->on_block2_done) {
    ex->on_block2_done(std::move(result), now);
  } else if (ex->handler) {
    ex->handler(std::move(result));
  }
}

void Endpoint::cancel(RequestId id, bool proactive, Instant now, ResponseHandler on_answer) {
  auto it = client_.find(id);
  if (it == client_.end()) {
    if (on_answer) on_answer(fail("no such observation"));
    return;
  }
  ClientExchange& ex = *it->second;
  if (proactive && ex.observe && ex.established) {
    ex.cancelling = true;
    ex.established = false;
    ex.request.set_observe(1);
    ex.block2_next = 0;
    ex.body.clear();
    ex.handler = std::move(on_answer);
    transmit_request(ex, now);
    return;
  }
  ex.handler = nullptr;
  finish(id, fail("cancelled"), now);
  if (on_answer) on_answer(fail("the observation was not established; nothing was sent"));
}

bool Endpoint::handle_response(PeerId peer, Message&& m, Instant now) {
  auto by_token = client_by_token_.find(peer_key(peer, m.token));
  if (by_token == client_by_token_.end()) return false;
  const RequestId id = by_token->second;
  ClientExchange& ex = *client_.at(id);

  if (m.code == codes::kUnauthorized && !ex.echo) {
    if (const Option* echo = m.options.find(option::kEcho)) {
      ex.echo = echo->value.bytes();
      transmit_request(ex, now);
      return true;
    }
  }

  if (ex.block1) {
    auto b1 = get_block(m, option::kBlock1);
    if (m.code == codes::kContinue) {
      if (!b1 || b1->szx > ex.szx) {
        finish(id, fail("2.31 Continue without a usable Block1 option"), now);
        return true;
      }
      // RFC 7959 2.5: the server may shrink the block size; continue in its size.
      ex.szx = b1->szx;
      ex.block1_offset = b1->offset() + b1->size();
      if (ex.block1_offset >= ex.request.payload.size()) {
        finish(id, fail("2.31 Continue after the last block"), now);
        return true;
      }
      transmit_request(ex, now);
      return true;
    }
    ex.block1 = false;  // final response to the last block
  } else if (m.code == codes::kRequestEntityTooLarge && !ex.tried_block1_after_413 &&
             ex.request.payload.size() > 16) {
    // RFC 7959 2.9.3: retry block-wise, in the size the server names if it does.
    ex.tried_block1_after_413 = true;
    if (auto b1 = get_block(m, option::kBlock1)) ex.szx = std::min(ex.szx, b1->szx);
    if (ex.request.payload.size() > (std::size_t{1} << (ex.szx + 4))) {
      ex.block1 = true;
      ex.block1_offset = 0;
      ex.request_tag = Bytes(config_.request_tag_length);
      random_.fill(ex.request_tag);
      transmit_request(ex, now);
      return true;
    }
  }

  const bool notification = ex.observe && m.observe().has_value() && m.code.is_success();
  // RFC 7641 3.4: drop notifications older than the newest one seen. RFC 8323 7.2: a
  // stream delivers in order and its Observe value may be empty, so nothing is dropped there.
  if (notification && ex.established && ex.block2_next == 0 &&
      config_.carrier == Carrier::kDatagram) {
    if (!is_newer_notification(ex.last_seq, ex.last_seen, *m.observe(), now)) return true;
  }

  const bool bert = config_.carrier == Carrier::kStream;
  if (auto b2 = get_block(m, option::kBlock2, bert); b2 && m.code.is_success()) {
    if (ex.observe && b2->num == 0 && b2->more) {
      if (notification) {
        ex.established = true;
        ex.last_seq = *m.observe();
        ex.last_seen = now;
      }
      start_block2_follow_up(ex, std::move(m), now);
      return true;
    }
    if (b2->offset() != ex.body.size()) {
      finish(id, fail("Block2 response out of order"), now);
      return true;
    }
    if (ex.body.size() + m.payload.size() > config_.max_request_body) {
      finish(id, fail("response body larger than the configured limit"), now);
      return true;
    }
    ex.body.insert(ex.body.end(), m.payload.begin(), m.payload.end());
    if (b2->more) {
      ex.szx = b2->szx;
      ex.block2_next = static_cast<std::uint32_t>(ex.body.size() / b2->size());
      transmit_request(ex, now);
      return true;
    }
    m.payload = std::move(ex.body);
    ex.body.clear();
    m.options.remove(option::kBlock2);
    ex.block2_next = 0;
  }

  if (notification && !ex.cancelling) {
    ex.established = true;
    ex.last_seq = *m.observe();
    ex.last_seen = now;
    // A copy: the handler may cancel the observation, which destroys ex.handler.
    if (ResponseHandler handler = ex.handler) handler(std::move(m));
    return true;
  }
  finish(id, std::move(m), now);
  return true;
}

void Endpoint::start_block2_follow_up(ClientExchange& parent, Message first, Instant now) {
  Message follow = parent.request;
  follow.options.remove(option::kObserve);
  follow.type = Type::kConfirmable;
  const RequestId parent_id = parent.id;
  const std::uint8_t szx = get_block(first, option::kBlock2, true)->szx;
  Bytes head = first.payload;
  auto child = std::make_unique<ClientExchange>();
  child->id = next_id_++;
  child->peer = parent.peer;
  child->token = new_token();
  child->timeout = parent.timeout;
  child->szx = szx;
  child->request = std::move(follow);
  child->block2_next = static_cast<std::uint32_t>(head.size() / BlockOption{0, false, szx}.size());
  child->body = std::move(head);
  child->on_block2_done = [this, parent_id, first = std::move(first)](Result<Message> r,
                                                                      Instant at) mutable {
    auto it = client_.find(parent_id);
    if (it == client_.end()) return;
    ClientExchange& p = *it->second;
    if (!r) {
      if (!p.established) finish(parent_id, r.error(), at);
      return;
    }
    first.payload = std::move(r->payload);
    first.options.remove(option::kBlock2);
    if (p.established && p.handler) {
      ResponseHandler handler = p.handler;  // may cancel the observation it belongs to
      handler(std::move(first));
    } else {
      finish(parent_id, std::move(first), at);
    }
  };
  const RequestId child_id = child->id;
  client_by_token_[peer_key(child->peer, child->token)] = child_id;
  ClientExchange& ref = *child;
  client_.emplace(child_id, std::move(child));
  transmit_request(ref, now);
}

// ---------------------------------------------------------------- server side

void Endpoint::reply_now(PeerId peer, const Message& request, Message response, Instant now) {
  response.token = request.token;
  layer_->respond(peer, request, std::move(response), now);
}

bool Endpoint::echo_is_fresh(PeerId peer, const Message& request, Instant now) {
  const Option* echo = request.options.find(option::kEcho);
  auto it = echo_issued_.find(peer);
  return echo != nullptr && it != echo_issued_.end() && it->second.first == echo->value &&
         now <= it->second.second + config_.echo_freshness;
}

void Endpoint::handle_request(PeerId peer, Message&& m, Instant now) {
  if (m.options.has(option::kProxyUri) || m.options.has(option::kProxyScheme)) {
    const Option* host = m.options.find(option::kUriHost);
    const Option* scheme = m.options.find(option::kProxyScheme);
    // Without Uri-Port, the scheme's default port (RFC 7252 6.5).
    const bool secure = scheme != nullptr && to_string(scheme->value).starts_with("coaps");
    const auto port = m.options.get_uint(option::kUriPort).value_or(secure ? 5684 : 5683);
    const bool ours = !m.options.has(option::kProxyUri) && config_.names_self &&
                      config_.names_self(host ? to_string(host->value) : std::string(),
                                         static_cast<std::uint16_t>(port));
    if (!ours) {
      Message r;
      r.code = codes::kProxyingNotSupported;
      reply_now(peer, m, std::move(r), now);
      return;
    }
    m.options.remove(option::kProxyScheme);
  }
  // RFC 7252 5.4.1: an unrecognized critical option makes the request a 4.02.
  for (const auto& o : m.options.list()) {
    const bool bad =
        !option::is_known(o.number) || !option::has_valid_length(o.number, o.value.size());
    if (bad && option::is_critical(o.number)) {
      Message r;
      r.code = codes::kBadOption;
      r.payload = to_bytes(std::string("unsupported critical option ") + std::to_string(o.number));
      reply_now(peer, m, std::move(r), now);
      return;
    }
  }
  const bool bert = config_.carrier == Carrier::kStream;
  auto block1 = get_block(m, option::kBlock1, bert);
  auto block2 = get_block(m, option::kBlock2, bert);
  // We answer BERT Block2 requests in 1024-byte blocks (RFC 8323 6 lets the server choose).
  if (block2 && block2->is_bert()) block2->szx = 6;
  if ((m.options.has(option::kBlock1) && !block1) || (m.options.has(option::kBlock2) && !block2)) {
    Message r;
    r.code = codes::kBadOption;
    r.payload = to_bytes("malformed block option");
    reply_now(peer, m, std::move(r), now);
    return;
  }

  // RFC 9175 2.4: a request that needs freshness without a fresh Echo gets 4.01 + Echo.
  const bool fresh = m.options.has(option::kEcho) && echo_is_fresh(peer, m, now);
  if (fresh && config_.on_fresh_echo) config_.on_fresh_echo(peer, now);
  if (!fresh && config_.require_echo && config_.require_echo(peer, m, now)) {
    // Concurrent challenges share the peer's value (a new one would turn the others'
    // answers stale); past half its freshness it is renewed so the answer has time to come.
    auto& [value, issued] = echo_issued_[peer];
    if (value.empty() || now > issued + config_.echo_freshness / 2) {
      value = Bytes(8);
      random_.fill(value);
      issued = now;
      timers_.schedule(now + config_.echo_freshness,
                       TimerEntry{TimerKind::kEchoExpiry, 0, peer_key(peer, Bytes{})});
    }
    Message r;
    r.code = codes::kUnauthorized;
    r.options.set(option::kEcho, value);
    reply_now(peer, m, std::move(r), now);
    return;
  }

  const std::string obs_key = peer_key(peer, m.token);
  if (m.observe() == 1u) {
    // RFC 7641 3.6: GET with Observe=1 cancels the observation with this token.
    if (auto it = observation_by_token_.find(obs_key); it != observation_by_token_.end()) {
      end_observation(it->second, Failure::kCancelled);
    }
  }

  auto server = std::make_unique<ServerExchange>();
  server->peer = peer;
  server->wire.type = m.type;
  server->wire.message_id = m.message_id;
  server->wire.token = m.token;
  server->block2 = block2;
  server->wants_observe = m.observe() == 0u && (m.code == codes::kGet || m.code == codes::kFetch);

  if (block1) {
    const std::string key = peer_key(peer, body_key(m));
    // BERT bodies are taken whole, in 1024-byte units (RFC 8323 6).
    const std::uint8_t our_szx =
        block1->is_bert() ? std::uint8_t{7} : std::min(config_.block_szx, block1->szx);
    auto reject = [&](Code code, const char* why) {
      if (auto it = reassembly_.find(key); it != reassembly_.end()) {
        reassembly_bytes_[peer] -= it->second->body.size();
        reassembly_.erase(it);
      }
      Message r;
      r.code = code;
      if (code == codes::kRequestEntityTooLarge)
        r.options.set_uint(option::kSize1, config_.max_request_body);
      r.payload = to_bytes(why);
      reply_now(peer, m, std::move(r), now);
    };
    if (auto size1 = m.options.get_uint(option::kSize1);
        size1 && *size1 > config_.max_request_body) {
      reject(codes::kRequestEntityTooLarge, "request body too large");
      return;
    }
    auto it = reassembly_.find(key);
    if (block1->num == 0) {
      if (it != reassembly_.end()) {
        reassembly_bytes_[peer] -= it->second->body.size();
        reassembly_.erase(it);
      }
      it = reassembly_.emplace(key, std::make_unique<Reassembly>()).first;
    } else if (it == reassembly_.end() || it->second->body.size() != block1->offset()) {
      // RFC 7959 2.9.2: a block out of sequence, or whose start is gone.
      reject(codes::kRequestEntityIncomplete, "block out of sequence");
      return;
    }
    Reassembly& r = *it->second;
    std::size_t take = m.payload.size();
    bool more = block1->more;
    if (block1->szx > our_szx && !block1->is_bert()) {
      // RFC 7959 2.5: keep only our block size and tell the client to continue in it.
      take = std::min(take, std::size_t{1} << (our_szx + 4));
      more = more || take < m.payload.size();
    }
    if (r.body.size() + take > config_.max_request_body ||
        reassembly_bytes_[peer] + take > config_.max_request_body) {
      reject(codes::kRequestEntityTooLarge, "request body too large");
      return;
    }
    const std::size_t offset = r.body.size();
    r.body.insert(r.body.end(), m.payload.begin(),
                  m.payload.begin() + static_cast<std::ptrdiff_t>(take));
    reassembly_bytes_[peer] += take;
    const BlockOption ack{
        static_cast<std::uint32_t>(offset / BlockOption{0, false, our_szx}.size()), more, our_szx};
    if (more) {
      r.expires = now + config_.datagram.params.exchange_lifetime();
      timers_.schedule(r.expires, TimerEntry{TimerKind::kReassemblyExpiry, 0, key});
      Message cont;
      cont.code = codes::kContinue;
      set_block(cont, option::kBlock1, ack);
      reply_now(peer, m, std::move(cont), now);
      return;
    }
    m.payload = std::move(r.body);
    reassembly_bytes_[peer] -= m.payload.size();
    if (reassembly_bytes_[peer] == 0) reassembly_bytes_.erase(peer);
    reassembly_.erase(it);
    m.options.remove(option::kBlock1);
    m.options.remove(option::kSize1);
    server->block1 = BlockOption{ack.num, false, ack.szx};
  }

  server->cache_key = representation_key(m);
  if (block2 && block2->num > 0 && serve_cached_block(peer, m, server->cache_key, *block2, now)) {
    return;
  }

  const std::uint64_t id = next_id_++;
  server_.emplace(id, std::move(server));
  if (!request_handler_) {
    Message r;
    r.code = codes::kNotFound;
    send_response(id, std::move(r), now);
    return;
  }
  // The request stays here, not in the exchange: respond() ends the exchange while the
  // handler may still be reading the request.
  request_handler_(peer, m, Responder(this, id));
  // A handler that never answers must not hold the exchange forever. One that answered at
  // once needs no timer: a timer per request would keep the heap at the request rate times
  // EXCHANGE_LIFETIME entries (issue 22).
  if (server_.count(id) != 0) {
    timers_.schedule(now + config_.datagram.params.exchange_lifetime(),
                     TimerEntry{TimerKind::kServerExchangeExpiry, id, {}});
  }
}

bool Endpoint::serve_cached_block(PeerId peer, const Message& request, const std::string& cache_key,
                                  const BlockOption& block2, Instant now) {
  auto it = block_cache_.find(peer_key(peer, cache_key));
  if (it == block_cache_.end() || it->second->expires < now) return false;
  reply_now(peer, request, block_of(it->second->full, block2.szx, block2.num), now);
  return true;
}

Message Endpoint::slice_for_block2(PeerId peer, const std::string& cache_key, const Message& full,
                                   std::uint8_t szx, std::uint32_t num, Instant now) {
  const std::size_t size = std::size_t{1} << (szx + 4);
  if (num == 0 && full.payload.size() > size) cache_representation(peer, cache_key, full, now);
  return block_of(full, szx, num);
}

void Endpoint::cache_representation(PeerId peer, const std::string& cache_key, const Message& full,
                                    Instant now) {
  const std::string key = peer_key(peer, cache_key);
  std::size_t& used = block_cache_bytes_[peer];
  if (auto old = block_cache_.find(key); old != block_cache_.end()) {
    used -= old->second->full.payload.size();
    block_cache_.erase(old);
  }
  if (used + full.payload.size() <= config_.max_block_cache_per_peer) {
    auto cached = std::make_unique<CachedBody>();
    cached->full = full;
    cached->full.options.remove(option::kObserve);
    cached->expires = now + config_.block_cache_lifetime;
    used += full.payload.size();
    timers_.schedule(cached->expires, TimerEntry{TimerKind::kCacheExpiry, 0, key});
    block_cache_[key] = std::move(cached);
  }
  if (used == 0) block_cache_bytes_.erase(peer);
}

std::optional<ObservationId> Endpoint::send_response(std::uint64_t server_id, Message response,
                                                     Instant now) {
  auto it = server_.find(server_id);
  if (it == server_.end()) return std::nullopt;
  std::unique_ptr<ServerExchange> ex = std::move(it->second);
  server_.erase(it);
  const PeerId peer = ex->peer;
  if (ex->block1) set_block(response, option::kBlock1, *ex->block1);

  std::optional<ObservationId> observation;
  const std::string obs_key = peer_key(peer, ex->wire.token);
  if (ex->wants_observe && response.code.is_success() && response.observe()) {
    ObservationId id = 0;
    if (auto existing = observation_by_token_.find(obs_key);
        existing != observation_by_token_.end()) {
      id = existing->second;  // RFC 7641 4.1: re-registration keeps the observation
    } else {
      id = next_id_++;
      auto obs = std::make_unique<Observation>();
      obs->id = id;
      obs->peer = peer;
      obs->token = ex->wire.token;
      observations_[id] = std::move(obs);
      observation_by_token_[obs_key] = id;
      ++observers_[peer];
    }
    Observation& obs = *observations_.at(id);
    obs.cache_key = ex->cache_key;
    obs.seq = *response.observe();
    obs.szx = szx_for_peer(peer, ex->block2 ? std::optional(ex->block2->szx) : std::nullopt);
    observation = id;
  } else {
    response.options.remove(option::kObserve);
    if (ex->wants_observe) {
      if (auto existing = observation_by_token_.find(obs_key);
          existing != observation_by_token_.end()) {
        end_observation(existing->second, Failure::kCancelled);
      }
    }
  }

  const std::uint8_t szx =
      szx_for_peer(peer, ex->block2 ? std::optional(ex->block2->szx) : std::nullopt);
  const bool block_wise_ok = layer_->peer_supports_block_wise(peer);
  const std::size_t block_size = std::size_t{1} << (szx + 4);
  if (response.code.is_success() && block_wise_ok &&
      (ex->block2 || response.payload.size() > block_size)) {
    const std::uint32_t num = ex->block2 ? ex->block2->num : 0;
    response = slice_for_block2(peer, ex->cache_key, response, szx, num, now);
  }
  reply_now(peer, ex->wire, std::move(response), now);
  return observation;
}

bool Endpoint::notify(ObservationId id, Message content, Type type, Instant now) {
  auto it = observations_.find(id);
  if (it == observations_.end()) return false;
  Observation& obs = *it->second;
  const PeerId peer = obs.peer;
  content.type = type;
  content.token = obs.token;
  if (!content.code.is_success()) {
    // RFC 7641 4.2: an error response ends the observation.
    content.options.remove(option::kObserve);
    layer_->send(peer, std::move(content), now);
    end_observation(id, Failure::kCancelled);
    return true;
  }
  obs.seq = (obs.seq + 1) & 0xffffff;
  content.set_observe(obs.seq);
  const std::size_t block_size = std::size_t{1} << (obs.szx + 4);
  if (content.payload.size() > block_size && layer_->peer_supports_block_wise(peer)) {
    // RFC 7959 3.4: the notification carries block 0; the client fetches the rest.
    content = slice_for_block2(peer, obs.cache_key, content, obs.szx, 0, now);
    content.type = type;
    content.token = obs.token;
  }
  layer_->send(peer, std::move(content), now);
  return true;
}

void Endpoint::end_observation(ObservationId id, Failure why) {
  auto it = observations_.find(id);
  if (it == observations_.end()) return;
  observation_by_token_.erase(peer_key(it->second->peer, it->second->token));
  if (auto o = observers_.find(it->second->peer); o != observers_.end() && --o->second == 0) {
    observers_.erase(o);
  }
  observations_.erase(it);
  if (observation_ended_) observation_ended_(id, why);
}

}  // namespace tether::coap
