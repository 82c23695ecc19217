#pragma once
// The node bus between the workers of one process (`tether server --workers N`): each
// worker is a node named "w<k>", and a message to it runs on its event loop. Nothing leaves
// the process, so delivery is certain while the worker's loop runs; the API's routing is
// the same as between nodes on Redis (api/node_routing).
#include <memory>
#include <string>
#include <vector>

#include "server/node_bus.hpp"
#include "transport/event_loop.hpp"

namespace tether::server {

// The workers' loops, fixed before any worker starts; it outlives every bus made from it
// and every loop it names runs until the hub is gone.
class LocalNodeHub {
 public:
  explicit LocalNodeHub(std::vector<transport::EventLoop*> loops);
  ~LocalNodeHub();
  LocalNodeHub(const LocalNodeHub&) = delete;
  LocalNodeHub& operator=(const LocalNodeHub&) = delete;
  std::size_t size() const { return members_.size(); }
  static std::string name_of(std::size_t worker) { return "w" + std::to_string(worker); }
  // The bus worker `worker` uses (made once, owned by the hub).
  NodeBus& bus(std::size_t worker);

 private:
  class Member;
  std::vector<std::unique_ptr<Member>> members_;
  // Hands `message` to member `to`, on its loop.
  void deliver(std::size_t to, std::string message);
  friend class Member;
};

}  // namespace tether::server
