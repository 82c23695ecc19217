#pragma once
// `tether client` over the HTTP binding (Transport TS 7): an HTTP client for our requests to
// http:// and https:// servers, our own HTTP (or HTTPS) server for theirs, and the client's
// link between them (client/link/http_client_link). All on the client's loop.
#include <memory>
#include <optional>
#include <string>

#include "client/link/http_client_link.hpp"
#include "http/interface_auth.hpp"
#include "interface_auth_flags.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/event_loop.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"

namespace tether::app {

struct HttpDeviceOptions {
  std::string host = "127.0.0.1";  // where our HTTP server listens
  std::uint16_t port = 0;          // 0: a free port
  std::string origin;              // announced; default scheme://host:port
  std::string cert;                // HTTPS with this certificate and key
  std::string key;
  std::string ca;  // https servers: their CA when the Security instance names none
  // Seed 004 for the servers' requests to us (an interface of its own): servers' TLS client
  // certificates that chain to client_ca, required with --http-device-auth certificate
  // (the default when client_ca is given; else none: only our servers' hosts may ask).
  std::string client_ca;
  InterfaceAuthOptions auth;
};

class HttpDeviceService {
 public:
  // Listens at once (the announced origin needs the port). Throws std::invalid_argument for
  // files that do not load or a port that is taken.
  HttpDeviceService(transport::EventLoop& loop, const HttpDeviceOptions& o,
                    const client::DataModel& data);
  // The link, for the client to attach (once).
  std::unique_ptr<client::ClientLink> take_link();
  // "http-device=http://127.0.0.1:40123" for the start-up line.
  std::string describe() const;

 private:
  std::optional<tls::GnutlsBackend> server_tls_;
  tls::GnutlsBackend client_tls_;
  std::unique_ptr<transport::HttpClient> client_;
  std::unique_ptr<transport::HttpServer> server_;
  std::unique_ptr<client::HttpClientLink> owned_;
  client::HttpClientLink* link_ = nullptr;
  std::string origin_;
  std::optional<http::InterfaceAuth> auth_;
  transport::EventLoop& loop_;
};

}  // namespace tether::app
