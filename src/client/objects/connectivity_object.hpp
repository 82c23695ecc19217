#pragma once
// Connectivity Monitoring (object 4, Core TS Appendix E.5) from the host: the bearer is
// Ethernet (41) for a wired Linux host, the radio signal strength 0 (no radio), and the IP
// addresses are read from the interfaces (getifaddrs) each time a server reads them.
#include "client/object.hpp"

namespace tether::client {

class ConnectivityObject final : public DataObject {
 public:
  ConnectivityObject();
  Result<lwm2m::InstanceNode> read(std::uint16_t instance) const override;
};

}  // namespace tether::client
