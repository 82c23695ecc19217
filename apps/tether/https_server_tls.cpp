#include "https_server_tls.hpp"

#include <stdexcept>

#include "service_runtime.hpp"

namespace tether::app {

namespace {
std::optional<tls::GnutlsOptions> https_options(const std::string& cert, const std::string& key,
                                                const std::string& client_ca,
                                                const std::string& flags) {
  if (cert.empty() && key.empty()) {
    if (!client_ca.empty()) throw std::invalid_argument(flags + ": a client CA needs a cert");
    return std::nullopt;
  }
  if (cert.empty() || key.empty()) throw std::invalid_argument(flags + " go together");
  tls::ServerCredentials s;
  s.certificate_chain = read_binary_file(cert);
  s.private_key = read_binary_file(key);
  if (!client_ca.empty()) s.client_trust_anchors = {read_binary_file(client_ca)};
  s.require_client_authentication = false;
  tls::GnutlsOptions options;
  options.server = std::move(s);
  options.web = true;
  return options;
}
}  // namespace

void emplace_https_server_tls(std::optional<tls::GnutlsBackend>& out, const std::string& cert,
                              const std::string& key, const std::string& client_ca,
                              const std::string& flags) {
  auto options = https_options(cert, key, client_ca, flags);
  if (!options) return out.reset();
  try {
    out.emplace(*options);
  } catch (const std::exception& e) {
    throw std::invalid_argument(flags + ": " + e.what());
  }
}

std::optional<tls::GnutlsBackend> https_server_tls(const std::string& cert, const std::string& key,
                                                   const std::string& client_ca,
                                                   const std::string& flags) {
  auto options = https_options(cert, key, client_ca, flags);
  if (!options) return std::nullopt;
  try {
    return std::optional<tls::GnutlsBackend>(std::in_place, *options);
  } catch (const std::exception& e) {
    throw std::invalid_argument(flags + ": " + e.what());
  }
}

}  // namespace tether::app
