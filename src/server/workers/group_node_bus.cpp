#include "server/workers/group_node_bus.hpp"

namespace tether::server {

GroupNodeBus::GroupNodeBus(NodeBus& outside, NodeBus& inside, std::vector<Sibling> siblings)
    : outside_(outside), inside_(inside), siblings_(std::move(siblings)) {}

GroupNodeBus::~GroupNodeBus() {
  outside_.set_handler(nullptr);
  inside_.set_handler(nullptr);
}

Result<bool> GroupNodeBus::send(const std::string& node, std::string_view message) {
  for (const auto& s : siblings_) {
    if (s.node == node) return inside_.send(s.local, message);
  }
  return outside_.send(node, message);
}

void GroupNodeBus::set_handler(Handler handler) {
  outside_.set_handler(handler);
  inside_.set_handler(std::move(handler));
}

}  // namespace tether::server
