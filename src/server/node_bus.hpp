#pragma once
// Messages between the server nodes that share one store (docs/redis.md, "Several nodes"):
// to one node by its name, or to every node. The REST API uses it to hand a request for a
// device to the node that serves the device, and to share events (api/node_routing).
// Delivery is at most once; whoever waits for an answer bounds the wait.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tether::server {

class NodeBus {
 public:
  using Handler = std::function<void(std::string_view message)>;
  virtual ~NodeBus() = default;

  // This node's name (the owner its registrations carry in the store).
  virtual const std::string& node() const = 0;
  // Hands `message` to the node named; false when that node does not listen now (it is
  // down, or its bus is reconnecting).
  virtual Result<bool> send(const std::string& node, std::string_view message) = 0;
  // Hands `message` to every node listening, this one included.
  virtual Result<Ok> broadcast(std::string_view message) = 0;
  // Several at once, in order (a bus may send them in one round trip).
  virtual Result<Ok> broadcast_all(const std::vector<std::string>& messages) {
    for (const auto& m : messages) {
      if (auto ok = broadcast(m); !ok) return ok;
    }
    return Ok{};
  }
  // What reaches this node, on its loop thread.
  virtual void set_handler(Handler handler) = 0;
};

}  // namespace tether::server
