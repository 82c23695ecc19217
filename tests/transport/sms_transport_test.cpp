// CoAP over SMS (Transport TS 6.8.3) on a simulated SMS network: concatenation, parts out of
// order and twice, and the foreign-number rule of Transport TS 5.4.
#include "transport/sms/sms_transport.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "sms/secured_packet_peers.hpp"
#include "sms/software_uicc.hpp"

namespace tether::transport {
namespace {

using coap::Message;

class Network;

// One phone on the simulated network.
class Phone final : public SmsCarrier {
 public:
  Phone(Network& net, std::string number);
  void send(const sms::ShortMessage& m) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter) override {}
  const SmsCarrierCounters& counters() const override { return counters_; }
  std::string describe() const override { return "phone"; }
  void deliver(sms::ShortMessage m) {
    ++counters_.received;
    if (receiver_) receiver_(std::move(m));
  }
  SmsCarrierCounters counters_;

 private:
  Network& net_;
  Receiver receiver_;
};

// Delivers each SMS on the next loop turn; can hold parts back and hand them over reversed,
// with the first one twice (what a retrying gateway does).
class Network {
 public:
  explicit Network(EventLoop& loop) : loop_(loop) {}
  void join(const std::string& number, Phone* p) { phones_[number] = p; }
  void carry(sms::ShortMessage m) {
    ++carried;
    log.push_back(m);
    if (shuffle && !m.udh.empty()) {
      held_.push_back(std::move(m));
      return;
    }
    post(std::move(m));
  }
  void release_reversed() {
    if (held_.empty()) return;
    std::reverse(held_.begin(), held_.end());
    held_.insert(held_.begin() + 1, held_.front());
    for (auto& m : held_) post(std::move(m));
    held_.clear();
  }
  bool shuffle = false;
  int carried = 0;
  std::vector<sms::ShortMessage> log;  // everything carried, in order
  // Hands `m` over again (a replay, or a tampered copy).
  void inject(sms::ShortMessage m) { post(std::move(m)); }

 private:
  void post(sms::ShortMessage m) {
    loop_.schedule(loop_.now(), [this, m = std::move(m)]() mutable {
      auto it = phones_.find(m.to);
      if (it != phones_.end()) it->second->deliver(std::move(m));
    });
  }
  EventLoop& loop_;
  std::map<std::string, Phone*> phones_;
  std::vector<sms::ShortMessage> held_;
};

Phone::Phone(Network& net, std::string number) : net_(net) {
  net.join(number, this);
}
void Phone::send(const sms::ShortMessage& m) {
  ++counters_.sent;
  net_.carry(m);
}

struct SmsPair {
  explicit SmsPair(std::function<bool(const std::string&)> accept = {},
                   std::shared_ptr<sms::PacketProtection> server_packets = {},
                   std::shared_ptr<sms::PacketProtection> client_packets = {}) {
    SmsOptions s;
    s.own_number = "+1000";
    s.accept = std::move(accept);
    s.packets = std::move(server_packets);
    server = std::make_unique<SmsTransport>(loop, coap::EndpointConfig{}, random, server_phone, s);
    SmsOptions c;
    c.own_number = "+2000";
    c.packets = std::move(client_packets);
    client = std::make_unique<SmsTransport>(loop, coap::EndpointConfig{}, random, client_phone, c);
    server->endpoint().set_request_handler(
        [this](coap::PeerId, const Message& req, coap::Responder responder) {
          Message res;
          res.code = coap::codes::kContent;
          res.payload = Bytes(req.payload.size() * 2, 0x77);
          responder.respond(std::move(res), loop.now());
        });
  }
  Result<Message> get(Bytes body) {
    auto peer = client->peer_for("+1000", 0);
    if (!peer) return peer.error();
    Message m;
    m.code = coap::codes::kPost;
    m.set_path("/x");
    m.payload = std::move(body);
    std::optional<Result<Message>> got;
    client->endpoint().request(
        *peer, std::move(m),
        [&](Result<Message> r) {
          got = std::move(r);
          loop.stop();
        },
        loop.now());
    client->flush();
    for (int i = 0; i < 50 && !got; ++i) {
      loop.run_once(Duration{20});
      network.release_reversed();
    }
    if (!got) return fail("no answer");
    return std::move(*got);
  }
  EventLoop loop;
  SeededRandom random{3};
  Network network{loop};
  Phone server_phone{network, "+1000"};
  Phone client_phone{network, "+2000"};
  std::unique_ptr<SmsTransport> server;
  std::unique_ptr<SmsTransport> client;
};

TEST(SmsTransport, OneSmsEachWayForASmallExchange) {
  SmsPair p;
  auto r = p.get(Bytes(20, 1));
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->payload.size(), 40u);
  EXPECT_EQ(p.network.carried, 2);
  EXPECT_EQ(p.server->describe(1), "sms:+2000");
}

