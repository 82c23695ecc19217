#pragma once
// The transports a server engine (LwM2M server, bootstrap server) serves on, each under the
// name stored with what arrives on it ("udp", "tcp"). Attaching routes the transport's
// requests to the engine with the carrier they came on.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "oscore/keyring.hpp"
#include "transport/transport.hpp"

namespace tether::server {

struct Carrier {
  transport::Transport* transport;
  std::string name;
  // The OSCORE contexts of the transport's OSCORE layer, if it has one.
  const oscore::Keyring* oscore = nullptr;
};

class CarrierSet {
 public:
  using RequestHandler =
      std::function<void(Carrier&, coap::PeerId, const coap::Message&, coap::Responder)>;

  // The carriers know the OSCORE contexts of their OSCORE layers (see identify()).
  void use_oscore(const oscore::Keyring* keyring) {
    oscore_ = keyring;
    for (auto& c : carriers_) c->oscore = keyring;
  }
  Carrier& attach(transport::Transport& transport, std::string name, RequestHandler handler) {
    carriers_.push_back(std::make_unique<Carrier>(Carrier{&transport, std::move(name), oscore_}));
    Carrier* c = carriers_.back().get();
    transport.endpoint().set_request_handler(
        [c, handler = std::move(handler)](coap::PeerId peer, const coap::Message& request,
                                          coap::Responder responder) {
          handler(*c, peer, request, responder);
        });
    return *c;
  }
  Carrier* find(const std::string& name) const {
    for (const auto& c : carriers_) {
      if (c->name == name) return c.get();
    }
    return nullptr;
  }
  Carrier* first() const { return carriers_.empty() ? nullptr : carriers_.front().get(); }
  // Pushes what every endpoint has queued (after using endpoints outside a transport callback).
  void flush() const {
    for (const auto& c : carriers_) c->transport->flush();
  }

 private:
  std::vector<std::unique_ptr<Carrier>> carriers_;
  const oscore::Keyring* oscore_ = nullptr;
};

}  // namespace tether::server
