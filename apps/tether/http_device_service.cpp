#include "http_device_service.hpp"

#include <stdexcept>

#include "common/logfmt.hpp"
#include "https_server_tls.hpp"
#include "service_runtime.hpp"

namespace tether::app {

HttpDeviceService::HttpDeviceService(transport::EventLoop& loop, const HttpDeviceOptions& o,
                                     const client::DataModel& data)
    : server_tls_(https_server_tls(o.cert, o.key, {}, "--http-device-cert/--http-device-key")),
      loop_(loop) {
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
        link_->on_request(
            request, to.peer().address,
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