TEST(SmsTransport, LongMessagesGoConcatenatedAndComeBackWholeInAnyOrder) {
  SmsPair p;
  p.network.shuffle = true;
  auto r = p.get(Bytes(400, 2));
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->payload, Bytes(800, 0x77));
  // 400 bytes + CoAP header: 4 parts up; 800 + header: 7 parts back, no block-wise.
  EXPECT_EQ(p.client_phone.counters_.sent, 4u);
  EXPECT_EQ(p.server_phone.counters_.sent, 7u);
  auto counts = p.server->counters();
  auto duplicate = std::find_if(counts.begin(), counts.end(),
                                [](const auto& c) { return c.first == "sms_part_duplicate"; });
  ASSERT_NE(duplicate, counts.end());
  EXPECT_EQ(duplicate->second, 1u);
}

TEST(SmsTransport, AStrangersSmsIsNotAnswered) {
  SmsPair p([](const std::string& from) { return from == "+3000"; });
  Message m;
  m.code = coap::codes::kPost;
  auto peer = p.client->peer_for("+1000", 0);
  ASSERT_TRUE(peer);
  bool answered = false;
  p.client->endpoint().request(
      *peer, m, [&](Result<Message> r) { answered = r.ok(); }, p.loop.now());
  p.client->flush();
  for (int i = 0; i < 10; ++i) p.loop.run_once(Duration{10});
  EXPECT_FALSE(answered);
  EXPECT_EQ(p.network.carried, 1);
  EXPECT_EQ(p.server->sms_counters().ignored_sender, 1u);
  EXPECT_EQ(p.server->sms_counters().messages_in, 0u);
}

std::optional<sms::SecuredPacketKeys> test_keys(const std::string& number) {
  if (number != "+1000" && number != "+2000") return std::nullopt;
  Bytes secret(32);
  for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<std::uint8_t>(i);
  auto k = sms::parse_sms_binding_keys(Bytes{0x12, 0x1A, 0x16, 0x00, 0xB2, 0x02, 0x03}, secret);
  if (!k) return std::nullopt;
  return *k;
}

struct SecuredPair {
  SecuredPair()
      : card(test_keys, [] { return 1'000'000; }),
        pair({}, std::make_shared<sms::SecuredPacketPeers>(test_keys, [] { return 2'000'000; }),
             std::make_shared<sms::UiccProtection>(card)) {}
  sms::SoftwareUicc card;
  SmsPair pair;
};

std::uint64_t counter(const SmsTransport& t, const std::string& name) {
  for (const auto& [n, v] : t.counters()) {
    if (n == name) return v;
  }
  return ~std::uint64_t{0};
}

