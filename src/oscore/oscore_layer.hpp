#pragma once
// OSCORE under the CoAP exchanges (RFC 8613 as a message-layer decorator): requests to a
// peer with a security context leave protected and their responses and notifications come
// back verified; protected requests from peers are verified (or refused as section 8.2
// says, unprotected) and their answers protected. The Endpoint above sees plain messages,
// so inner block-wise, Observe, Echo and the LwM2M engines work unchanged.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "coap/message_layer.hpp"
#include "oscore/protection.hpp"

namespace tether::oscore {

// Contexts are shared: an exchange keeps the context it began with even when its owner
// replaces or removes it meanwhile (new keys written by a bootstrap server, say).
using SharedContext = std::shared_ptr<SecurityContext>;

struct OscorePeers {
  // The context our requests to `peer` use; nullptr: plain CoAP (and plain requests from
  // that peer are accepted). A peer with a context must protect its requests too.
  std::function<SharedContext(coap::PeerId peer)> context_for_peer;
  // The recipient context a protected request names (kid, kid context).
  std::function<SharedContext(ByteView kid, std::optional<ByteView> kid_context)> lookup;
  // Told which peer a verified request came from with which context (binding the peer's
  // address or connection to the endpoint that context belongs to).
  std::function<void(coap::PeerId peer, const SharedContext& context)> on_verified;
  // Told that a peer is gone (a closed connection): its bindings can go.
  std::function<void(coap::PeerId peer)> on_closed;
  // Told of each request refused (RFC 8613 8.2, a plain request from a peer that must
  // protect, the bound below), for the operator's log.
  std::function<void(coap::PeerId peer, const Refusal& refusal)> on_refused;
  // RFC 8613 B.2, security context re-derivation. A server offers it for the contexts
  // `rederivable` returns: those a request's kid names when no context has its kid context.
  std::function<std::vector<SharedContext>(ByteView kid)> rederivable;
  // The context `base` came from, derived again with another ID Context (nullptr: cannot).
  std::function<SharedContext(const SharedContext& base, ByteView id_context)> derive_with;
  // Both sides agreed on a new ID Context: `fresh` replaces `old` from now on.
  std::function<void(const SharedContext& old, const SharedContext& fresh)> adopt;
  // Bound on the protected requests of peers kept for their answers (observations keep
  // theirs until they end); beyond it new protected requests get 5.03.
  std::size_t max_bindings = 65'536;
};

class OscoreLayer final : public coap::MessageLayer, public coap::MessageSink {
 public:
  OscoreLayer(OscorePeers peers, coap::MessageSink& above,
              const coap::LayerDecorator::InnerFactory& make_inner);

  // MessageLayer (from the Endpoint)
  void send(coap::PeerId peer, coap::Message m, Instant now) override;
  void respond(coap::PeerId peer, const coap::Message& request, coap::Message response,
               Instant now) override;
  void receive(coap::PeerId peer, ByteView bytes, Instant now) override {
    inner_->receive(peer, bytes, now);
  }
  void on_timer(Instant now) override { inner_->on_timer(now); }
  std::optional<Instant> next_deadline() const override { return inner_->next_deadline(); }
  void on_connected(coap::PeerId peer, Instant now) override { inner_->on_connected(peer, now); }
  void on_disconnected(coap::PeerId peer, Instant now) override {
    inner_->on_disconnected(peer, now);
  }
  void close(coap::PeerId peer, Instant now) override { inner_->close(peer, now); }
  void abandon(coap::PeerId peer, const Bytes& token, Instant now) override;
  std::size_t peer_max_message_size(coap::PeerId peer) const override;
  bool peer_supports_block_wise(coap::PeerId peer) const override {
    return inner_->peer_supports_block_wise(peer);
  }
  std::size_t peer_count() const override { return inner_->peer_count(); }

  // MessageSink (from the carrier's layer)
  bool on_message(coap::PeerId peer, coap::Message&& m, Instant now) override;
  void on_acknowledged(coap::PeerId peer, const Bytes& token, Instant now) override {
    above_.on_acknowledged(peer, token, now);
  }
  void on_failed(coap::PeerId peer, const Bytes& token, coap::Failure why, Instant now) override;
  void on_peer_closed(coap::PeerId peer, Instant now) override;
  void on_peer_released(coap::PeerId peer, const coap::ReleaseAdvice& advice,
                        Instant now) override {
    above_.on_peer_released(peer, advice, now);
  }

  // Exchanges whose bindings are kept (bounded by the exchanges and observations alive).
  std::size_t bindings() const { return ours_.size() + theirs_.size(); }

 private:
  struct Binding {
    SharedContext context;
    RequestBinding request;
    bool observing = false;
    // The plain request, kept while its context is being re-derived (RFC 8613 B.2): the
    // server's Response #1 asks for it again under the agreed context.
    std::optional<coap::Message> original;
  };
  static std::string key(coap::PeerId peer, const Bytes& token);
  bool on_request(coap::PeerId peer, coap::Message&& m, Instant now);
  // A verified request under `context`: freshness (RFC 8613 B.1.2), then up to the Endpoint.
  bool accept(coap::PeerId peer, const coap::Message& outer, const SharedContext& context,
              VerifiedRequest&& verified, Instant now);
  // RFC 8613 B.2 on the server: Request #1 (answered with our R2) or Request #2 (adopted).
  // The refusal to send instead when the request names a context it could re-derive but
  // does not verify under it; nullopt when answered (or B.2 does not apply: `applied`).
  std::optional<Refusal> rederive(coap::PeerId peer, const coap::Message& m, Instant now,
                                  bool& applied);
  // RFC 8613 B.2 on the client: Response #1 names the server's R2.
  bool on_rederivation_response(coap::PeerId peer,
                                std::unordered_map<std::string, Binding>::iterator it,
                                const coap::Message& m, const Bytes& r2, Instant now);
  // Answers `request` with the unprotected refusal and reports it.
  void refuse(coap::PeerId peer, const coap::Message& request, const Refusal& refusal, Instant now);
  bool on_response(coap::PeerId peer, coap::Message&& m, Instant now);
  void forget_peer(coap::PeerId peer);

  OscorePeers peers_;
  coap::MessageSink& above_;
  std::unique_ptr<coap::MessageLayer> inner_;
  std::unordered_map<std::string, Binding> ours_;    // our requests, by peer + token
  std::unordered_map<std::string, Binding> theirs_;  // their requests we answer
  // RFC 8613 B.2: the R2 each Request #1 (by its ID1) was answered with, awaiting Request #2,
  // and the context that protected the answer (a replay gets the same R2 under a new Partial
  // IV). A few per kid, so replays of old Request #1s do not void a client's R2; bounded.
  struct PendingRederivation {
    Bytes id1;
    Bytes r2;
    SharedContext answering;
  };
  std::unordered_map<std::string, std::vector<PendingRederivation>> r2_by_kid_;
};

// The decorator an EndpointConfig takes: one OscoreLayer per endpoint.
class OscoreDecorator final : public coap::LayerDecorator {
 public:
  explicit OscoreDecorator(OscorePeers peers) : peers_(std::move(peers)) {}
  std::unique_ptr<coap::MessageLayer> wrap(coap::MessageSink& above,
                                           const InnerFactory& make_inner) override {
    return std::make_unique<OscoreLayer>(peers_, above, make_inner);
  }

 private:
  OscorePeers peers_;
};

}  // namespace tether::oscore
