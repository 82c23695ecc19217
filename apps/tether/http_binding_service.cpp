#include "http_binding_service.hpp"

#include <stdexcept>

#include "common/logfmt.hpp"
#include "common/random.hpp"
#include "https_server_tls.hpp"
#include "service_runtime.hpp"
#include "transport/http/http_client.hpp"

namespace tether::app {

HttpBindingService::HttpBindingService(transport::EventLoop& loop, const HttpBindingOptions& o,
                                       bool bootstrap, const lwm2m::model::Model& model)
    : options_(o),
      server_tls_(
          https_server_tls(o.cert, o.key, o.client_ca, "--http-binding-cert/--http-binding-key")),
      loop_(loop) {
  // Requests to the devices' servers: checked against --http-device-ca (or the system's
  // store); our certificate goes with them when we have one, for devices that ask.
  device_credentials_.mode = tls::Mode::kCertificate;
  device_credentials_.pkix = true;
  if (!o.device_ca.empty()) device_credentials_.trust_anchors = {read_binary_file(o.device_ca)};
  if (server_tls_) {
    device_credentials_.own_public_key = read_binary_file(o.cert);
    device_credentials_.private_key = read_binary_file(o.key);
  }
  transport::HttpClientOptions client_options;
  client_options.tls = &client_tls_;
  client_ = std::make_unique<transport::HttpClient>(loop, client_options);

  server::HttpLinkConfig link;
  link.name = server_tls_ ? "https" : "http";
  link.bootstrap = bootstrap;
  link.device_scheme = server_tls_ ? "https" : "http";
  link.device_port = o.device_port;
  link.auth = interface_auth_config(o.auth, "none,digest,certificate", "--http-binding-auth");
  link.nonce_secret.resize(32);
  SystemRandom().fill(link.nonce_secret);
  owned_ = std::make_unique<server::HttpServerLink>(
      link, model,
      [this](const std::string& origin, http::Request request,
             server::HttpServerLink::ResponseHandler done) {
        auto credentials = device_credentials_;
        if (auto where = transport::parse_origin(origin)) credentials.server_name = where->host;
        client_->request(origin, std::move(request), std::move(done), &credentials);
      });
  link_ = owned_.get();

  transport::HttpServerOptions server_options;
  server_options.host = o.host;
  server_options.port = o.port;
  server_options.tls = server_tls_ ? &*server_tls_ : nullptr;
  server_ = std::make_unique<transport::HttpServer>(
      loop, server_options,
      [this](const http::Request& request, transport::HttpServer::Responder to) {
        const auto peer = to.peer();
        server::HttpRequestFrom from;
        from.address = peer.address;
        from.secure = peer.secure;
        from.tls = peer.identity;
        link_->on_request(
            request, from, [to](http::Response response) { to.respond(std::move(response)); },
            loop_.now());
      });
  server_->set_error_sink([](const std::string& what) {
    log_line("event=http-binding-error" + logfmt_field("detail", what), "error");
  });
}

std::unique_ptr<server::ServerLink> HttpBindingService::take_link() {
  return std::move(owned_);
}

void HttpBindingService::start() {
  if (auto ok = server_->start(); !ok) throw std::invalid_argument(ok.error().reason);
}

std::string HttpBindingService::describe() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return logfmt_field("http-binding", std::string(server_tls_ ? "https" : "http") + "://" +
                                          (v6 ? "[" + options_.host + "]" : options_.host) + ":" +
                                          std::to_string(port()));
}

}  // namespace tether::app
