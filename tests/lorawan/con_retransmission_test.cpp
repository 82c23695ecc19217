// lorawan::ConRetransmission alone, over a stand-in for the CoAP endpoint: what it keeps per
// peer stays bounded, a failure reported for a CON that is not the oldest drops that one,
// and the answer to a poll never reaches the endpoint.
#include "lorawan/con_retransmission.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace tether::lorawan {
namespace {

using Side = ConRetransmissionConfig::Side;

// Stands in for the endpoint: hands out what the test queues, keeps what it receives.
class Inner final : public coap::CarrierPort {
 public:
  void receive(coap::PeerId, ByteView bytes, Instant) override {
    received.emplace_back(bytes.begin(), bytes.end());
  }
  void on_connected(coap::PeerId, Instant) override {}
  void on_disconnected(coap::PeerId, Instant) override {}
  void on_timer(Instant) override {}
  std::optional<coap::Transmit> poll_transmit() override {
    if (out.empty()) return std::nullopt;
    auto t = std::move(out.front());
    out.pop_front();
    return t;
  }
  std::optional<Instant> next_deadline() const override { return std::nullopt; }
  void con(std::uint16_t mid) {
    out.push_back(coap::Transmit{
        1, coap::Transmit::Kind::kData,
        Bytes{0x40, 0x01, static_cast<std::uint8_t>(mid >> 8), static_cast<std::uint8_t>(mid)}});
  }
  std::deque<coap::Transmit> out;
  std::vector<Bytes> received;
};

Bytes header(std::uint8_t type, std::uint16_t mid) {
  return Bytes{static_cast<std::uint8_t>(0x40 | (type << 4)), 0x00,
               static_cast<std::uint8_t>(mid >> 8), static_cast<std::uint8_t>(mid)};
}

ConRetransmissionConfig config(Side side) {
  ConRetransmissionConfig c;
  c.side = side;
  return c;
}

TEST(ConRetransmission, KeepsAFewConsPerPeerAndForgetsThemWhenTheEndpointHasGivenUp) {
  Inner inner;
  ConRetransmission layer(config(Side::kApplicationServer), inner);
  for (std::uint16_t mid = 1; mid <= 20; ++mid) inner.con(mid);
  while (layer.poll_transmit()) {
  }
  EXPECT_EQ(layer.outstanding(), 8u);
  EXPECT_EQ(layer.counters().gave_up, 12u);
  // A failure reported for one that is not the oldest (in another block of the deque) drops
  // that one, after its resends, and no other.
  for (unsigned i = 0; i <= 4; ++i) {
    layer.on_carried(1, Bytes{0x40, 0x01, 0x00, 20}, false, Instant{});  // the newest CON
    while (layer.poll_transmit()) {
    }
  }
  EXPECT_EQ(layer.outstanding(), 7u);
  // Past the exchange's span, nothing is kept.
  const Instant late = Instant{} + lorawan_exchange_span(layer.config()) + Duration{1};
  layer.on_timer(late);
  EXPECT_EQ(layer.outstanding(), 0u);
}

TEST(ConRetransmission, ThePollsAnswerStaysWithUs) {
  Inner inner;
  auto c = config(Side::kEndpoint);
  c.poll_delay = Duration{1'000};
  ConRetransmission layer(c, inner);
  inner.con(7);
  auto t = layer.poll_transmit();
  ASSERT_TRUE(t);
  layer.on_carried(1, t->bytes, true, Instant{});
  layer.on_timer(Instant{} + Duration{1'000});
  auto poll = layer.poll_transmit();
  ASSERT_TRUE(poll);
  ASSERT_EQ(poll->bytes.size(), 4u);  // an empty CON
  const std::uint16_t poll_mid = static_cast<std::uint16_t>(poll->bytes[2] << 8 | poll->bytes[3]);
  layer.receive(1, header(3, poll_mid), Instant{} + Duration{1'500});  // RST: a CoAP ping's
  EXPECT_TRUE(inner.received.empty());
  layer.receive(1, header(2, 7), Instant{} + Duration{1'600});  // the CON's own ACK
  ASSERT_EQ(inner.received.size(), 1u);
  EXPECT_EQ(layer.outstanding(), 0u);
}

}  // namespace
}  // namespace tether::lorawan
