// CoAP over non-IP data (Transport TS Appendix D) between a server-side and a device-side
// NiddTransport on a simulated network that, like an SCEF, buffers what it cannot deliver to
// a sleeping UE (D.6): the release assistance indication per CoAP message type (D.4), CoAP's
// retransmissions held back while the network buffers, and the network's packet size.
#include "transport/nidd/nidd_transport.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "nidd/t8.hpp"

namespace tether::transport {
namespace {

using coap::Message;
const std::string kUe = "ext:meter@iot.example";

class Air;

// One end of the simulated network: the SCEF's T8 side (`ue` set for what it hears) or the
// UE's modem.
class End final : public NiddCarrier {
 public:
  End(Air& air, bool device) : air_(air), device_(device) {}
  std::uint64_t send(const NiddPacket& packet) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  void set_problem_handler(Problem) override {}
  std::size_t max_packet(const std::string&) const override { return max_packet_; }
  std::vector<std::pair<std::string, std::uint64_t>> counters() const override { return {}; }
  std::string describe() const override { return device_ ? "modem" : "scef"; }

  Receiver receiver_;
  Reporter reporter_;
  std::size_t max_packet_ = 1358;
  std::uint64_t next_ = 1;
  std::vector<NiddPacket> sent;

 private:
  Air& air_;
  bool device_;
};

// Carries each packet on the next loop turn; while the UE sleeps, downlinks wait and are
// reported buffered, then delivered when it wakes.
class Air {
 public:
  explicit Air(EventLoop& loop) : loop_(loop), scef(*this, false), modem(*this, true) {}
  void carry(bool from_device, std::uint64_t handle, Bytes data) {
    if (!from_device && asleep) {
      held_.push_back({handle, std::move(data)});
      post([this, handle] { scef.reporter_(handle, NiddCarrier::Outcome::kBuffered); });
      return;
    }
    post([this, from_device, handle, data = std::move(data)] {
      End& from = from_device ? modem : scef;
      End& to = from_device ? scef : modem;
      from.reporter_(handle, NiddCarrier::Outcome::kDelivered);
      to.receiver_(from_device ? kUe : std::string{}, data);
    });
  }
  void wake() {
    asleep = false;
    for (auto& [handle, data] : held_) carry(false, handle, std::move(data));
    held_.clear();
  }
  bool asleep = false;

 private:
  void post(std::function<void()> f) { loop_.schedule(loop_.now(), std::move(f)); }
  EventLoop& loop_;
  std::deque<std::pair<std::uint64_t, Bytes>> held_;

 public:
  End scef;
  End modem;
};

std::uint64_t End::send(const NiddPacket& packet) {
  sent.push_back(packet);
  const std::uint64_t h = next_++;
  air_.carry(device_, h, packet.data);
  return h;
}

struct Rig {
  Rig() {
    coap::EndpointConfig fast;
    fast.datagram.params.ack_timeout = Duration{40};  // retransmissions within the test
    NiddOptions s;
    server = std::make_unique<NiddTransport>(loop, fast, random, air.scef, s);
    NiddOptions d;
    d.device = true;
    device = std::make_unique<NiddTransport>(loop, fast, random, air.modem, d);
    device->endpoint().set_request_handler(
        [this](coap::PeerId, const Message&, coap::Responder responder) {
          Message res;
          res.code = coap::codes::kContent;
          res.payload = to_bytes("Tether");
          responder.respond(std::move(res), loop.now());
        });
  }
  // A CON GET from the server to the UE; run until answered or `turns` loop turns; `each`
  // is told how long since the request after each turn.
  std::optional<Result<Message>> read(int turns, const std::function<void(Duration)>& each = {}) {
    auto peer = server->peer_for("nidd:" + kUe, 0);
    EXPECT_TRUE(peer);
    Message m;
    m.code = coap::codes::kGet;
    m.set_path("/3/0/0");
    std::optional<Result<Message>> got;
    server->endpoint().request(
        *peer, std::move(m), [&](Result<Message> r) { got = std::move(r); }, loop.now());
    server->flush();
    const Instant start = loop.now();
    for (int i = 0; i < turns && !got; ++i) {
      loop.run_once(Duration{10});
      if (each) each(loop.now() - start);
    }
    return got;
  }
  EventLoop loop;
  SystemRandom random;
  Air air{loop};
  std::unique_ptr<NiddTransport> server;
  std::unique_ptr<NiddTransport> device;
};

TEST(NiddTransport, ReleaseAssistanceFollowsTheCoapType) {
  // D.4: a CON expects one answer, a NON none, an ACK may be followed by more requests.
  EXPECT_EQ(release_assistance_of(Bytes{0x40, 0x01, 0, 1}), nidd::ReleaseAssistance::kOneDownlink);
  EXPECT_EQ(release_assistance_of(Bytes{0x50, 0x45, 0, 1}),
            nidd::ReleaseAssistance::kNoFurtherData);
  EXPECT_EQ(release_assistance_of(Bytes{0x60, 0x45, 0, 1}), nidd::ReleaseAssistance::kNone);
  EXPECT_EQ(release_assistance_of(Bytes{0x70, 0x00, 0, 1}), nidd::ReleaseAssistance::kNone);

  Rig r;
  auto got = r.read(200);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(to_string((*got)->payload), "Tether");
  ASSERT_EQ(r.air.modem.sent.size(), 1u);  // the piggybacked answer
  EXPECT_EQ(r.air.modem.sent[0].rai, nidd::ReleaseAssistance::kNone);
  EXPECT_EQ(r.server->describe(*r.server->peer_for(kUe, 0)), "nidd:" + kUe);
  EXPECT_EQ(r.server->ue_of(*r.server->peer_for("meter@iot.example", 0)), kUe);
  EXPECT_FALSE(r.server->peer_for("not a ue", 0));
}

TEST(NiddTransport, RetransmissionsWaitWhileTheNetworkBuffers) {
  Rig r;
  r.air.asleep = true;
  // The UE sleeps through several ACK_TIMEOUTs (40, 80, 160 ms), then wakes.
  auto got = r.read(2000, [&](Duration since) {
    if (since >= Duration{300} && r.air.asleep) r.air.wake();
  });
  ASSERT_TRUE(got && *got) << (got ? got->error().reason : "no answer");
  EXPECT_EQ(to_string((*got)->payload), "Tether");
  // D.6: one copy went into the network's buffer, none of CoAP's repeats.
  EXPECT_EQ(r.air.scef.sent.size(), 1u);
  EXPECT_GE(r.server->nidd_counters().held, 1u);
  EXPECT_EQ(r.server->nidd_counters().buffered, 1u);
}

TEST(NiddTransport, NothingOverTheNetworksPacketSizeIsSent) {
  Rig r;
  r.air.modem.max_packet_ = 8;  // a GET's answer of 6 octets of payload does not fit
  auto got = r.read(100);
  EXPECT_TRUE(!got || !*got);
  EXPECT_TRUE(r.air.modem.sent.empty());
  EXPECT_GE(r.device->nidd_counters().too_long, 1u);
}

}  // namespace
}  // namespace tether::transport
