#include "binding/mqtt/exchanges.hpp"

namespace tether::binding::mqtt {

namespace {

// How long a publication of ours may come back as an echo, and how many we remember.
constexpr Duration kEchoWindow{30'000};
constexpr std::size_t kMaxRemembered = 4096;
// How long a repeated request gets the first answer again (a QoS 1 redelivery after a
// reconnect may come late).
constexpr Duration kAnswerWindow{300'000};

std::uint64_t digest(std::string_view topic, ByteView bytes) {
  // FNV-1a over the topic, a separator and the bytes: an exact match, not a security check.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::uint8_t b) {
    h ^= b;
    h *= 1099511628211ULL;
  };
  for (char c : topic) mix(static_cast<std::uint8_t>(c));
  mix(0);
  for (auto b : bytes) mix(b);
  return h;
}

bool opens_observation(const Topic& topic, const Payload& p) {
  return topic.interface == Interface::kRegistration &&
         (p.operation == opcode::kObserve || p.operation == opcode::kObserveComposite);
}

}  // namespace

Exchanges::Exchanges(std::string prefix, Publish publish, Duration timeout,
                     std::uint64_t first_token)
    : prefix_(std::move(prefix)),
      publish_(std::move(publish)),
      timeout_(timeout),
      next_token_(first_token) {}

std::uint64_t Exchanges::request(const Topic& topic, Payload request, AnswerCallback on_answer,
                                 Instant now) {
  last_now_ = now;
  const std::uint64_t token = next_token_++;
  request.token = token;
  Key key{topic.endpoint, token};
  const Instant deadline = now + timeout_;
  waiting_[key] = Waiting{std::move(on_answer), opens_observation(topic, request), false, deadline};
  deadlines_.emplace(deadline, key);
  publish(topic_name(topic), encode(request), now);
  return token;
}

void Exchanges::forget(const std::string& endpoint, std::uint64_t token) {
  waiting_.erase(Key{endpoint, token});
}

bool Exchanges::cancel_observation(const Topic& topic, std::uint64_t token,
                                   AnswerCallback on_answer, Instant now) {
  last_now_ = now;
  auto it = waiting_.find(Key{topic.endpoint, token});
  if (it == waiting_.end() || !it->second.observe) return false;
  // The same token now waits for the cancel's answer, like any request.
  const Instant deadline = now + timeout_;
  it->second = Waiting{std::move(on_answer), false, false, deadline};
  deadlines_.emplace(deadline, it->first);
  Payload cancel;
  cancel.operation = opcode::kCancelObserve;
  cancel.token = token;
  publish(topic_name(topic), encode(cancel), now);
  return true;
}

void Exchanges::publish_message(const Topic& topic, const Payload& message, Instant now) {
  last_now_ = now;
  publish(topic_name(topic), encode(message), now);
}

void Exchanges::adopt(const Topic& topic, std::uint64_t token, AnswerCallback on_notify) {
  waiting_[Key{topic.endpoint, token}] = Waiting{std::move(on_notify), true, true, Instant{}};
}

bool Exchanges::is_open(const std::string& endpoint, std::uint64_t token) const {
  return waiting_.count(Key{endpoint, token}) != 0;
}

void Exchanges::publish(const std::string& topic, const Bytes& bytes, Instant now) {
  const std::uint64_t d = digest(topic, bytes);
  ++sent_[d];
  sent_order_.emplace_back(d, now);
  expire(now);
  publish_(topic, bytes);
}

bool Exchanges::is_echo(std::string_view topic, ByteView bytes) {
  auto it = sent_.find(digest(topic, bytes));
  if (it == sent_.end()) return false;
  if (--it->second == 0) sent_.erase(it);  // each publication comes back at most once
  return true;
}

void Exchanges::expire(Instant now) {
  while (!sent_order_.empty() &&
         (sent_order_.size() > kMaxRemembered || now - sent_order_.front().second > kEchoWindow)) {
    auto it = sent_.find(sent_order_.front().first);
    if (it != sent_.end() && --it->second <= 0) sent_.erase(it);
    sent_order_.pop_front();
  }
  while (!answered_order_.empty() && (answered_order_.size() > kMaxRemembered ||
                                      now - answered_order_.front().second > kAnswerWindow)) {
    answered_.erase(answered_order_.front().first);
    answered_order_.pop_front();
  }
}

void Exchanges::on_message(std::string_view topic_name, ByteView bytes, Instant now) {
  last_now_ = now;
  expire(now);
  auto topic = parse_topic(topic_name, prefix_);
  if (!topic) {
    ++counters_.malformed;
    return;
  }
  if (is_echo(topic_name, bytes)) {
    ++counters_.echoes;
    return;
  }
  auto p = decode(bytes);
  if (!p || !p->token) {
    ++counters_.malformed;
    return;
  }
  if (p->result || p->operation == opcode::kNotify) {
    on_answer(*topic, *p);
  } else {
    on_peer_request(*topic, topic_name, *p, now);
  }
}

void Exchanges::on_answer(const Topic& topic, const Payload& p) {
  auto it = waiting_.find(Key{topic.endpoint, *p.token});
  const bool notify = p.operation == opcode::kNotify;
  if (it == waiting_.end() || (notify && (!it->second.observe || !it->second.answered)) ||
      (!notify && it->second.answered)) {
    ++counters_.unmatched;
    return;
  }
  Waiting& w = it->second;
  const bool keep = w.observe && (notify || (p.result && *p.result / 100 == 2));
  if (keep) {
    w.answered = true;
    AnswerCallback cb = w.on_answer;  // the exchange stays; the callback may forget it
    cb(p);
    return;
  }
  AnswerCallback cb = std::move(w.on_answer);
  waiting_.erase(it);
  cb(p);
}

void Exchanges::on_peer_request(const Topic& topic, std::string_view topic_name, const Payload& p,
                                Instant now) {
  Key key{topic.endpoint, *p.token, p.operation.value_or(0)};
  if (auto done = answered_.find(key); done != answered_.end()) {
    ++counters_.duplicates;
    // Answered already: the same answer again. Still being answered: nothing to add.
    if (!done->second.empty()) publish(std::string(topic_name), done->second, now);
    return;
  }
  if (!on_request_) return;
  answered_[key];
  answered_order_.emplace_back(key, now);
  Responder respond = [this, alive = alive_, key, name = std::string(topic_name),
                       answered = false](Payload answer) mutable {
    if (!*alive || answered) return;
    answered = true;
    answer.token = key.token;
    Bytes bytes = encode(answer);
    if (auto it = answered_.find(key); it != answered_.end()) it->second = bytes;
    publish(name, bytes, last_now_);
  };
  on_request_(topic, p, std::move(respond));
}

std::optional<Instant> Exchanges::next_deadline() const {
  for (const auto& [at, key] : deadlines_) {
    auto it = waiting_.find(key);
    if (it != waiting_.end() && !it->second.answered && it->second.deadline == at) return at;
  }
  return std::nullopt;
}

void Exchanges::on_timer(Instant now) {
  last_now_ = now;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const auto [at, key] = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin());
    auto it = waiting_.find(key);
    if (it == waiting_.end() || it->second.answered || it->second.deadline != at) continue;
    AnswerCallback cb = std::move(it->second.on_answer);
    waiting_.erase(it);
    ++counters_.timeouts;
    cb(fail("no answer within " + std::to_string(timeout_.count() / 1000) + " s"));
  }
  expire(now);
}

}  // namespace tether::binding::mqtt
