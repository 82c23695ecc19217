#include "server/workers/worker_group.hpp"

namespace tether::server {

class WorkerGroup::Asker final : public RegistrationHandover {
 public:
  Asker(WorkerGroup& group, std::size_t self) : group_(group), self_(self) {}

  std::size_t ask(std::uint64_t ask, const std::string& location,
                  const PeerIdentity& identity) override {
    std::size_t asked = 0;
    for (std::size_t k = 0; k < group_.members_.size(); ++k) {
      if (k == self_) continue;
      ++asked;
      group_.members_[k].loop->post([&group = group_, k, self = self_, ask, location, identity] {
        auto found = group.members_[k].server->hand_over(location, identity);
        group.members_[self].loop->post([&group, self, ask, found = std::move(found)]() mutable {
          group.members_[self].server->handed(ask, std::move(found));
        });
      });
    }
    return asked;
  }

 private:
  WorkerGroup& group_;
  std::size_t self_;
};

WorkerGroup::WorkerGroup(std::size_t workers, WorkerDirectory& directory)
    : members_(workers), directory_(directory) {}

WorkerGroup::~WorkerGroup() = default;

void WorkerGroup::join(std::size_t worker, transport::EventLoop& loop, Lwm2mServer& server) {
  Member& m = members_.at(worker);
  m.loop = &loop;
  m.server = &server;
  m.asker = std::make_unique<Asker>(*this, worker);
  server.set_handover(m.asker.get());
}

void WorkerGroup::moved(std::size_t from, const std::string& endpoint) {
  Member& m = members_.at(from);
  // Runs inside a Register on the event loop: a worker not joined yet holds nothing to let go.
  if (m.loop == nullptr) return;
  m.loop->post([this, from, endpoint] {
    if (directory_.owner(endpoint) != from) members_[from].server->release(endpoint);
  });
}

}  // namespace tether::server
