#include "client_networks.hpp"

#include <stdexcept>

#include "common/logfmt.hpp"
#include "lorawan/region.hpp"
#include "nidd/psm_timers.hpp"
#include "service_runtime.hpp"
#include "transport/lorawan/modem_link.hpp"
#include "transport/lorawan/radio_link.hpp"
#include "transport/socket_address.hpp"

namespace tether::app {

const char* const kClientNetworkHelp =
    "  --lorawan-radio HOST:PORT  reach lorawan://FPORT servers (Transport TS 6.8.4)\n"
    "                   through our simulator's radio (tether lorawan-ns --radio-port)\n"
    "  --lorawan-modem DEV  or through a LoRaWAN modem's AT port (RAK RUI3 dialect,\n"
    "                   docs/lorawan.md), which knows the DevEUI, region and data rate\n"
    "  --dev-eui HEX    our DevEUI (16 hex digits); also the default endpoint name\n"
    "  --lorawan-region R, --lorawan-dr N, --lorawan-class A|C  EU868, 5, A by default\n"
    "  --lorawan-unconfirmed  CON messages in unconfirmed frames (Appendix C.3.2)\n"
    "  --lorawan-ack-timeout S, --lorawan-poll S  Appendix C: ACK_TIMEOUT (300) and\n"
    "                   the wait before another receive window is opened (30)\n"
    "  --nidd-modem DEV  reach the nidd:// server (Transport TS Appendix D.3) as non-IP\n"
    "                   data through an NB-IoT/LTE-M modem's AT port (TS 27.007 +CSODCP,\n"
    "                   +CRTDCP; docs/nidd.md)\n"
    "  --psm-tau S, --psm-active S  the PSM timers (T3412, T3324) the modem asks for;\n"
    "                   --edrx S the eDRX cycle; checked against the lifetime and queue\n"
    "                   mode (Appendix D.8): a warn line where they contradict\n";

void add_client_network_options(OptionTable& table, LorawanLinkSettings& l, NiddLinkSettings& n) {
  table.text("--lorawan-radio", "lorawanRadio", l.radio)
      .text("--lorawan-modem", "lorawanModem", l.modem)
      .text("--dev-eui", "devEui", l.dev_eui)
      .text("--lorawan-region", "lorawanRegion", l.region)
      .number("--lorawan-dr", "lorawanDr", l.dr, 15)
      .text("--lorawan-class", "lorawanClass", l.device_class)
      .boolean("--lorawan-unconfirmed", "lorawanUnconfirmed", l.unconfirmed)
      .number("--lorawan-ack-timeout", "lorawanAckTimeout", l.ack_timeout_s, 86'400)
      .number("--lorawan-poll", "lorawanPoll", l.poll_s, 86'400)
      .text("--nidd-modem", "niddModem", n.modem)
      .number("--psm-tau", "psmTau", n.psm_tau_s, 992u * 86'400)
      .number("--psm-active", "psmActive", n.psm_active_s, 31u * 360)
      .number("--edrx", "edrx", n.edrx_s, 10'486);
}

namespace {
std::unique_ptr<transport::LorawanCarrier> make_radio(transport::EventLoop& loop,
                                                      const LorawanLinkSettings& s) {
  auto eui = lorawan::parse_dev_eui(s.dev_eui);
  if (!eui) throw std::invalid_argument("--lorawan-radio needs --dev-eui, 16 hex digits");
  auto region = lorawan::parse_region(s.region);
  if (!region) throw std::invalid_argument("--lorawan-region takes EU868 or US915");
  if (s.dr > lorawan::max_data_rate(*region)) {
    throw std::invalid_argument("--lorawan-dr: " + lorawan::region_name(*region) + " has DR0-" +
                                std::to_string(lorawan::max_data_rate(*region)));
  }
  if (s.device_class != "A" && s.device_class != "C") {
    throw std::invalid_argument("--lorawan-class takes A or C");
  }
  auto hp = transport::split_host_port(s.radio);
  if (!hp) throw std::invalid_argument("--lorawan-radio takes HOST:PORT");
  transport::RadioLinkOptions r;
  r.host = hp->first;
  r.port = hp->second;
  r.mac.dev_eui = *eui;
  r.mac.region = *region;
  r.mac.dr = static_cast<std::uint8_t>(s.dr);
  r.mac.device_class = s.device_class == "C" ? lorawan::DeviceClass::kC : lorawan::DeviceClass::kA;
  return std::make_unique<transport::RadioLink>(loop, r);
}

void log_problem(const std::string& event, const std::string& detail) {
  log_line("event=" + event + logfmt_field("detail", detail),
           event == "modem-ready" ? "info" : "warn");
}
}  // namespace

LorawanLink make_lorawan_link(transport::EventLoop& loop, Random& random,
                              const LorawanLinkSettings& s) {
  LorawanLink link;
  if (s.radio.empty() && s.modem.empty()) return link;
  if (!s.radio.empty() && !s.modem.empty()) {
    throw std::invalid_argument("--lorawan-radio or --lorawan-modem: one of them");
  }
  if (!s.modem.empty()) {
    link.carrier = std::make_unique<transport::ModemLink>(loop, s.modem);
  } else {
    link.carrier = make_radio(loop, s);
  }
  link.carrier->set_problem_handler(log_problem);
  transport::LorawanOptions o;
  o.retransmission.side = lorawan::ConRetransmissionConfig::Side::kEndpoint;
  o.retransmission.confirmed = !s.unconfirmed;
  o.retransmission.ack_timeout = Duration{std::int64_t{s.ack_timeout_s} * 1000};
  o.retransmission.poll_delay = Duration{std::int64_t{s.poll_s} * 1000};
  o.problem = log_problem;
  link.transport = std::make_unique<transport::LorawanTransport>(loop, coap::EndpointConfig{},
                                                                 random, *link.carrier, o);
  return link;
}

NiddLink make_nidd_link(transport::EventLoop& loop, Random& random, const NiddLinkSettings& s) {
  NiddLink link;
  if (s.modem.empty()) return link;
  nidd::NiddModemConfig m;
  // Appendix D.8: the timers the modem asks the network for, in 24.008's encoding.
  if (s.psm_tau_s != 0 || s.psm_active_s != 0) {
    if (s.psm_tau_s == 0 || s.psm_active_s == 0) {
      throw std::invalid_argument("--psm-tau and --psm-active go together (AT+CPSMS sets both)");
    }
    auto tau = nidd::encode_t3412(Duration{std::int64_t{s.psm_tau_s} * 1000});
    auto active = nidd::encode_t3324(Duration{std::int64_t{s.psm_active_s} * 1000});
    if (!tau || !active) {
      throw std::invalid_argument("--psm-tau up to 992 days, --psm-active up to 186 minutes");
    }
    m.psm_t3412 = *tau;
    m.psm_t3324 = *active;
  }
  link.carrier = std::make_unique<transport::NiddModemLink>(loop, s.modem, m);
  link.carrier->set_problem_handler(log_problem);
  transport::NiddOptions o;
  o.device = true;
  o.problem = log_problem;
  link.transport = std::make_unique<transport::NiddTransport>(loop, coap::EndpointConfig{}, random,
                                                              *link.carrier, o);
  return link;
}

void warn_timer_contradictions(const NiddLinkSettings& s, std::uint32_t lifetime_s, bool queue_mode,
                               Duration awake_window) {
  nidd::PsmSettings psm;
  if (s.psm_tau_s != 0) psm.periodic_tau = Duration{std::int64_t{s.psm_tau_s} * 1000};
  if (s.psm_tau_s != 0 || s.psm_active_s != 0) {
    psm.active_time = Duration{std::int64_t{s.psm_active_s} * 1000};
  }
  if (s.edrx_s != 0) psm.edrx_cycle = Duration{std::int64_t{s.edrx_s} * 1000};
  nidd::Lwm2mTimers lwm2m;
  lwm2m.lifetime = Duration{std::int64_t{lifetime_s} * 1000};
  lwm2m.queue_mode = queue_mode;
  lwm2m.awake_time = awake_window;
  for (const auto& why : nidd::check_timers(psm, lwm2m)) {
    log_line("event=timers-contradict" + logfmt_field("detail", why), "warn");
  }
}

}  // namespace tether::app
