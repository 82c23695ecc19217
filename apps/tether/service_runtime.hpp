#pragma once
// What the long-running commands (`tether server`, `tether bootstrap`) share: logfmt lines,
// SIGINT/SIGTERM handling, JSON config files and the CoAP transports they listen on.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/random.hpp"
#include "server/server_event.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

// logfmt: one line per event, the endpoint in each.
void log_event(const server::ServerEvent& e);
void log_line(const std::string& text);

// SIGINT and SIGTERM set the flag that stop_requested() reads.
void install_stop_handlers();
bool stop_requested();

// Reads a JSON object file and hands each key and value to `apply`, which throws
// std::invalid_argument for a setting it does not know.
void read_settings_file(
    const std::string& file,
    const std::function<void(const std::string&, const nlohmann::json&)>& apply);

// CoAP over UDP and TCP on one port; either may be off.
struct CoapListeners {
  std::unique_ptr<transport::UdpTransport> udp;
  std::unique_ptr<transport::TcpTransport> tcp;
  // "udp=5683 tcp=5683" for the start-up line.
  std::string describe() const;
};
CoapListeners listen_coap(transport::EventLoop& loop, Random& random, const std::string& bind,
                          std::uint16_t port, bool udp, bool tcp);

}  // namespace tether::app
