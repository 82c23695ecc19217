#pragma once
// `--http-binding-port`: a server engine (the LwM2M server, the bootstrap server) serving the
// HTTP binding as well (Transport TS 7): an HTTP or HTTPS server for the devices' requests,
// an HTTP client for requests to the devices' own servers, and the engine's link between
// them (server/link/http_server_link). All on the engine's loop.
#include <memory>
#include <optional>
#include <string>

#include "option_table.hpp"
#include "server/link/http_server_link.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/event_loop.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"

namespace tether::app {

class HttpBindingService {
 public:
  // Throws std::invalid_argument for files that do not load (start-up configuration).
  HttpBindingService(transport::EventLoop& loop, const HttpBindingOptions& o, bool bootstrap,
                     const lwm2m::model::Model& model);
  // The link, for the engine to attach (once); it stays owned by the engine.
  std::unique_ptr<server::ServerLink> take_link();
  // Seed 004: the Digest password of an endpoint in credentials mode digest.
  void set_digest_passwords(http::InterfaceAuth::PasswordOf password_of) {
    link_->set_digest_passwords(std::move(password_of));
  }
  // Listens; throws std::invalid_argument when the port is taken.
  void start();
  // "http-binding=https://[::]:5690" for the start-up line.
  std::string describe() const;
  std::uint16_t port() const { return server_ ? server_->port() : 0; }

 private:
  HttpBindingOptions options_;
  std::optional<tls::GnutlsBackend> server_tls_;
  tls::GnutlsBackend client_tls_;
  tls::ClientCredentials device_credentials_;
  std::unique_ptr<transport::HttpClient> client_;
  std::unique_ptr<server::HttpServerLink> owned_;
  server::HttpServerLink* link_ = nullptr;
  std::unique_ptr<transport::HttpServer> server_;
  transport::EventLoop& loop_;
};

}  // namespace tether::app
