#include "server/workers/local_node_bus.hpp"

#include <stdexcept>

namespace tether::server {

class LocalNodeHub::Member final : public NodeBus {
 public:
  Member(LocalNodeHub& hub, std::size_t index, transport::EventLoop& loop)
      : hub_(hub), loop_(loop), name_(LocalNodeHub::name_of(index)) {}

  const std::string& node() const override { return name_; }

  Result<bool> send(const std::string& node, std::string_view message) override {
    for (std::size_t i = 0; i < hub_.size(); ++i) {
      if (hub_.members_[i]->name_ == node) {
        hub_.deliver(i, std::string(message));
        return true;
      }
    }
    return false;
  }

  Result<Ok> broadcast(std::string_view message) override {
    for (std::size_t i = 0; i < hub_.size(); ++i) hub_.deliver(i, std::string(message));
    return Ok{};
  }

  // Set and read on this member's own loop thread only.
  void set_handler(Handler handler) override { handler_ = std::move(handler); }

  void receive(const std::string& message) const {
    if (handler_) handler_(message);
  }
  transport::EventLoop& loop() { return loop_; }

 private:
  LocalNodeHub& hub_;
  transport::EventLoop& loop_;
  std::string name_;
  Handler handler_;
};

LocalNodeHub::LocalNodeHub(std::vector<transport::EventLoop*> loops) {
  for (std::size_t i = 0; i < loops.size(); ++i) {
    if (loops[i] == nullptr) throw std::invalid_argument("LocalNodeHub: a worker without a loop");
    members_.push_back(std::make_unique<Member>(*this, i, *loops[i]));
  }
}

LocalNodeHub::~LocalNodeHub() = default;

NodeBus& LocalNodeHub::bus(std::size_t worker) {
  return *members_.at(worker);
}

void LocalNodeHub::deliver(std::size_t to, std::string message) {
  Member* member = members_[to].get();
  // A copy per receiver: the loops run on their own threads.
  member->loop().post([member, message = std::move(message)] { member->receive(message); });
}

}  // namespace tether::server
