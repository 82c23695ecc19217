// Transport TS Appendix C on virtual time: a CoAP endpoint on a device's LoRaWAN MAC, our
// network server simulator, ChirpStack's integration JSON between it and the application
// server's CoAP endpoint, and ConRetransmission on both ends. Frames are lost on purpose.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>

#include "coap/endpoint.hpp"
#include "lorawan/chirpstack.hpp"
#include "lorawan/con_retransmission.hpp"
#include "lorawan/device_mac.hpp"
#include "lorawan/network_server.hpp"

namespace tether::lorawan {
namespace {

namespace cs = chirpstack;
using coap::Message;
using Side = ConRetransmissionConfig::Side;

constexpr DevEui kDevice = 0x70b3d57ed0000001;
constexpr coap::PeerId kPeer = 1;  // the device at the server, the server at the device

class CountingRandom final : public Random {
 public:
  explicit CountingRandom(std::uint64_t seed = 7) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
      b = static_cast<std::uint8_t>(state_ >> 56);
    }
  }

 private:
  std::uint64_t state_;
};

ConRetransmissionConfig layer_config(Side side, bool confirmed) {
  ConRetransmissionConfig c;
  c.side = side;
  c.confirmed = confirmed;
  c.poll_delay = Duration{30'000};
  return c;
}

coap::EndpointConfig endpoint_config(const ConRetransmissionConfig& c, std::size_t mtu) {
  auto e = lorawan_endpoint_config({}, c);
  e.datagram.max_message_size = mtu;
  return e;
}

// The device, the network and the application server, on one virtual clock.
struct Air {
  Air(bool confirmed, std::uint8_t dr = 5, DeviceClass device_class = DeviceClass::kA)
      : ns(ns_config(), random),
        mac(mac_config(dr, device_class)),
        device(endpoint_config(layer_config(Side::kEndpoint, confirmed), mac.max_payload()),
               random),
        device_layer(layer_config(Side::kEndpoint, confirmed), device),
        server(
            endpoint_config(layer_config(Side::kApplicationServer, confirmed), mac.max_payload()),
            random),
        server_layer(layer_config(Side::kApplicationServer, confirmed), server) {
    ns.add_device(kDevice, device_class, dr);
  }
  static NetworkServerConfig ns_config() {
    NetworkServerConfig c;
    c.application = "app";
    return c;
  }
  static DeviceMacConfig mac_config(std::uint8_t dr, DeviceClass device_class) {
    DeviceMacConfig c;
    c.dev_eui = kDevice;
    c.dr = dr;
    c.device_class = device_class;
    return c;
  }

  bool lose() { return loss > 0 && random.next_unit() < loss; }

  // Moves everything that is ready, until nothing is.
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      while (auto t = device_layer.poll_transmit()) {
        moved = true;
        const Bytes header(t->bytes.begin(), t->bytes.begin() + 4);
        max_uplink = std::max(max_uplink, t->bytes.size());
        auto h = mac.send(2, t->bytes, device_layer.rides_confirmed(t->bytes), now);
        if (h) {
          device_sent[*h] = header;
        } else {
          device_layer.on_carried(kPeer, header, false, now);
        }
      }
      while (auto u = mac.poll_transmit()) {
        moved = true;
        ++uplinks;
        if (drop_up && drop_up(*u)) continue;
        if (lose()) continue;
        ns.on_uplink(*u, now);
      }
      while (auto d = ns.poll_air()) {
        moved = true;
        if (drop_down && drop_down(*d)) continue;
        if (lose()) continue;
        mac.receive(*d, now);
      }
      while (auto e = mac.poll_event()) {
        moved = true;
        if (e->kind == MacEvent::Kind::kReceived) {
          device_layer.receive(kPeer, e->payload, now);
        } else {
          device_layer.on_carried(kPeer, device_sent[e->handle], e->kind == MacEvent::Kind::kSent,
                                  now);
        }
      }
      while (auto p = ns.poll_publication()) {
        moved = true;
        auto topic = cs::parse_topic(p->topic);
        auto e = cs::parse_event(*topic, to_bytes(p->json));
        ASSERT_TRUE(e && *e);
        if (auto* up = std::get_if<cs::UplinkEvent>(&**e)) {
          server_layer.receive(kPeer, up->data, now);
        } else if (auto* tx = std::get_if<cs::TxAckEvent>(&**e)) {
          if (!items[tx->queue_item_id].confirmed) settle(tx->queue_item_id, true);
        } else if (auto* ack = std::get_if<cs::AckEvent>(&**e)) {
          settle(ack->queue_item_id, ack->acknowledged);
        } else if (auto* log = std::get_if<cs::LogEvent>(&**e)) {
          settle(log->queue_item_id, false);
        }
      }
      while (auto t = server_layer.poll_transmit()) {
        moved = true;
        max_downlink = std::max(max_downlink, t->bytes.size());
        cs::DownlinkCommand c;
        c.id = cs::make_uuid(random);
        c.dev_eui = kDevice;
        c.confirmed = server_layer.rides_confirmed(t->bytes);
        c.f_port = 2;
        c.data = t->bytes;
        items[c.id] = Item{Bytes(t->bytes.begin(), t->bytes.begin() + 4), c.confirmed};
        held.push_back({now + server_latency, cs::to_json(c)});
      }
      // The application server's commands reach the network after its latency.
      while (!held.empty() && held.front().first <= now) {
        moved = true;
        ns.on_command(cs::command_topic("app", kDevice), to_bytes(held.front().second), now);
        held.pop_front();
      }
    }
  }
  void settle(const std::string& id, bool delivered) {
    auto it = items.find(id);
    if (it == items.end()) return;
    server_layer.on_carried(kPeer, it->second.header, delivered, now);
    items.erase(it);
  }
  void fire(Instant end) {
    std::optional<Instant> next;
    const auto held_until =
        held.empty() ? std::nullopt : std::optional<Instant>(held.front().first);
    for (auto at : {ns.next_deadline(), mac.next_deadline(), device_layer.next_deadline(),
                    server_layer.next_deadline(), held_until}) {
      if (at && (!next || *at < *next)) next = at;
    }
    if (!next || *next > end) {
      now = end;
      return;
    }
    now = std::max(now, *next);
    ns.on_timer(now);
    mac.on_timer(now);
    device_layer.on_timer(now);
    server_layer.on_timer(now);
  }
  bool run_until(const std::function<bool()>& done, Duration limit) {
    const Instant end = now + limit;
    for (int i = 0; i < 1'000'000 && now < end; ++i) {
      pump();
      if (done()) return true;
      fire(end);
    }
    pump();
    return done();
  }

  struct Item {
    Bytes header;
    bool confirmed = false;
  };
  CountingRandom random;
  Instant now{};
  double loss = 0;
  Duration server_latency{0};
  std::deque<std::pair<Instant, std::string>> held;
  std::function<bool(const Uplink&)> drop_up;
  std::function<bool(const Downlink&)> drop_down;
  NetworkServer ns;
  DeviceMac mac;
  coap::Endpoint device;
  ConRetransmission device_layer;
  coap::Endpoint server;
  ConRetransmission server_layer;
  std::map<std::uint64_t, Bytes> device_sent;
  std::map<std::string, Item> items;
  std::size_t uplinks = 0;
  std::size_t max_uplink = 0;
  std::size_t max_downlink = 0;
};

