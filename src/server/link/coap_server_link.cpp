#include "server/link/coap_server_link.hpp"

#include <variant>

#include "binding/coap/bootstrap_mapping.hpp"
#include "binding/coap/downlink_mapping.hpp"
#include "binding/coap/uplink_mapping.hpp"
#include "common/text.hpp"
#include "server/store/server_store.hpp"
#include "transport/socket_address.hpp"

namespace tether::server {

namespace {
namespace cb = binding::coap_binding;

// Answers on the transport's endpoint with the request's token.
class CoapReply final : public UplinkReply {
 public:
  CoapReply(coap::Responder responder, const Bytes& token, Clock& clock)
      : responder_(responder), token_(&token), clock_(clock) {}
  void answer(lwm2m::UplinkAnswer a) override {
    responder_.respond(cb::encode_uplink_answer(*token_, a), clock_.now());
  }
  std::unique_ptr<UplinkReply> keep() const override {
    return std::make_unique<Kept>(responder_, *token_, clock_);
  }

 private:
  // The copy owns its token; the original points at the request's.
  class Kept final : public UplinkReply {
   public:
    Kept(coap::Responder responder, Bytes token, Clock& clock)
        : responder_(responder), token_(std::move(token)), clock_(clock) {}
    void answer(lwm2m::UplinkAnswer a) override {
      responder_.respond(cb::encode_uplink_answer(token_, a), clock_.now());
    }
    std::unique_ptr<UplinkReply> keep() const override {
      return std::make_unique<Kept>(responder_, token_, clock_);
    }

   private:
    coap::Responder responder_;
    Bytes token_;
    Clock& clock_;
  };

