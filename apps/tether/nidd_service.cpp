#include "nidd_service.hpp"

#include <set>
#include <stdexcept>

#include "binding/coap/network_identity.hpp"
#include "common/logfmt.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/operation/status.hpp"
#include "service_runtime.hpp"

namespace tether::app {

const char* const kNiddHelp =
    "  --nidd URL             serve NB-IoT/LTE-M devices over non-IP data (Transport TS\n"
    "                         Appendix D.3) as an SCS/AS on an SCEF's T8 API:\n"
    "                         http://HOST:PORT[/ROOT] (docs/nidd.md)\n"
    "  --nidd-ue LIST         the UEs served, comma-separated: EXTERNAL-ID[=ENDPOINT] or\n"
    "                         MSISDN[=ENDPOINT]; the name defaults to the UE's\n"
    "  --nidd-scs-as ID       our SCS/AS id in the T8 paths (tether)\n"
    "  --nidd-callback-host H, --nidd-callback-port N  where the SCEF calls us\n"
    "                         (127.0.0.1, any free port)\n"
    "  --nidd-callback-token-file F  the SCEF's callbacks must carry this token\n"
    "  --nidd-maximum-latency S  how long the SCEF may buffer a delivery (90)\n"
    "  --nidd-any-name        let devices register under names other than their UE's\n";

namespace {
transport::ScefClientOptions scef_options(const NiddServiceOptions& o,
                                          std::map<std::string, std::string>& names) {
  transport::ScefClientOptions c;
  c.scef_url = o.scef;
  c.scs_as_id = o.scs_as;
  c.callback_host = o.callback_host;
  c.callback_port = o.callback_port;
  c.maximum_latency_s = o.maximum_latency_s;
  if (!o.callback_token_file.empty()) {
    c.callback_token = read_secret_file(o.callback_token_file, "token");
  }
  std::set<std::string> taken;  // endpoint names
  for (std::string_view rest = o.ues; !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string item(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto eq = item.find('=');
    auto ue = nidd::parse_ue(item.substr(0, eq));
    if (!ue) {
      throw std::invalid_argument("--nidd-ue " + item +
                                  ": an External Identifier (local@domain) or an MSISDN");
    }
    std::string name = eq == std::string::npos
                           ? (ue->external_id.empty() ? ue->msisdn : ue->external_id)
                           : item.substr(eq + 1);
    if (auto ok = lwm2m::check_endpoint_name(name); !ok) {
      throw std::invalid_argument("--nidd-ue " + item + ": " + ok.error().reason);
    }
    // One name per UE and one UE per name: two UEs under one name could take each
    // other's registration.
    if (!taken.insert(name).second || !names.emplace(ue->key(), name).second) {
      throw std::invalid_argument("--nidd-ue names " + ue->key() + " or " + name + " twice");
    }
    c.ues.push_back(*ue);
  }
  if (c.ues.empty()) throw std::invalid_argument("--nidd needs --nidd-ue, the UEs it serves");
  return c;
}

void log_problem(const std::string& event, const std::string& detail) {
  log_line("event=" + event + logfmt_field("detail", detail),
           event.ends_with("-info") ? "info" : "warn");
}
}  // namespace

NiddService::NiddService(transport::EventLoop& loop, Random& random, const NiddServiceOptions& o)
    : options_(o) {
  scef_ = std::make_unique<transport::ScefClient>(loop, scef_options(o, names_));
  scef_->set_problem_handler(log_problem);
  transport::NiddOptions n;
  n.problem = log_problem;
  transport_ =
      std::make_unique<transport::NiddTransport>(loop, coap::EndpointConfig{}, random, *scef_, n);
}

NiddService::~NiddService() = default;

void NiddService::start() {
  if (auto ok = scef_->start(); !ok) {
    throw std::invalid_argument("--nidd-callback-port: " + ok.error().reason);
  }
}

Result<Ok> NiddService::complete_register(coap::PeerId peer, lwm2m::RegisterRequest& r) const {
  auto it = names_.find(transport_->ue_of(peer));
  if (it == names_.end()) {
    return lwm2m::reject(lwm2m::status::kForbidden, "over NIDD, a UE this server does not serve");
  }
  return binding::coap_binding::bind_endpoint_name(r, it->second, options_.any_name, "NIDD");
}

std::string NiddService::describe() const {
  return " nidd=" + logfmt_value(scef_->describe());
}

}  // namespace tether::app