Message post(std::string payload) {
  Message m;
  m.type = coap::Type::kConfirmable;
  m.code = coap::codes::kPost;
  m.set_path("/dp");
  m.payload = to_bytes(payload);
  return m;
}

void answer_everything(coap::Endpoint& e, Air& air, Bytes* body = nullptr) {
  e.set_request_handler([&air, body](coap::PeerId, const Message& m, coap::Responder r) {
    if (body != nullptr) *body = m.payload;
    Message reply;
    reply.code = m.code == coap::codes::kGet ? coap::codes::kContent : coap::codes::kChanged;
    reply.payload = to_bytes("21.5");
    r.respond(reply, air.now);
  });
}

TEST(AppendixC, TheServerAnswersInTheDevicesReceiveWindow) {
  Air air(true);
  answer_everything(air.server, air);
  std::optional<Result<Message>> got;
  air.device.request(
      kPeer, post("hello"), [&](Result<Message> m) { got = std::move(m); }, air.now);
  ASSERT_TRUE(air.run_until([&] { return got.has_value(); }, Duration{60'000}));
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->code, coap::codes::kChanged);
  // Within the first uplink's windows: no poll was needed.
  EXPECT_EQ(air.device_layer.counters().polls, 0u);
  EXPECT_LT(air.now - Instant{}, Duration{10'000});
}

TEST(AppendixC, AClassADeviceHearsTheServerOnlyAfterItSends) {
  Air air(true);
  answer_everything(air.device, air);
  answer_everything(air.server, air);
  std::optional<Result<Message>> read;
  Message get;
  get.type = coap::Type::kConfirmable;
  get.code = coap::codes::kGet;
  get.set_path("/3/0/0");
  air.server.request(
      kPeer, get, [&](Result<Message> m) { read = std::move(m); }, air.now);
  air.run_until([&] { return read.has_value(); }, Duration{600'000});
  EXPECT_FALSE(read.has_value());  // queued at the network: the device never listened
  EXPECT_EQ(air.ns.queued(kDevice), 1u);
  const Instant sent_at = air.now;
  std::optional<Result<Message>> posted;
  air.device.request(
      kPeer, post("x"), [&](Result<Message> m) { posted = std::move(m); }, air.now);
  ASSERT_TRUE(
      air.run_until([&] { return read.has_value() && posted.has_value(); }, Duration{600'000}));
  ASSERT_TRUE(*read);
  EXPECT_EQ((*read)->code, coap::codes::kContent);
  EXPECT_GE(air.now, sent_at);
}

// C.3.1: a CON with no answer in its windows (the server answered too late for them): the
// device polls, and what the server queued comes in the poll's window.
TEST(AppendixC, WithConfirmedFramesTheDevicePollsForALateAnswer) {
  Air air(true);
  answer_everything(air.server, air);
  air.server_latency = Duration{1500};
  std::optional<Result<Message>> got;
  air.device.request(
      kPeer, post("hello"), [&](Result<Message> m) { got = std::move(m); }, air.now);
  ASSERT_TRUE(air.run_until([&] { return got.has_value(); }, Duration{3'600'000}));
  ASSERT_TRUE(*got) << got->error().reason;
  EXPECT_EQ((*got)->code, coap::codes::kChanged);
  EXPECT_EQ(air.device_layer.counters().polls, 1u);
  EXPECT_EQ(air.server_layer.counters().polls_heard, 1u);
  EXPECT_GE(air.now - Instant{}, Duration{30'000});  // the poll delay
}

// C.3.2.1: over unconfirmed frames, a poll, then the CON again; the server's duplicate
// detection answers the copy with the same ACK.
TEST(AppendixC, WithUnconfirmedFramesTheDevicePollsThenSendsTheConAgain) {
  Air air(false);
  int handled = 0;
  air.server.set_request_handler([&](coap::PeerId, const Message& m, coap::Responder r) {
    ++handled;
    Message reply;
    reply.code = coap::codes::kChanged;
    (void)m;
    r.respond(reply, air.now);
  });
  int dropped = 0;
  air.drop_down = [&](const Downlink& d) { return d.f_port && dropped++ == 0; };
  std::optional<Result<Message>> got;
  air.device.request(
      kPeer, post("hello"), [&](Result<Message> m) { got = std::move(m); }, air.now);
  ASSERT_TRUE(air.run_until([&] { return got.has_value(); }, Duration{3'600'000}));
  ASSERT_TRUE(*got) << got->error().reason;
  EXPECT_EQ(air.device_layer.counters().polls, 1u);
  EXPECT_EQ(air.device_layer.counters().resent, 1u);
  EXPECT_EQ(air.server_layer.counters().polls_heard, 1u);
  EXPECT_EQ(handled, 1);  // the copy was answered from the cache, not handled twice
}

// C.3.2.2: the server waits ACK_TIMEOUT after the network sent its CON, then sends it again.
TEST(AppendixC, WithUnconfirmedFramesTheServerSendsAgainAfterAckTimeout) {
  Air air(false, 5, DeviceClass::kC);
  int handled = 0;
  air.device.set_request_handler([&](coap::PeerId, const Message&, coap::Responder r) {
    ++handled;
    Message reply;
    reply.code = coap::codes::kContent;
    r.respond(reply, air.now);
  });
  int dropped = 0;
  air.drop_up = [&](const Uplink& u) { return u.f_port && dropped++ == 0; };  // the first ACK
  Message get;
  get.type = coap::Type::kConfirmable;
  get.code = coap::codes::kGet;
  get.set_path("/3/0/0");
  std::optional<Result<Message>> read;
  air.server.request(
      kPeer, get, [&](Result<Message> m) { read = std::move(m); }, air.now);
  ASSERT_TRUE(air.run_until([&] { return read.has_value(); }, Duration{3'600'000}));
  ASSERT_TRUE(*read) << read->error().reason;
  EXPECT_EQ(air.server_layer.counters().resent, 1u);
  EXPECT_GE(air.now - Instant{}, Duration{300'000});  // ACK_TIMEOUT, C.2
  EXPECT_EQ(handled, 1);
}

class LossyAir : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(LossyAir, NoConfirmableMessageIsLostAtOneFrameInFive) {
  Air air(true);
  air.random = CountingRandom(GetParam());
  air.loss = 0.2;
  int handled = 0;
  air.server.set_request_handler([&](coap::PeerId, const Message&, coap::Responder r) {
    ++handled;
    Message reply;
    reply.code = coap::codes::kChanged;
    r.respond(reply, air.now);
  });
  int answered = 0;
  for (int i = 0; i < 50; ++i) {
    std::optional<Result<Message>> got;
    air.device.request(
        kPeer, post("n" + std::to_string(i)), [&](Result<Message> m) { got = std::move(m); },
        air.now);
    ASSERT_TRUE(air.run_until([&] { return got.has_value(); }, Duration{3'600'000}));
    ASSERT_TRUE(*got) << i << ": " << got->error().reason << " polls "
                      << air.device_layer.counters().polls << " resent "
                      << air.device_layer.counters().resent << " gave up "
                      << air.device_layer.counters().gave_up << " mac repeats "
                      << air.mac.counters().repeats << " ns repeats "
                      << air.ns.counters().confirmed_repeats << " nacks "
                      << air.ns.counters().not_acknowledged << " handled " << handled << " t "
                      << (air.now - Instant{}).count();
    ++answered;
  }
  EXPECT_EQ(answered, 50);
  EXPECT_EQ(handled, 50);
  // Frames were lost, and made good by LoRaWAN's repeats and Appendix C's polls.
  EXPECT_GT(air.mac.counters().repeats + air.ns.counters().confirmed_repeats, 0u);
}

INSTANTIATE_TEST_SUITE_P(AppendixC, LossyAir, ::testing::Values(7u, 1234u, 99991u));

TEST(AppendixC, BlockWiseTransfersFitTheDataRate) {
  Air air(true, 3);  // EU868 DR3: 115 octets a frame
  Bytes body;
  answer_everything(air.device, air, &body);
  answer_everything(air.server, air);
  Message put;
  put.type = coap::Type::kConfirmable;
  put.code = coap::codes::kPut;
  put.set_path("/5/0/0");
  put.payload = Bytes(700, 0x5a);
  std::optional<Result<Message>> got;
  air.server.request(
      kPeer, put, [&](Result<Message> m) { got = std::move(m); }, air.now);
  // Class A: the device keeps sending so that the server's blocks have windows to ride.
  for (int i = 0; i < 60 && !got; ++i) {
    std::optional<Result<Message>> posted;
    air.device.request(
        kPeer, post("tick"), [&](Result<Message> m) { posted = std::move(m); }, air.now);
    air.run_until([&] { return got.has_value() || posted.has_value(); }, Duration{3'600'000});
  }
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(*got) << got->error().reason;
  EXPECT_EQ(body, put.payload);
  EXPECT_LE(air.max_downlink, 115u);
  EXPECT_LE(air.max_uplink, 115u);
  EXPECT_EQ(air.ns.counters().oversized_downlinks, 0u);
}

}  // namespace
}  // namespace tether::lorawan
