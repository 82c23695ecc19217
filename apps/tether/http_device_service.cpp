#include "http_device_service.hpp"

#include <stdexcept>

#include "common/logfmt.hpp"
#include "https_server_tls.hpp"
#include "service_runtime.hpp"

namespace tether::app {

HttpDeviceService::HttpDeviceService(transport::EventLoop& loop, const HttpDeviceOptions& o,
                                     const client::DataModel& data)
    : server_tls_(
          https_server_tls(o.cert, o.key, o.client_ca, "--http-device-cert/--http-device-key")),
      loop_(loop) {
  auto auth = interface_auth_config(o.auth, o.client_ca.empty() ? "none" : "certificate",
                                    "--http-device-auth");
  // Seed 004 names one way for a server to prove itself: its certificate.
  if (auth.digest || auth.bearer) {
    throw std::invalid_argument("--http-device-auth: none, certificate or proxy");
  }
  if (auth.certificate && o.client_ca.empty()) {
    throw std::invalid_argument("--http-device-auth certificate needs --http-device-client-ca");
  }
  auth_.emplace(std::move(auth), Bytes{});  // no Digest here, so no nonce key
  transport::HttpClientOptions client_options;
  client_options.tls = &client_tls_;
  client_ = std::make_unique<transport::HttpClient>(loop, client_options);

  transport::HttpServerOptions server_options;
  server_options.host = o.host;
  server_options.port = o.port;
  server_options.tls = server_tls_ ? &*server_tls_ : nullptr;
  server_ = std::make_unique<transport::HttpServer>(
      loop, server_options,
      [this](const http::Request& request, transport::HttpServer::Responder to) {
        if (link_ == nullptr) return to.respond(http::Response::text(503, "not ready\n"));
        const auto peer = to.peer();
        http::RequestSource source{peer.address, std::nullopt};
        if (peer.identity.kind == tls::PeerIdentity::Kind::kCertificate) {
          source.certificate_name = peer.identity.common_name;
        }
        auto verdict = auth_->authenticate(request, source, nullptr, nullptr, loop_.now());
        if (!verdict.caller) {
          // Seed 004 5.2.1: an authentication error, never data.
          return to.respond(http::InterfaceAuth::respond(verdict, {}, {}));
        }
        link_->on_request(
            request, peer.address,
            [to](http::Response response) { to.respond(std::move(response)); }, loop_.now());
      });
  if (auto ok = server_->start(); !ok) throw std::invalid_argument(ok.error().reason);
  const bool v6 = o.host.find(':') != std::string::npos;
  origin_ = !o.origin.empty()
                ? o.origin
                : std::string(server_tls_ ? "https" : "http") + "://" +
                      (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(server_->port());

  client::HttpClientLinkConfig config;
  config.device_origin = origin_;
  if (!o.ca.empty()) config.trust_anchors = {read_binary_file(o.ca)};
  owned_ = std::make_unique<client::HttpClientLink>(
      config,
      [this](const std::string& origin, http::Request request,
             const tls::ClientCredentials& credentials,
             client::HttpClientLink::ResponseHandler done) {
        client_->request(origin, std::move(request), std::move(done), &credentials);
      },
      data);
  link_ = owned_.get();
}

std::unique_ptr<client::ClientLink> HttpDeviceService::take_link() {
  return std::move(owned_);
}

std::string HttpDeviceService::describe() const {
  return logfmt_field("http-device", origin_);
}

}  // namespace tether::app