  coap::Responder responder_;
  const Bytes* token_;
  Clock& clock_;
};

template <typename Variant>
Result<lwm2m::Uplink> widen(Result<Variant> decoded) {
  if (!decoded) return decoded.error();
  return std::visit([](auto&& v) { return lwm2m::Uplink{std::move(v)}; }, std::move(*decoded));
}

// What decoding an answer needs of its request: decode_downlink_response reads the operation
// and the path only, so an exchange need not keep a Write's body.
lwm2m::DownlinkRequest answer_shape(const lwm2m::DownlinkRequest& r) {
  lwm2m::DownlinkRequest shape;
  shape.op = r.op;
  shape.path = r.path;
  return shape;
}

coap::ResponseHandler decoding(const lwm2m::DownlinkRequest& request, const std::string& root,
                               const lwm2m::model::Model& model, AnswerHandler handler) {
  return [shape = answer_shape(request), root, &model,
          handler = std::move(handler)](Result<coap::Message> m) {
    if (!m) {
      handler(m.error());
      return;
    }
    handler(cb::decode_downlink_response(shape, *m, root, model));
  };
}
}  // namespace

CoapServerLink::CoapServerLink(transport::Transport& transport, std::string name,
                               UplinkInterface interface, const lwm2m::model::Model& model,
                               Clock& clock)
    : transport_(transport),
      name_(std::move(name)),
      interface_(interface),
      model_(model),
      clock_(clock) {}

void CoapServerLink::set_uplink_handler(UplinkHandler handler) {
  transport_.endpoint().set_request_handler(
      [this, handler = std::move(handler)](coap::PeerId peer, const coap::Message& request,
                                           coap::Responder responder) {
        UplinkFrom from;
        from.link = this;
        from.peer.number = peer;
        from.summary = coap::method_name(request.code) + " " + printable(request.path(), 64);
        CoapReply reply(responder, request.token, clock_);
        auto uplink = interface_ == UplinkInterface::kRegistration
                          ? widen(cb::decode_uplink(request))
                          : widen(cb::decode_bootstrap_uplink(request));
        if (uplink && complete_register_) {
          if (auto* r = std::get_if<lwm2m::RegisterRequest>(&*uplink)) {
            if (auto ok = complete_register_(peer, *r); !ok) uplink = ok.error();
          }
        }
        handler(from, std::move(uplink), reply);
      });
}

PeerIdentity identify_coap_peer(transport::Transport& transport, const std::string& name,
                                const oscore::Keyring* keyring, coap::PeerId peer) {
  PeerIdentity id;
  id.transport = name;
  id.address = transport.describe(peer);
  if (keyring != nullptr) {
    if (const std::string* bound = keyring->bound_name(name, peer)) {
      // Our Recipient ID is the client's Sender ID; the configured ID Context names it even
      // after a re-derivation (RFC 8613 B.2) changed the context's.
      if (const auto* input = keyring->input_of(*bound)) {
        id.oscore = oscore_identity(input->recipient_id, input->id_context);
      }
    }
  }
  auto* layer = transport.secure_layer();
  const tls::PeerIdentity* proved = layer != nullptr ? layer->identity(peer) : nullptr;
  if (proved == nullptr) return id;
  switch (proved->kind) {
    case tls::PeerIdentity::Kind::kPsk:
      id.psk_identity = proved->psk_identity;
      break;
    case tls::PeerIdentity::Kind::kRawPublicKey:
      id.public_key = proved->public_key;
      break;
    case tls::PeerIdentity::Kind::kCertificate:
      id.certificate_cn = proved->common_name;
      break;
    case tls::PeerIdentity::Kind::kNone:
      break;
  }
  return id;
}

PeerIdentity CoapServerLink::identify(const PeerKey& peer) const {
  return identify_coap_peer(transport_, name_, oscore_, peer.number);
}

std::string CoapServerLink::describe(const PeerKey& peer) const {
  return transport_.describe(peer.number);
}

Result<PeerKey> CoapServerLink::peer_at(const std::string& address, const std::string& endpoint) {
  (void)endpoint;
  // Over TCP the client's connection is gone with the restart; it has to connect again.
  if (transport_.endpoint().config().carrier == coap::Carrier::kStream) {
    return fail("waiting for the client to connect again");
  }
  auto hp = transport::split_host_port(address);
  if (!hp) return fail("bad stored address " + address);
  auto peer = transport_.peer_for(hp->first, hp->second);
  if (!peer) return peer.error();
  // Kept while a session holds it (hold()), not for good as peer_for's own hold would.
  transport_.release(*peer);
  return PeerKey{*peer, {}};
}

Result<Ok> CoapServerLink::can_carry(const lwm2m::DownlinkRequest& request,
                                     const std::string& root) const {
  auto message = cb::encode_downlink(request, root, model_);
  if (!message) return message.error();
  return Ok{};
}

Result<ExchangeId> CoapServerLink::request(const PeerKey& peer,
                                           const lwm2m::DownlinkRequest& request,
                                           const std::string& root, AnswerHandler handler,
                                           Instant now) {
  auto message = cb::encode_downlink(request, root, model_);
  if (!message) return message.error();
  return transport_.endpoint().request(peer.number, std::move(*message),
                                       decoding(request, root, model_, std::move(handler)), now);
}

void CoapServerLink::forget(ExchangeId id, Instant now) {
  // The client's next notification is answered by RST (RFC 7641 3.6).
  if (id != 0) transport_.endpoint().cancel(id, false, now);
}

void CoapServerLink::cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                                        const std::string& root, Instant now,
                                        AnswerHandler on_answer) {
  // RFC 7641 3.6: the cancelling GET/FETCH (Observe=1) goes out with the same token; its
  // answer reads like the Observe's.
  transport_.endpoint().cancel(id, true, now,
                               decoding(observe, root, model_, std::move(on_answer)));
}

Result<ExchangeId> CoapServerLink::adopt_observation(const PeerKey& peer,
                                                     const lwm2m::DownlinkRequest& request,
                                                     const std::string& root, ByteView token,
                                                     AnswerHandler on_notify) {
  auto message = cb::encode_downlink(request, root, model_);
  if (!message) return message.error();
  message->token = Bytes(token.begin(), token.end());
  return transport_.endpoint().adopt_observation(
      peer.number, std::move(*message), decoding(request, root, model_, std::move(on_notify)));
}

Bytes CoapServerLink::token_of(ExchangeId id) const {
  return transport_.endpoint().token_of(id).value_or(Bytes{});
}

bool CoapServerLink::observes_again_after_restart(const std::string& endpoint) const {
  return oscore_ != nullptr && oscore_->find(endpoint);
}

void CoapServerLink::protect(const PeerKey& peer, const std::string& endpoint) {
  // Fail closed: an endpoint with an OSCORE context hears from us protected, even when its
  // peer's binding went (the keyring keeps the last few per endpoint).
  if (oscore_ != nullptr && oscore_->find(endpoint)) oscore_->bind(name_, peer.number, endpoint);
}

bool CoapServerLink::renew_security(const PeerKey& peer, Instant now) {
  auto* layer = transport_.secure_layer();
  if (layer == nullptr || peer.number == 0) return false;
  layer->reset(peer.number, now);
  return true;
}

}  // namespace tether::server
