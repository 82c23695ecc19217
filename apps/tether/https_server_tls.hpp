#pragma once
// The TLS of our HTTPS servers (seed 004: server authentication by certificate): the HTTP
// binding's server port, a client's own server and the REST APIs. Client certificates are
// optional, since HTTP may authenticate the client instead; one shown must chain to
// `client_ca`.
#include <optional>
#include <string>

#include "tls/gnutls/gnutls_backend.hpp"

namespace tether::app {

// None without `cert` and `key` (plain HTTP). Throws std::invalid_argument, naming `flags`,
// for half a pair or files that do not load.
std::optional<tls::GnutlsBackend> https_server_tls(const std::string& cert, const std::string& key,
                                                   const std::string& client_ca,
                                                   const std::string& flags);
// The same, made in place in `out` (a backend does not move).
void emplace_https_server_tls(std::optional<tls::GnutlsBackend>& out, const std::string& cert,
                              const std::string& key, const std::string& client_ca,
                              const std::string& flags);

}  // namespace tether::app
