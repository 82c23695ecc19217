#include "server/link/http_server_link.hpp"

#include <variant>

#include "binding/http/downlink_mapping.hpp"
#include "binding/http/uplink_mapping.hpp"
#include "common/text.hpp"

namespace tether::server {

namespace {
namespace hb = binding::http_binding;
namespace status = lwm2m::status;

class HttpReply final : public UplinkReply {
 public:
  HttpReply(HttpServerLink::Respond respond, lwm2m::Uplink shape)
      : respond_(std::move(respond)), shape_(std::move(shape)) {}
  void answer(lwm2m::UplinkAnswer a) override {
    if (!respond_) return;
    auto respond = std::move(respond_);
    respond_ = nullptr;
    respond(hb::encode_uplink_answer(shape_, a));
  }
  std::unique_ptr<UplinkReply> keep() const override {
    return std::make_unique<HttpReply>(respond_, shape_);
  }

 private:
  HttpServerLink::Respond respond_;
  lwm2m::Uplink shape_;  // which operation is answered (its status rules), without its data
};

bool is_bootstrap(const lwm2m::Uplink& u) {
  return std::holds_alternative<lwm2m::BootstrapRequest>(u) ||
         std::holds_alternative<lwm2m::BootstrapPackRequest>(u);
}

}  // namespace

HttpServerLink::HttpServerLink(HttpLinkConfig config, const lwm2m::model::Model& model, Send send)
    : config_(std::move(config)),
      model_(model),
      send_(std::move(send)),
      auth_(config_.auth, config_.nonce_secret) {}

HttpServerLink::~HttpServerLink() {
  *alive_ = false;
}

Result<std::string> HttpServerLink::origin_of(const http::Request& request,
                                              const HttpRequestFrom& from) const {
  auto announced = hb::device_origin(request);
  if (!announced) return announced.error();
  if (*announced) return **announced;
  // The host of "192.0.2.7:51234" or "[::1]:4000", with the configured scheme and port.
  const auto colon = from.address.rfind(':');
  const std::string host = from.address.substr(0, colon);
  if (host.empty()) return lwm2m::reject(status::kBadRequest, "no address to reach the device");
  return config_.device_scheme + "://" + host + ":" + std::to_string(config_.device_port);
}

bool HttpServerLink::needs_digest(const Result<lwm2m::Uplink>& decoded) const {
  if (!decoded || !password_of_) return false;
  std::optional<std::string> endpoint;
  if (const auto* r = std::get_if<lwm2m::RegisterRequest>(&*decoded)) endpoint = r->params.endpoint;
  if (const auto* b = std::get_if<lwm2m::BootstrapRequest>(&*decoded)) endpoint = b->endpoint;
  if (const auto* p = std::get_if<lwm2m::BootstrapPackRequest>(&*decoded)) endpoint = p->endpoint;
  return endpoint && password_of_(*endpoint).has_value();
}

void HttpServerLink::on_request(const http::Request& request, const HttpRequestFrom& from,
                                Respond respond, Instant now) {
  http::RequestSource source{from.address, std::nullopt};
  if (from.tls.kind == tls::PeerIdentity::Kind::kCertificate) {
    source.certificate_name = from.tls.common_name;
  }
  auto verdict = auth_.authenticate(request, source, password_of_, nullptr, now);
  auto decoded = hb::decode_uplink(request);
  // Seed 004 5.2.1.2: an endpoint with a Digest password is challenged on its first message.
  if (verdict.caller && verdict.caller->method == http::Caller::Method::kNone &&
      needs_digest(decoded)) {
    verdict = auth_.refusal(now, "this endpoint authenticates with HTTP Digest");
  }
  if (!verdict.caller) {
    // An authentication error, never data (seed 004 5.2.1).
    ++unauthenticated_;
    return respond(http::InterfaceAuth::respond(verdict, {}, {}));
  }
  lwm2m::Uplink shape = lwm2m::RegisterRequest{};
  if (decoded) {
    shape = std::visit([](const auto& u) { return lwm2m::Uplink{std::decay_t<decltype(u)>{}}; },
                       *decoded);
    // The other interface's resources are not this link's.
    if (is_bootstrap(*decoded) != config_.bootstrap) {
      decoded = lwm2m::reject(status::kNotFound, "no such resource " + printable(request.path, 64));
    }
  }
  UplinkFrom origin;
  origin.link = this;
  origin.summary = request.method + " " + printable(request.path, 64);
  auto device = origin_of(request, from);
  if (device) {
    origin.peer.name = *device;
  } else {
    origin.peer.name = "http://" + from.address;
    if (decoded) decoded = device.error();
  }
  HttpReply reply(std::move(respond), shape);
  if (!on_uplink_) {
    reply.answer(lwm2m::UplinkAnswer::refusal(
        lwm2m::reject(status::kServiceUnavailable, "not serving yet")));
    return;
  }
  current_ = Current{origin.peer.name, *verdict.caller};
  on_uplink_(origin, std::move(decoded), reply);
  current_.reset();
}

PeerIdentity HttpServerLink::identify(const PeerKey& peer) const {
  PeerIdentity id;
  id.transport = config_.name;
  id.address = peer.name;
  // Only the request being handled proves anything.
  if (!current_ || current_->origin != peer.name) return id;
  const http::Caller& caller = current_->caller;
  switch (caller.method) {
    case http::Caller::Method::kCertificate:
      id.certificate_cn = caller.name;
      break;
    case http::Caller::Method::kDigest:
    case http::Caller::Method::kProxy:
    case http::Caller::Method::kBearer:
      id.http_user = caller.name;
      break;
    case http::Caller::Method::kNone:
      break;
  }
  return id;
}

Result<PeerKey> HttpServerLink::peer_at(const std::string& address, const std::string& endpoint) {
  (void)endpoint;
  if (auto ok = hb::check_origin(address); !ok) return fail("bad stored origin " + address);
  return PeerKey{0, address};
}

Result<Ok> HttpServerLink::can_carry(const lwm2m::DownlinkRequest& request,
                                     const std::string& root) const {
  auto encoded = hb::encode_downlink(request, root, model_);
  if (!encoded) return encoded.error();
  return Ok{};
}

Result<ExchangeId> HttpServerLink::request(const PeerKey& peer,
                                           const lwm2m::DownlinkRequest& request,
                                           const std::string& root, AnswerHandler handler,
                                           Instant now) {
  (void)now;
  auto encoded = hb::encode_downlink(request, root, model_);
  if (!encoded) return encoded.error();
  const ExchangeId id = next_id_++;
  open_.emplace(id, std::move(handler));
  send_(peer.name, std::move(*encoded),
        [this, alive = alive_, id, request, root,
         origin = peer.name](Result<http::Response> response) {
          if (!*alive) return;
          auto it = open_.find(id);
          if (it == open_.end()) return;  // forgotten meanwhile
          AnswerHandler h = std::move(it->second);
          open_.erase(it);
          if (!response) {
            ++unreachable_;
            h(fail("no answer from " + origin + ": " + response.error().reason));
            return;
          }
          h(hb::decode_downlink_response(request, *response, root, model_));
        });
  return id;
}

void HttpServerLink::forget(ExchangeId id, Instant now) {
  (void)now;
  open_.erase(id);
}

void HttpServerLink::cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                                        const std::string& root, Instant now,
                                        AnswerHandler on_answer) {
  (void)observe;
  (void)root;
  forget(id, now);
  if (on_answer) {
    on_answer(lwm2m::reject(status::kNotImplemented, "no observations over HTTP (7.1.4)"));
  }
}

Result<ExchangeId> HttpServerLink::adopt_observation(const PeerKey& peer,
                                                     const lwm2m::DownlinkRequest& request,
                                                     const std::string& root, ByteView token,
                                                     AnswerHandler on_notify) {
  (void)peer;
  (void)request;
  (void)root;
  (void)token;
  (void)on_notify;
  return lwm2m::reject(status::kNotImplemented, "no observations over HTTP (7.1.4)");
}

std::vector<std::pair<std::string, std::uint64_t>> HttpServerLink::counters() const {
  return {{"unreachable", unreachable_}, {"unauthenticated", unauthenticated_}};
}

}  // namespace tether::server
