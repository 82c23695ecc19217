#include "service_runtime.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/json_mapping.hpp"
#include "option_table.hpp"
#include "server/clock.hpp"
#include "tls/gnutls/gnutls_backend.hpp"

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
  auto add = [&out](const char* name, std::uint16_t port) {
    out += std::string(out.empty() ? "" : " ") + name + "=" + std::to_string(port);
  };
  if (udp) add("udp", udp->local_port());
  if (tcp) add("tcp", tcp->local_port());
  if (dtls) add("dtls", dtls->local_port());
  if (tls) add("tls", tls->local_port());
  return out;
}

Bytes read_binary_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + file);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

CoapListeners listen_coap(transport::EventLoop& loop, Random& random, const ServiceOptions& o,
                          const tls::ServerCredentials& lookup) {
  CoapListeners l;
  coap::EndpointConfig coap_config;
  auto tcp_at = [&o](std::uint16_t port) {
    transport::TcpOptions t;
    t.bind_host = o.bind;
    t.port = port;
    return t;
  };
  if (o.udp) {
    l.udp = std::make_unique<transport::UdpTransport>(loop, coap_config, random,
                                                      transport::udp_at(o.bind, o.coap_port));
  }
  if (o.tcp) {
    l.tcp =
        std::make_unique<transport::TcpTransport>(loop, coap_config, random, tcp_at(o.coap_port));
  }
  if (o.coaps_port == 0) return l;
  tls::GnutlsOptions g;
  g.server = lookup;
  if (!o.key.empty()) g.server->private_key = read_binary_file(o.key);
  if (!o.cert.empty()) {
    if (o.key.empty()) throw std::invalid_argument("--cert needs --key");
    g.server->certificate_chain = read_binary_file(o.cert);
  }
  if (!o.client_ca.empty()) g.server->client_trust_anchors = {read_binary_file(o.client_ca)};
  try {
    l.tls_backend = std::make_unique<tls::GnutlsBackend>(std::move(g));
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(std::string("(D)TLS configuration: ") + e.what());
  }
  transport::SecureOptions secure;
  secure.backend = l.tls_backend.get();
  secure.layer.role = tls::Role::kServer;
  if (o.session_idle_timeout != 0) {
    secure.layer.idle_timeout = Duration{std::int64_t{o.session_idle_timeout} * 1000};
  }
  if (o.udp) {
    auto u = transport::udp_at(o.bind, o.coaps_port);
    u.secure = secure;
    l.dtls = std::make_unique<transport::UdpTransport>(loop, coap_config, random, u);
  }
  if (o.tcp) {
    auto t = tcp_at(o.coaps_port);
    t.secure = secure;
    l.tls = std::make_unique<transport::TcpTransport>(loop, coap_config, random, t);
  }
  return l;
}

}  // namespace tether::app
