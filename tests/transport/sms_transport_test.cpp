// CoAP over SMS (Transport TS 6.8.3) on a simulated SMS network: concatenation, parts out of
// order and twice, and the foreign-number rule of Transport TS 5.4.
#include "transport/sms/sms_transport.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

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
  explicit SmsPair(std::function<bool(const std::string&)> accept = {}) {
    SmsOptions s;
    s.own_number = "+1000";
    s.accept = std::move(accept);
    server = std::make_unique<SmsTransport>(loop, coap::EndpointConfig{}, random, server_phone, s);
    SmsOptions c;
    c.own_number = "+2000";
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

TEST(SmsTransport, PeersAreMsisdns) {
  SmsPair p;
  EXPECT_FALSE(p.client->peer_for("127.0.0.1", 5683));
  EXPECT_FALSE(p.client->peer_for("+", 0));
  EXPECT_TRUE(p.client->peer_for("+4915550000", 0));
  EXPECT_EQ(sms::msisdn_of_uri("sms://+4915550000/"), "+4915550000");
  EXPECT_EQ(sms::msisdn_of_uri("SMS://4915550000"), "4915550000");
  EXPECT_EQ(sms::msisdn_of_uri("sms://+49-1555"), std::nullopt);
  EXPECT_EQ(sms::msisdn_of_uri("coap://+4915550000"), std::nullopt);
}

}  // namespace
}  // namespace tether::transport
