#include "transport/nidd/nidd_transport.hpp"

#include "nidd/t8.hpp"

namespace tether::transport {

namespace {
// RFC 7252 3: the type in bits 4-5 of the first octet, the message ID in octets 2-3.
constexpr unsigned kCon = 0;
constexpr unsigned kNon = 1;

unsigned type_of(ByteView m) {
  return m.empty() ? 2u : (m[0] >> 4) & 3u;
}
std::uint16_t mid_of(ByteView m) {
  return m.size() < 4 ? 0 : static_cast<std::uint16_t>((m[2] << 8) | m[3]);
}
}  // namespace

nidd::ReleaseAssistance release_assistance_of(ByteView coap_message) {
  switch (type_of(coap_message)) {
    case kCon:
      return nidd::ReleaseAssistance::kOneDownlink;
    case kNon:
      return nidd::ReleaseAssistance::kNoFurtherData;
    default:
      return nidd::ReleaseAssistance::kNone;
  }
}

NiddTransport::NiddTransport(EventLoop& loop, coap::EndpointConfig config, Random& random,
                             NiddCarrier& carrier, NiddOptions options)
    : loop_(loop),
      carrier_(carrier),
      options_(std::move(options)),
      endpoint_(
          [&] {
            config.carrier = coap::Carrier::kDatagram;
            config.datagram.max_message_size_of = [this](coap::PeerId peer) {
              return max_message_size(peer);
            };
            return config;
          }(),
          random),
      timer_(loop, endpoint_, [this] { flush(); }) {
  carrier_.set_receiver(
      [this](const std::string& ue, Bytes data) { on_packet(ue, std::move(data)); });
  carrier_.set_reporter(
      [this](std::uint64_t handle, NiddCarrier::Outcome outcome) { on_report(handle, outcome); });
}

NiddTransport::~NiddTransport() {
  carrier_.set_receiver(nullptr);
  carrier_.set_reporter(nullptr);
}

coap::PeerId NiddTransport::peer_id(const std::string& ue) {
  auto [it, fresh] = ids_.try_emplace(ue, next_peer_);
  if (fresh) ues_[next_peer_++] = ue;
  return it->second;
}

Result<coap::PeerId> NiddTransport::peer_for(const std::string& host, std::uint16_t) {
  if (options_.device) return peer_id("");
  std::string_view name = host;
  if (name.rfind("nidd:", 0) == 0) name.remove_prefix(5);
  auto ue = nidd::parse_ue(name);
  if (!ue) return fail("a NIDD peer is a UE: an External Identifier or an MSISDN");
  return peer_id(ue->key());
}

std::string NiddTransport::describe(coap::PeerId peer) const {
  auto it = ues_.find(peer);
  if (it == ues_.end()) return "?";
  return options_.device ? std::string("nidd") : "nidd:" + it->second;
}

std::string NiddTransport::ue_of(coap::PeerId peer) const {
  auto it = ues_.find(peer);
  return it == ues_.end() ? std::string{} : it->second;
}

std::size_t NiddTransport::max_message_size(coap::PeerId peer) const {
  auto it = ues_.find(peer);
  return carrier_.max_packet(it == ues_.end() ? std::string{} : it->second);
}

std::vector<std::pair<std::string, std::uint64_t>> NiddTransport::counters() const {
  auto out = carrier_.counters();
  out.insert(out.end(), {{"nidd_coap_too_long", counters_.too_long},
                         {"nidd_not_delivered", counters_.not_delivered},
                         {"nidd_buffered", counters_.buffered},
                         {"nidd_retransmission_held", counters_.held},
                         {"nidd_peer_limit", counters_.peer_limit}});
  return out;
}

void NiddTransport::on_packet(const std::string& ue, Bytes data) {
  ++counters_.packets_in;
  const std::string key = options_.device ? std::string{} : ue;
  if (ids_.count(key) == 0 && ues_.size() >= options_.max_peers) {
    ++counters_.peer_limit;
    return;
  }
  const coap::PeerId peer = peer_id(key);
  // An answer to a held CON: the network delivered it after all.
  if (type_of(data) == 2 || type_of(data) == 3) held_.erase({peer, mid_of(data)});
  endpoint_.receive(peer, data, loop_.now());
  flush();
}

void NiddTransport::on_report(std::uint64_t handle, NiddCarrier::Outcome outcome) {
  auto it = sent_.find(handle);
  if (it == sent_.end()) return;
  const Sent s = it->second;
  if (outcome == NiddCarrier::Outcome::kBuffered) {
    ++counters_.buffered;
    it->second.buffered = true;
    // D.6: CoAP's repeats of it wait while the network holds the first.
    if (s.confirmable) ++held_[{s.peer, s.mid}];
    return;
  }
  const bool was_buffered = it->second.buffered;
  sent_.erase(it);
  if (auto h = held_.find({s.peer, s.mid}); was_buffered && h != held_.end() && --h->second == 0) {
    held_.erase(h);
  }
  if (outcome == NiddCarrier::Outcome::kFailed) ++counters_.not_delivered;
}

void NiddTransport::flush() {
  while (auto t = endpoint_.poll_transmit()) {
    if (t->kind != coap::Transmit::Kind::kData) continue;
    auto it = ues_.find(t->peer);
    if (it == ues_.end()) continue;
    Sent s{t->peer, mid_of(t->bytes), type_of(t->bytes) == kCon, false};
    if (s.confirmable && held_.count({s.peer, s.mid}) != 0) {
      ++counters_.held;
      continue;
    }
    const std::size_t limit = carrier_.max_packet(it->second);
    if (t->bytes.size() > limit) {
      ++counters_.too_long;
      if (options_.problem) {
        options_.problem("nidd-coap-too-long",
                         describe(t->peer) + ": " + std::to_string(t->bytes.size()) +
                             " octets, the network carries " + std::to_string(limit));
      }
      continue;
    }
    NiddPacket p;
    p.ue = it->second;
    p.rai = release_assistance_of(t->bytes);
    p.data = std::move(t->bytes);
    ++counters_.packets_out;
    sent_[carrier_.send(p)] = s;
  }
  timer_.rearm();
}

}  // namespace tether::transport
