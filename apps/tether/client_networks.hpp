#pragma once
// The client's link-layer networks: LoRaWAN (Transport TS 6.8.4, lorawan://FPORT accounts)
// and NIDD (Appendix D.3, the nidd:// account). Each is a carrier (a modem on a serial
// device, or our LoRaWAN simulator's radio) under a CoAP transport the client attaches like
// the UDP one; their flags and help live here.
#include <cstdint>
#include <memory>
#include <string>

#include "common/random.hpp"
#include "option_table.hpp"
#include "transport/event_loop.hpp"
#include "transport/lorawan/lorawan_transport.hpp"
#include "transport/nidd/nidd_modem_link.hpp"
#include "transport/nidd/nidd_transport.hpp"

namespace tether::app {

struct LorawanLinkSettings {
  // Through our simulator's radio (`tether lorawan-ns --radio-port`) as the device
  // --dev-eui, or through a LoRaWAN modem's AT port (RUI3 dialect).
  std::string radio;
  std::string modem;
  std::string dev_eui;
  std::string region = "EU868";
  std::uint32_t dr = 5;
  std::string device_class = "A";
  bool unconfirmed = false;
  std::uint32_t ack_timeout_s = 300;
  std::uint32_t poll_s = 30;
};

struct NiddLinkSettings {
  std::string modem;  // an NB-IoT/LTE-M modem's AT port (TS 27.007 non-IP data)
  // Appendix D.8: the PSM timers the modem asks the network for (AT+CPSMS) and the eDRX
  // cycle it runs with; 0: left as the modem has them.
  std::uint32_t psm_tau_s = 0;
  std::uint32_t psm_active_s = 0;
  std::uint32_t edrx_s = 0;
};

// The --lorawan-*, --dev-eui, --nidd-modem, --psm-* and --edrx flags.
void add_client_network_options(OptionTable& table, LorawanLinkSettings& lorawan,
                                NiddLinkSettings& nidd);
extern const char* const kClientNetworkHelp;

struct LorawanLink {
  std::unique_ptr<transport::LorawanCarrier> carrier;  // before the transport that uses it
  std::unique_ptr<transport::LorawanTransport> transport;
};
// Empty without --lorawan-radio or --lorawan-modem; throws std::invalid_argument for bad
// flags.
LorawanLink make_lorawan_link(transport::EventLoop& loop, Random& random,
                              const LorawanLinkSettings& s);

struct NiddLink {
  std::unique_ptr<transport::NiddModemLink> carrier;  // before the transport that uses it
  std::unique_ptr<transport::NiddTransport> transport;
};
// Empty without --nidd-modem; throws std::invalid_argument for timers 24.008 cannot say.
NiddLink make_nidd_link(transport::EventLoop& loop, Random& random, const NiddLinkSettings& s);

// Appendix D.8: a warn line for each way the LwM2M timers contradict the PSM and eDRX ones.
void warn_timer_contradictions(const NiddLinkSettings& s, std::uint32_t lifetime_s, bool queue_mode,
                               Duration awake_window);

}  // namespace tether::app
