#include "transport/lorawan/lorawan_transport.hpp"

#include <algorithm>

namespace tether::transport {

LorawanTransport::LorawanTransport(EventLoop& loop, coap::EndpointConfig config, Random& random,
                                   LorawanCarrier& carrier, LorawanOptions options)
    : loop_(loop),
      carrier_(carrier),
      options_(std::move(options)),
      endpoint_(
          [&] {
            auto c = lorawan::lorawan_endpoint_config(std::move(config), options_.retransmission);
            c.datagram.max_message_size_of = [this](coap::PeerId peer) {
              return max_message_size(peer);
            };
            return c;
          }(),
          random),
      layer_(options_.retransmission, endpoint_),
      timer_(loop, layer_, [this] { flush(); }) {
  carrier_.set_receiver([this](const LorawanFrame& f) { on_frame(f); });
  carrier_.set_reporter(
      [this](std::uint64_t handle, bool delivered) { on_report(handle, delivered); });
}

LorawanTransport::~LorawanTransport() {
  carrier_.set_receiver(nullptr);
  carrier_.set_reporter(nullptr);
}

coap::PeerId LorawanTransport::peer_id(lorawan::DevEui dev, std::uint8_t port) {
  auto [it, fresh] = ids_.try_emplace(PeerKey{dev, port}, next_peer_);
  if (fresh) keys_[next_peer_++] = PeerKey{dev, port};
  return it->second;
}

Result<coap::PeerId> LorawanTransport::peer_for(const std::string& host, std::uint16_t port) {
  if (!lorawan::is_application_port(port)) return fail("a LoRaWAN FPort is 1-223");
  lorawan::DevEui dev = 0;
  if (options_.retransmission.side == lorawan::ConRetransmissionConfig::Side::kApplicationServer) {
    std::string_view eui = host;
    if (eui.rfind("lorawan:", 0) == 0) eui.remove_prefix(8);
    auto parsed = lorawan::parse_dev_eui(eui);
    if (!parsed) return fail("a LoRaWAN peer is a DevEUI: 16 hex digits");
    dev = *parsed;
  }
  return peer_id(dev, static_cast<std::uint8_t>(port));
}

std::string LorawanTransport::describe(coap::PeerId peer) const {
  auto it = keys_.find(peer);
  if (it == keys_.end()) return "?";
  if (options_.retransmission.side == lorawan::ConRetransmissionConfig::Side::kEndpoint) {
    return "lorawan:" + std::to_string(it->second.port);
  }
  return "lorawan:" + lorawan::dev_eui_text(it->second.dev) + ":" + std::to_string(it->second.port);
}

std::string LorawanTransport::dev_eui_of(coap::PeerId peer) const {
  auto it = keys_.find(peer);
  if (it == keys_.end() ||
      options_.retransmission.side == lorawan::ConRetransmissionConfig::Side::kEndpoint) {
    return {};
  }
  return lorawan::dev_eui_text(it->second.dev);
}

std::string LorawanTransport::link_identity() const {
  if (options_.retransmission.side != lorawan::ConRetransmissionConfig::Side::kEndpoint) return {};
  auto eui = carrier_.own_dev_eui();
  return eui ? lorawan::dev_eui_text(*eui) : std::string{};
}

std::size_t LorawanTransport::max_message_size(coap::PeerId peer) const {
  auto it = keys_.find(peer);
  return carrier_.max_payload(it == keys_.end() ? 0 : it->second.dev);
}

std::vector<std::pair<std::string, std::uint64_t>> LorawanTransport::counters() const {
  auto out = carrier_.counters();
  const auto& r = layer_.counters();
  out.insert(out.end(), {{"lorawan_coap_too_long", counters_.too_long},
                         {"lorawan_not_delivered", counters_.not_delivered},
                         {"lorawan_con_resent", r.resent},
                         {"lorawan_polls_sent", r.polls},
                         {"lorawan_polls_heard", r.polls_heard},
                         {"lorawan_con_gave_up", r.gave_up},
                         {"lorawan_peer_limit", counters_.peer_limit}});
  return out;
}

void LorawanTransport::on_frame(const LorawanFrame& f) {
  ++counters_.frames_in;
  // Bounded: frames from more devices than we keep are dropped and counted.
  if (ids_.count(PeerKey{f.dev_eui, f.f_port}) == 0 && keys_.size() >= options_.max_peers) {
    ++counters_.peer_limit;
    return;
  }
  layer_.receive(peer_id(f.dev_eui, f.f_port), f.payload, loop_.now());
  flush();
}

void LorawanTransport::on_report(std::uint64_t handle, bool delivered) {
  auto it = sent_.find(handle);
  if (it == sent_.end()) return;
  const Sent s = std::move(it->second);
  sent_.erase(it);
  if (!delivered) ++counters_.not_delivered;
  layer_.on_carried(s.peer, s.header, delivered, loop_.now());
  flush();
}

void LorawanTransport::flush() {
  while (auto t = layer_.poll_transmit()) {
    if (t->kind != coap::Transmit::Kind::kData) continue;
    auto it = keys_.find(t->peer);
    if (it == keys_.end()) continue;
    LorawanFrame f;
    f.dev_eui = it->second.dev;
    f.f_port = it->second.port;
    f.confirmed = layer_.rides_confirmed(t->bytes);
    Sent s;
    s.peer = t->peer;
    s.header.assign(t->bytes.begin(),
                    t->bytes.begin() + std::min<std::ptrdiff_t>(4, std::ssize(t->bytes)));
    if (t->bytes.size() > carrier_.max_payload(f.dev_eui)) {
      ++counters_.too_long;
      if (options_.problem) {
        options_.problem("lorawan-coap-too-long",
                         describe(t->peer) + ": " + std::to_string(t->bytes.size()) +
                             " octets, a frame carries " +
                             std::to_string(carrier_.max_payload(f.dev_eui)));
      }
      layer_.forget(s.peer, s.header);  // it will never fit: no use sending it again
      continue;
    }
    f.payload = std::move(t->bytes);
    ++counters_.frames_out;
    sent_[carrier_.send(f)] = std::move(s);
  }
  timer_.rearm();
}

}  // namespace tether::transport
