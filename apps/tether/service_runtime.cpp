#include "service_runtime.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/json_mapping.hpp"
#include "server/clock.hpp"

namespace tether::app {

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) {
  g_stop = 1;
}
}  // namespace

void log_event(const server::ServerEvent& e) {
  std::string line = "ts=" + api::iso8601(server::SystemClock().unix_now()) +
                     " level=info event=" + server::event_kind_name(e.kind) + " ep=" + e.endpoint;
  if (e.registration) {
    line += " id=" + e.registration->id + " addr=" + e.registration->address +
            " lt=" + std::to_string(e.registration->lifetime) + " b=" + e.registration->binding +
            " lwm2m=" + e.registration->version + (e.registration->queue_mode ? " Q" : "");
  }
  if (!e.observation_id.empty()) line += " observation=" + e.observation_id;
  if (e.content) line += " code=" + e.content->code.to_string();
  if (!e.detail.empty()) line += " detail=\"" + e.detail + "\"";
  std::fprintf(stderr, "%s\n", line.c_str());
}

void log_line(const std::string& text) {
  std::fprintf(stderr, "ts=%s level=info %s\n",
               api::iso8601(server::SystemClock().unix_now()).c_str(), text.c_str());
}

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() {
  return g_stop != 0;
}

void read_settings_file(
    const std::string& file,
    const std::function<void(const std::string&, const nlohmann::json&)>& apply) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read config file " + file);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw std::invalid_argument(file + " is not a JSON object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    try {
      apply(it.key(), it.value());
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(file + ": " + it.key() + ": " + e.what());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(file + ": " + e.what());
    }
  }
}

std::string CoapListeners::describe() const {
  std::string out;
  if (udp) out += "udp=" + std::to_string(udp->local_port());
  if (tcp) out += std::string(out.empty() ? "" : " ") + "tcp=" + std::to_string(tcp->local_port());
  return out;
}

CoapListeners listen_coap(transport::EventLoop& loop, Random& random, const std::string& bind,
                          std::uint16_t port, bool udp, bool tcp) {
  CoapListeners l;
  coap::EndpointConfig coap_config;
  if (udp) {
    l.udp = std::make_unique<transport::UdpTransport>(loop, coap_config, random,
                                                      transport::UdpOptions{bind, port});
  }
  if (tcp) {
    transport::TcpOptions t;
    t.bind_host = bind;
    t.port = port;
    l.tcp = std::make_unique<transport::TcpTransport>(loop, coap_config, random, t);
  }
  return l;
}

}  // namespace tether::app
