#pragma once
// `--nidd`: a server engine serving NB-IoT/LTE-M devices over non-IP data (Transport TS
// Appendix D.3) as an SCS/AS on an SCEF's T8 API. An ScefClient and the NIDD transport
// attached under the link name "nidd"; the SCEF's problems become log lines. Each UE
// registers under the endpoint name configured for it (the SCEF vouches for the UE, not
// for the name it gives).
#include <map>
#include <memory>
#include <string>

#include "common/random.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "option_table.hpp"
#include "transport/event_loop.hpp"
#include "transport/nidd/nidd_transport.hpp"
#include "transport/nidd/scef_client.hpp"

namespace tether::app {

// The --nidd lines of `tether server --help`.
extern const char* const kNiddHelp;

class NiddService {
 public:
  // Throws std::invalid_argument for a bad URL, UE list or token file.
  NiddService(transport::EventLoop& loop, Random& random, const NiddServiceOptions& o);
  ~NiddService();
  transport::NiddTransport& transport() { return *transport_; }
  // Listens for the SCEF's callbacks and asks for the configurations; throws
  // std::invalid_argument when the callback port is taken.
  void start();
  // The Register of a UE: its configured endpoint name, 4.03 for another (unless
  // --nidd-any-name).
  Result<Ok> complete_register(coap::PeerId peer, lwm2m::RegisterRequest& r) const;
  // "nidd=scef http://... scs_as=tether callback=127.0.0.1:13090 ues=2" for the start-up line.
  std::string describe() const;

 private:
  NiddServiceOptions options_;
  std::map<std::string, std::string> names_;  // endpoint names by UeId::key()
  std::unique_ptr<transport::ScefClient> scef_;
  std::unique_ptr<transport::NiddTransport> transport_;
};

}  // namespace tether::app
