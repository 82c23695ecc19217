#pragma once
// A ServerLink over one CoAP transport (Transport TS 6: UDP, DTLS, TCP, TLS, with or without
// OSCORE): the CoAP binding's mappings on top of the transport's coap::Endpoint.
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "lwm2m/operation/registration_request.hpp"
#include "oscore/keyring.hpp"
#include "server/server_link.hpp"
#include "transport/transport.hpp"

namespace tether::server {

// Which client-to-server requests the link takes: the Registration interface and Send
// (/rd, /dp), or the Bootstrap interface (/bs, /bspack).
enum class UplinkInterface : std::uint8_t { kRegistration, kBootstrap };

class CoapServerLink final : public ServerLink {
 public:
  CoapServerLink(transport::Transport& transport, std::string name, UplinkInterface interface,
                 const lwm2m::model::Model& model, Clock& clock);

  // The OSCORE contexts of the transport's OSCORE layer, if it has one.
  void use_oscore(oscore::Keyring* keyring) { oscore_ = keyring; }
  transport::Transport& transport() const { return transport_; }

  const std::string& name() const override { return name_; }
  void set_uplink_handler(UplinkHandler handler) override;
  // A carrier's own Register rules (Transport TS 6.8.4 over LoRaWAN): fills in what the
  // client may leave out, or refuses it with the error's code.
  void set_register_completion(
      std::function<Result<Ok>(coap::PeerId, lwm2m::RegisterRequest&)> complete) {
    complete_register_ = std::move(complete);
  }
  PeerIdentity identify(const PeerKey& peer) const override;
  std::string describe(const PeerKey& peer) const override;
  Result<PeerKey> peer_at(const std::string& address, const std::string& endpoint) override;
  Result<Ok> can_carry(const lwm2m::DownlinkRequest& request,
                       const std::string& root) const override;
  Result<ExchangeId> request(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                             const std::string& root, AnswerHandler handler, Instant now) override;
  void forget(ExchangeId id, Instant now) override;
  void cancel_observation(ExchangeId id, const lwm2m::DownlinkRequest& observe,
                          const std::string& root, Instant now, AnswerHandler on_answer) override;
  Result<ExchangeId> adopt_observation(const PeerKey& peer, const lwm2m::DownlinkRequest& request,
                                       const std::string& root, ByteView token,
                                       AnswerHandler on_notify) override;
  Bytes token_of(ExchangeId id) const override;
  bool observes_again_after_restart(const std::string& endpoint) const override;
  void protect(const PeerKey& peer, const std::string& endpoint) override;
  bool renew_security(const PeerKey& peer, Instant now) override;
  bool hold(const PeerKey& peer) override { return transport_.hold(peer.number); }
  void release(const PeerKey& peer) override { transport_.release(peer.number); }
  void flush() override { transport_.flush(); }
  // What the carrier dropped on its own (an SMS from a stranger, a part that never came).
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override {
    return transport_.counters();
  }

 private:
  transport::Transport& transport_;
  std::string name_;
  UplinkInterface interface_;
  const lwm2m::model::Model& model_;
  Clock& clock_;
  std::function<Result<Ok>(coap::PeerId, lwm2m::RegisterRequest&)> complete_register_;
  oscore::Keyring* oscore_ = nullptr;
};

// What a CoAP transport knows of `peer`: its address, what its (D)TLS session proved, and the
// OSCORE context bound to it (shared with the bootstrap server's carriers).
PeerIdentity identify_coap_peer(transport::Transport& transport, const std::string& name,
                                const oscore::Keyring* keyring, coap::PeerId peer);

}  // namespace tether::server