TEST(SmsTransport, SecuredPacketsGoClassTwoToTheUsimBothWays) {
  SecuredPair s;
  auto& p = s.pair;
  auto r = p.get(Bytes(20, 1));
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->payload.size(), 40u);
  ASSERT_EQ(p.network.log.size(), 2u);
  for (const auto& m : p.network.log) {
    EXPECT_EQ(m.pid, 0x7F);
    EXPECT_EQ(m.dcs, 0xF6);
    EXPECT_EQ(m.udh, (Bytes{0x02, 0x70, 0x00}));
    // Neither the request's path nor its payload shows in the clear.
    EXPECT_EQ(std::search(m.data.begin(), m.data.end(), r->payload.begin(), r->payload.begin() + 8),
              m.data.end());
  }
  // Long ones are concatenated, the element in the first part only.
  const std::size_t before = p.network.log.size();
  auto big = p.get(Bytes(300, 2));
  ASSERT_TRUE(big) << big.error().reason;
  EXPECT_EQ(big->payload, Bytes(600, 0x77));
  int firsts = 0, others = 0;
  for (std::size_t i = before; i < p.network.log.size(); ++i) {
    const auto& udh = p.network.log[i].udh;
    ASSERT_GE(udh.size(), 6u);
    const bool first = udh[udh.size() - 1] == 1;  // the concatenation element's sequence
    const bool marked = udh[1] == sms::kCommandPacketIei;
    EXPECT_EQ(first, marked);
    ++(first ? firsts : others);
  }
  EXPECT_EQ(firsts, 2);  // the request's and the answer's
  EXPECT_GT(others, 2);
}

TEST(SmsTransport, SecuredPacketsThatDoNotOpenAreDroppedUnanswered) {
  SecuredPair s;
  auto& p = s.pair;
  ASSERT_TRUE(p.get(Bytes(4, 1)));
  const auto request = p.network.log.front();
  const int carried = p.network.carried;
  // The same request again (a replay), then a tampered copy.
  p.network.inject(request);
  auto tampered = request;
  tampered.data.back() ^= 0x01;
  p.network.inject(tampered);
  for (int i = 0; i < 10; ++i) p.loop.run_once(Duration{10});
  EXPECT_EQ(p.network.carried, carried);  // no answer to either
  EXPECT_EQ(counter(*p.server, "sms_packet_replayed"), 1u);
  EXPECT_EQ(counter(*p.server, "sms_packet_bad_checksum"), 1u);
  // A number without keys gets nothing sent to it.
  auto stranger = p.server->peer_for("+3000", 0);
  ASSERT_TRUE(stranger);
  Message m;
  m.code = coap::codes::kGet;
  p.server->endpoint().request(
      *stranger, m, [](Result<Message>) {}, p.loop.now());
  p.server->flush();
  EXPECT_EQ(p.network.carried, carried);
  EXPECT_EQ(counter(*p.server, "sms_packet_unsealed"), 1u);
}

TEST(SmsTransport, PeersAreMsisdns) {
  SmsPair p;
  EXPECT_FALSE(p.client->peer_for("127.0.0.1", 5683));
  EXPECT_FALSE(p.client->peer_for("+", 0));
  EXPECT_TRUE(p.client->peer_for("+4915550000", 0));
  EXPECT_EQ(sms::msisdn_of_uri("sms://+4915550000/"), "+4915550000");
  EXPECT_EQ(sms::msisdn_of_uri("SMS://4915550000"), "4915550000");
  EXPECT_EQ(sms::msisdn_of_uri("sms://+49-1555"), std::nullopt);
  EXPECT_EQ(sms::msisdn_of_uri("coap://+4915550000"), std::nullopt);
  // One phone, however the network writes its number.
  EXPECT_EQ(*p.client->peer_for("+4915550000", 0), *p.client->peer_for("004915550000", 0));
  EXPECT_EQ(*p.client->peer_for("4915550000", 0), *p.client->peer_for("+4915550000", 0));
  EXPECT_NE(*p.client->peer_for("015550000", 0), *p.client->peer_for("+4915550000", 0));
  EXPECT_TRUE(sms::same_msisdn("+4915550000", "004915550000"));
  EXPECT_FALSE(sms::same_msisdn("+4915550000", "+4915550001"));
  EXPECT_FALSE(sms::same_msisdn("00", "+"));
}

}  // namespace
}  // namespace tether::transport
