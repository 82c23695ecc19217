#pragma once
// The workers of one process (`tether server --workers N`) and what they ask of each
// other: to let go of an endpoint that registered with another worker (WorkerStore's
// MovedHandler), and to hand over a registration whose device's datagrams now reach
// another worker (RegistrationHandover). A request runs on the asked worker's loop and its
// answer on the asker's, so each server is only ever touched by its own thread.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "server/lwm2m_server.hpp"
#include "server/registration_handover.hpp"
#include "server/workers/worker_directory.hpp"
#include "transport/event_loop.hpp"

namespace tether::server {

class WorkerGroup {
 public:
  WorkerGroup(std::size_t workers, WorkerDirectory& directory);
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  // Worker `worker`'s loop and server, each set before any worker's loop runs; both outlive
  // the time their loop runs. The server is told to ask the group for handovers.
  void join(std::size_t worker, transport::EventLoop& loop, Lwm2mServer& server);
  // Worker `from` served `endpoint`, which registered with another: it lets it go, unless
  // the endpoint came back to it meanwhile.
  void moved(std::size_t from, const std::string& endpoint);

 private:
  class Asker;
  struct Member {
    transport::EventLoop* loop = nullptr;
    Lwm2mServer* server = nullptr;
    std::unique_ptr<Asker> asker;
  };
  std::vector<Member> members_;
  WorkerDirectory& directory_;
};

}  // namespace tether::server
