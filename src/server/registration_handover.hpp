#pragma once
// Issue 22, `tether server --workers N`: a registration another worker of this process
// serves, asked for when its device's datagrams reach this worker instead (a NAT rebinding
// changed the source port the kernel hashes, or the server restarted with another N). The
// worker holding it answers with a copy (Lwm2mServer::hand_over) and this one adopts it, so
// the device's Update is answered 2.04 instead of 4.04 and a re-register; the holder lets
// its own go when the directory says this one has it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/registration_registry.hpp"

namespace tether::server {

class RegistrationHandover {
 public:
  virtual ~RegistrationHandover() = default;
  // Asks every other worker for the registration at `location` that `identity` may speak
  // for. Each answer comes later, on the asking server's loop, as
  // Lwm2mServer::handed(ask, found); the return is how many answers will come.
  virtual std::size_t ask(std::uint64_t ask, const std::string& location,
                          const PeerIdentity& identity) = 0;
};

}  // namespace tether::server
