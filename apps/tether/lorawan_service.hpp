#pragma once
// `--lorawan`: a server engine serving LoRaWAN devices as a LoRaWAN application server
// (Transport TS 6.8.4, Appendix C) through a network server's MQTT integration. One broker
// connection of its own, a ChirpstackIntegration on it, and the LoRaWAN transport attached
// under the link name "lorawan"; the network's problems become warn lines.
#include <memory>
#include <string>

#include "common/random.hpp"
#include "option_table.hpp"
#include "transport/event_loop.hpp"
#include "transport/lorawan/chirpstack_integration.hpp"
#include "transport/lorawan/lorawan_transport.hpp"
#include "transport/mqtt/mqtt_connection.hpp"

namespace tether::app {

// The --lorawan lines of `tether server --help`.
extern const char* const kLorawanHelp;

class LorawanService {
 public:
  // Throws std::invalid_argument for a bad URL, region, application id or password file.
  LorawanService(transport::EventLoop& loop, Random& random, const LorawanServiceOptions& o);
  ~LorawanService();
  transport::LorawanTransport& transport() { return *transport_; }
  // Connects to the broker and subscribes; the loop does the rest.
  void start();
  // "lorawan=127.0.0.1:1883 application=+ region=EU868 appendix=C.3.1" for the start-up line.
  std::string describe() const;

 private:
  transport::MqttConnectionConfig config_;
  LorawanServiceOptions options_;
  std::unique_ptr<transport::MqttConnection> broker_;
  std::unique_ptr<transport::ChirpstackIntegration> integration_;
  std::unique_ptr<transport::LorawanTransport> transport_;
};

}  // namespace tether::app
