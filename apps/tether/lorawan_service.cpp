#include "lorawan_service.hpp"

#include <stdexcept>

#include "common/logfmt.hpp"
#include "lorawan/chirpstack.hpp"
#include "mqtt_service.hpp"
#include "service_runtime.hpp"

namespace tether::app {

const char* const kLorawanHelp =
    "  --lorawan URL          serve LoRaWAN devices (Transport TS 6.8.4) as an application\n"
    "                         server, through a network server's MQTT integration\n"
    "                         (ChirpStack v4 topics and JSON): mqtt://HOST[:PORT] "
    "(docs/lorawan.md)\n"
    "  --lorawan-application ID  the network server's application id (+: all; default)\n"
    "  --lorawan-region R     EU868 (default) or US915: frame sizes per data rate\n"
    "  --lorawan-unconfirmed  CON messages ride unconfirmed frames (Appendix C.3.2);\n"
    "                         default: confirmed frames (C.3.1)\n"
    "  --lorawan-ack-timeout S, --lorawan-max-retransmit N  Appendix C.2 (300, 4)\n"
    "  --lorawan-any-name     let devices register under names other than their DevEUI\n"
    "  --lorawan-username U, --lorawan-password-file F  the broker login\n";

LorawanService::LorawanService(transport::EventLoop& loop, Random& random,
                               const LorawanServiceOptions& o)
    : config_(broker_config(o.broker)), options_(o) {
  if (config_.tls) throw std::invalid_argument("--lorawan takes mqtt:// for now");
  auto region = lorawan::parse_region(o.region);
  if (!region) throw std::invalid_argument("--lorawan-region takes EU868 or US915");
  if (o.application != "+" && !lorawan::chirpstack::is_application_id(o.application)) {
    throw std::invalid_argument("--lorawan-application: 1-64 printable characters, no / + #");
  }
  config_.client_id = random_client_id(random);
  config_.username = o.username;
  if (!o.password_file.empty()) config_.password = read_secret_file(o.password_file, "password");
  broker_ = std::make_unique<transport::MqttConnection>(loop, config_);
  transport::ChirpstackOptions c;
  c.application = o.application;
  c.region = *region;
  integration_ = std::make_unique<transport::ChirpstackIntegration>(loop, *broker_, c, random);
  integration_->set_problem_handler([](const std::string& event, const std::string& detail) {
    log_line("event=" + event + logfmt_field("detail", detail),
             event.ends_with("-info") ? "info" : "warn");
  });
  broker_->set_state_handler([](bool connected, const std::string& why) {
    log_line(std::string("event=lorawan-broker-") + (connected ? "up" : "down") +
                 logfmt_field("detail", why),
             connected ? "info" : "warn");
  });
  transport::LorawanOptions lo;
  lo.retransmission.side = lorawan::ConRetransmissionConfig::Side::kApplicationServer;
  lo.retransmission.confirmed = !o.unconfirmed;
  lo.retransmission.ack_timeout = Duration{std::int64_t{o.ack_timeout_s} * 1000};
  lo.retransmission.max_retransmit = o.max_retransmit;
  lo.problem = [](const std::string& event, const std::string& detail) {
    log_line("event=" + event + logfmt_field("detail", detail), "warn");
  };
  transport_ = std::make_unique<transport::LorawanTransport>(loop, coap::EndpointConfig{}, random,
                                                             *integration_, lo);
}

LorawanService::~LorawanService() = default;

void LorawanService::start() {
  integration_->start();
  if (auto ok = broker_->start(); !ok) {
    throw std::invalid_argument("--lorawan: " + ok.error().reason);
  }
}

std::string LorawanService::describe() const {
  return " lorawan=" + config_.host + ":" + std::to_string(config_.port) +
         logfmt_field("application", options_.application) + " region=" + options_.region +
         " appendix=" + (options_.unconfirmed ? "C.3.2" : "C.3.1");
}

}  // namespace tether::app
