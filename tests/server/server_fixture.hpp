#pragma once
// An LwM2M server on the simulated network of tests/coap, on virtual time, with scripted
// LwM2M clients built on our CoAP endpoint. Nothing here sleeps or opens a socket.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "binding/coap/uplink_mapping.hpp"
#include "coap/sim_network.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "server/lwm2m_server.hpp"
#include "server/store/memory/memory_store.hpp"

namespace tether::server::testing {

using coap::Message;
namespace codes = coap::codes;
using coap::sim::SimNetwork;

inline constexpr coap::PeerId kServerAddress = 1;

// A Transport whose endpoint lives on the SimNetwork; a peer's "address" is its PeerId.
// With a backend it is secure (DTLS): a tls::SecureLayer sits between network and endpoint.
class SimTransport final : public transport::Transport {
 public:
  explicit SimTransport(SimNetwork& net, coap::PeerId address = kServerAddress,
                        std::uint64_t seed = 7, tls::Backend* backend = nullptr,
                        tls::Role role = tls::Role::kServer, coap::EndpointConfig endpoint = {})
      : node_(std::move(endpoint), seed) {
    if (backend == nullptr) {
      net.add(address, node_);
      return;
    }
    tls::SecureLayerConfig config;
    config.role = role;
    secure_ = std::make_unique<tls::SecureLayer>(config, *backend, node_.endpoint);
    net.add(address, *secure_);
  }
  tls::SecureLayer* secure_layer() override { return secure_.get(); }
  coap::Endpoint& endpoint() override { return node_.endpoint; }
  // As UdpTransport: the peer comes held once.
  Result<coap::PeerId> peer_for(const std::string&, std::uint16_t port) override {
    ++holds[port];
    return port;
  }
  std::string describe(coap::PeerId peer) const override {
    return "10.0.0.1:" + std::to_string(peer);
  }
  std::uint16_t local_port() const override { return 5683; }
  void flush() override {}
  bool hold(coap::PeerId peer) override {
    if (forgets) return false;
    ++holds[peer];
    return true;
  }
  void release(coap::PeerId peer) override {
    if (--holds[peer] == 0) holds.erase(peer);
  }
  // Peer -> holds now: what a UdpTransport would keep however long the peer is silent.
  std::map<coap::PeerId, int> holds;
  // As a UdpTransport that gave every unheld address up (a spray over --max-stray-peers).
  bool forgets = false;

 private:
  coap::sim::Node node_;
  std::unique_ptr<tls::SecureLayer> secure_;
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(const SimNetwork& net) : net_(net) {}
  Instant now() const override { return net_.now(); }
  UnixMillis unix_now() const override {
    return kUnixBase + (net_.now() - coap::sim::epoch()).count();
  }
  static constexpr UnixMillis kUnixBase = 1'790'000'000'000;

 private:
  const SimNetwork& net_;
};

// A 2.05 with a plain-text body, as a client answers a Read or notifies.
inline Message text_content(const char* text) {
  Message m;
  m.code = codes::kContent;
  m.set_content_format(0);
  m.payload = to_bytes(text);
  return m;
}

// A scripted LwM2M client: registers, and answers what its handler says.
struct FakeClient {
  FakeClient(SimNetwork& network, coap::PeerId at, std::uint64_t seed = 11)
      : net(network), address(at), node(coap::EndpointConfig{}, seed) {
    net.add(address, node);
    node.endpoint.set_request_handler(
        [this](coap::PeerId, const Message& request, coap::Responder responder) {
          received.push_back(request);
          if (!answer) return;  // silent: the request times out
          Message response = answer(request);
          response.token = request.token;
          if (auto id = responder.respond(std::move(response), this->net.now())) {
            observations.push_back(*id);
          }
        });
  }

  // Sends `m` to the server and runs the network until the answer arrives.
  Result<Message> exchange(Message m, Duration max = Duration{10'000}) {
    std::optional<Result<Message>> got;
    node.endpoint.request(
        server_address, std::move(m), [&](Result<Message> r) { got = std::move(r); }, net.now());
    net.run_until([&] { return got.has_value(); }, max);
    if (!got) return fail("no answer");
    return std::move(*got);
  }

  Result<Message> register_with(std::vector<std::string> queries,
                                std::string links = "</1/0>,</3/0>,</3303/0>") {
    Message m = coap::make_request(codes::kPost, "/rd");
    for (auto& q : queries) m.add_query(q);
    m.set_content_format(coap::content_format::kLinkFormat);
    m.payload = to_bytes(links);
    auto r = exchange(std::move(m));
    if (r && r->code == codes::kCreated) location = r->location_path();
    return r;
  }

  Result<Message> update(std::vector<std::string> queries = {}) {
    Message m = coap::make_request(codes::kPost, location);
    for (auto& q : queries) m.add_query(q);
    return exchange(std::move(m));
  }

  bool notify(std::size_t observation, Message content) {
    const bool ok = node.endpoint.notify(observations.at(observation), std::move(content),
                                         coap::Type::kConfirmable, net.now());
    net.settle();
    return ok;
  }

  SimNetwork& net;
  coap::PeerId address;
  // Where its requests go: another server's address stands for the same server's port
  // reached through another worker's socket.
  coap::PeerId server_address = kServerAddress;
  coap::sim::Node node;
  std::string location;  // "/rd/abc"
  std::function<Message(const Message&)> answer;
  std::vector<Message> received;
  std::vector<coap::ObservationId> observations;
};

// A server on the sim with a memory store, recording every event.
struct ServerHarness {
  explicit ServerHarness(SimNetwork& net, ServerStore& store, ServerConfig config = {},
                         coap::EndpointConfig endpoint = {}, coap::PeerId address = kServerAddress)
      : net_(net),
        address_(address),
        clock(net),
        random(99),
        transport(net, address, 7, nullptr, tls::Role::kServer, std::move(endpoint)),
        models(lwm2m::model::ObjectRegistry::with_builtin()),
        server(config, clock, random, store, models) {
    server.attach(transport, "udp");
    server.set_event_handler([this](const ServerEvent& e) { events.push_back(e); });
    net.add_timer_source(
        [this, alive = alive] { return *alive ? server.next_deadline() : std::nullopt; },
        [this, alive = alive](Instant) {
          if (*alive) server.on_timer();
        });
  }
  // A stopped server: off the network, its timers no longer fire.
  ~ServerHarness() {
    *alive = false;
    net_.remove(address_);
  }

  std::vector<ServerEvent> events_of(ServerEvent::Kind kind) const {
    std::vector<ServerEvent> out;
    for (const auto& e : events) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  SimNetwork& net_;
  coap::PeerId address_;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  VirtualClock clock;
  SeededRandom random;
  SimTransport transport;
  lwm2m::model::ObjectRegistry models;
  Lwm2mServer server;
  std::vector<ServerEvent> events;
};

}  // namespace tether::server::testing
