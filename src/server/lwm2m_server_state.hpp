#pragma once
// Lwm2mServer's per-client state, shared by the files that implement it
// (lwm2m_server.cpp, lwm2m_server_observations.cpp, lwm2m_server_restart.cpp); not an
// interface for anyone else.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/lazy_deque.hpp"
#include "server/lwm2m_server.hpp"

namespace tether::server {

struct Lwm2mServer::Pending {
  std::uint64_t ticket = 0;
  std::string endpoint;
  lwm2m::DownlinkRequest request;
  std::string alternate_path;
  DownlinkCallback done;
  Instant started{};
  ExchangeId exchange = 0;
  bool reported_queued = false;
  // An observation restored after a restart and observed again keeps its id.
  std::string observation_id;
};

struct Lwm2mServer::Session {
  std::string endpoint;
  ServerLink* link = nullptr;
  PeerKey peer;          // unknown since the restart, until the client speaks or is resolved
  bool indexed = false;  // session_by_peer_ names this session at (link, peer)
  std::string address;
  bool queue_mode = false;
  Instant awake_until{};
  bool awake = false;
  bool woken = false;                         // asked to wake since it was last heard from
  LazyDeque<std::unique_ptr<Pending>> queue;  // most clients never have one
  std::unique_ptr<Pending> in_flight;
  std::vector<std::string> observations;
};

struct Lwm2mServer::Observation {
  ObservationRecord record;
  ServerLink* link = nullptr;
  ExchangeId exchange = 0;  // 0: none (restored, and not yet observed again)
  lwm2m::DownlinkRequest request;
  std::string alternate_path;
};

}  // namespace tether::server
