#pragma once
// An in-memory MQTT broker for tests on virtual time: every publication goes to every
// subscriber, the publisher included (as an MQTT 3.1.1 broker does for a client subscribed to
// its own topic), in order, when deliver() runs.
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace tether::testing {

struct MemoryBroker {
  struct Message {
    std::string topic;
    Bytes bytes;
  };
  using Subscriber = std::function<void(std::string_view topic, ByteView bytes, Instant now)>;

  std::deque<Message> queue;
  std::vector<Subscriber> subscribers;
  std::vector<Message> log;  // everything published, for assertions
  Instant now{};

  std::function<void(const std::string&, const Bytes&)> publisher() {
    return [this](const std::string& topic, const Bytes& bytes) {
      queue.push_back({topic, bytes});
      log.push_back({topic, bytes});
    };
  }
  // Delivers everything queued (and what that causes) to every subscriber.
  void deliver() {
    for (int i = 0; i < 10'000 && !queue.empty(); ++i) {
      Message m = std::move(queue.front());
      queue.pop_front();
      for (auto& s : subscribers) s(m.topic, m.bytes, now);
    }
  }
};

}  // namespace tether::testing
