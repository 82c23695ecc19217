#pragma once
// The node bus of one worker of `tether server --workers N --store redis://...`: every
// worker is a node of its own on Redis (it owns the registrations it serves, under the
// name NODE/w<k>), and what one worker sends to another of the same process goes through
// the LocalNodeHub instead (a post to that worker's loop, no round trip, and it works while
// Redis is away). Broadcasts go through Redis alone, which delivers them to the workers of
// this process too; NodeRouting sends its group a marked copy through the hub as well and
// drops the Redis one (set_group), so nothing is taken twice.
#include <string>
#include <utility>
#include <vector>

#include "server/node_bus.hpp"

namespace tether::server {

class GroupNodeBus final : public NodeBus {
 public:
  struct Sibling {
    std::string node;   // its name on `outside`
    std::string local;  // its name on `inside` (LocalNodeHub::name_of)
  };
  // Both buses outlive this one and deliver on this worker's loop.
  GroupNodeBus(NodeBus& outside, NodeBus& inside, std::vector<Sibling> siblings);
  ~GroupNodeBus() override;
  GroupNodeBus(const GroupNodeBus&) = delete;
  GroupNodeBus& operator=(const GroupNodeBus&) = delete;

  const std::string& node() const override { return outside_.node(); }
  Result<bool> send(const std::string& node, std::string_view message) override;
  Result<Ok> broadcast(std::string_view message) override { return outside_.broadcast(message); }
  Result<Ok> broadcast_all(const std::vector<std::string>& messages) override {
    return outside_.broadcast_all(messages);
  }
  void set_handler(Handler handler) override;

 private:
  NodeBus& outside_;
  NodeBus& inside_;
  std::vector<Sibling> siblings_;
};

}  // namespace tether::server
