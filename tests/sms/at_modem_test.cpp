// The AT dialogue with a modem in PDU mode (3GPP TS 27.005), on virtual time.
#include "sms/at_modem.hpp"

#include <gtest/gtest.h>

#include "sms/pdu.hpp"

namespace tether::sms {
namespace {

class AtModemTest : public ::testing::Test {
 protected:
  AtModemTest() : modem_(config()) {}
  static AtModemConfig config() {
    AtModemConfig c;
    c.own_number = "+4915550001";
    return c;
  }
  std::string out() {
    auto b = modem_.take_output();
    return std::string(b.begin(), b.end());
  }
  void feed(std::string_view s) { modem_.receive(to_bytes(s), now_); }
  void start() {
    modem_.start(now_);
    EXPECT_EQ(out(), std::string("\x1b") + "AT\r");
    feed(std::string("\x1b") + "AT\r\r\nERROR\r\n");  // the ESC garbled the line: fine
    EXPECT_EQ(out(), "ATE0\r");
    feed("ATE0\r\r\nOK\r\n");  // the modem still echoes this one
    EXPECT_EQ(out(), "AT+CMEE=1\r");
    feed("\r\nOK\r\n");
    EXPECT_EQ(out(), "AT+CSMS=0\r");
    feed("\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n");
    EXPECT_EQ(out(), "AT+CMGF=0\r");
    feed("\r\nOK\r\n");
    EXPECT_EQ(out(), "AT+CNMI=2,2,0,0,0\r");
    feed("\r\nOK\r\n");
    auto e = modem_.poll_event();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, AtModemEvent::Kind::kReady);
    EXPECT_TRUE(modem_.ready());
  }
  AtModem modem_;
  Instant now_{};
};

TEST_F(AtModemTest, SendsOneSmsAtATimeThroughThePrompt) {
  start();
  ShortMessage m;
  m.to = "+4915559999";
  m.data = {0x40, 0x02};
  ASSERT_TRUE(modem_.send(m, now_));
  m.data = {0x40, 0x03};
  ASSERT_TRUE(modem_.send(m, now_));
  Submit expect;
  expect.destination = "+4915559999";
  expect.data = {0x40, 0x02};
  auto tpdu = encode_submit(expect);
  ASSERT_TRUE(tpdu);
  EXPECT_EQ(out(), "AT+CMGS=" + std::to_string(tpdu->size()) + "\r");
  feed("\r\n> ");
  const std::string pdu = out();
  ASSERT_EQ(pdu.back(), '\x1a');
  auto sent = from_hex(pdu.substr(0, pdu.size() - 1));
  ASSERT_TRUE(sent);
  auto decoded = decode_submit(*skip_smsc_address(*sent));
  ASSERT_TRUE(decoded) << decoded.error().reason;
  EXPECT_EQ(decoded->destination, "+4915559999");
  EXPECT_EQ(decoded->data, (Bytes{0x40, 0x02}));
  EXPECT_EQ(out(), "");  // the second waits for the first's answer
  feed("\r\n+CMGS: 12\r\n\r\nOK\r\n");
  EXPECT_EQ(modem_.poll_event()->kind, AtModemEvent::Kind::kSent);
  EXPECT_EQ(out().substr(0, 8), "AT+CMGS=");
  feed("\r\n> ");
  out();
  feed("\r\n+CMS ERROR: 500\r\n");
  auto failed = modem_.poll_event();
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->kind, AtModemEvent::Kind::kSendFailed);
  EXPECT_EQ(failed->detail, "+CMS ERROR: 500");
  EXPECT_EQ(modem_.counters().sent, 1u);
  EXPECT_EQ(modem_.queued(), 0u);
}

TEST_F(AtModemTest, HandsUpDeliveredSmsAndDropsMalformedOnes) {
  start();
  Deliver d;
  d.originator = "+4915550000";
  d.data = {0x44, 0x01, 0x00, 0x01};
  auto tpdu = encode_deliver(d);
  ASSERT_TRUE(tpdu);
  feed("\r\n+CMT: ," + std::to_string(tpdu->size()) + "\r\n00" + to_hex(*tpdu) + "\r\n");
  auto m = modem_.poll_received();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->from, "+4915550000");
  EXPECT_EQ(m->to, "+4915550001");
  EXPECT_EQ(m->data, d.data);
  feed("\r\n+CMT: ,5\r\n00zz\r\n");
  feed("\r\n+CMT: ,3\r\n00010203\r\n");
  EXPECT_FALSE(modem_.poll_received());
  EXPECT_EQ(modem_.counters().malformed, 2u);
  EXPECT_EQ(modem_.poll_event()->kind, AtModemEvent::Kind::kMalformed);
  // A line longer than any PDU is dropped whole, and the next +CMT is read again.
  feed("\r\n+CMT: ,3\r\n" + std::string(5000, 'A') + "\r\n");
  feed("\r\n+CMT: ," + std::to_string(tpdu->size()) + "\r\n00" + to_hex(*tpdu) + "\r\n");
  EXPECT_TRUE(modem_.poll_received());
}

TEST_F(AtModemTest, ASilentModemIsStartedAgainAndTheMessageInFlightReportedLost) {
  start();
  ShortMessage m;
  m.to = "+4915559999";
  m.data = {1};
  ASSERT_TRUE(modem_.send(m, now_));
  out();
  ASSERT_TRUE(modem_.next_deadline());
  now_ = *modem_.next_deadline();
  modem_.on_timer(now_);
  EXPECT_EQ(modem_.poll_event()->kind, AtModemEvent::Kind::kRestarting);
  EXPECT_EQ(modem_.poll_event()->kind, AtModemEvent::Kind::kSendFailed);
  EXPECT_FALSE(modem_.ready());
  now_ = *modem_.next_deadline();
  modem_.on_timer(now_);
  EXPECT_EQ(out(), std::string("\x1b") + "AT\r");
  feed("\r\nOK\r\n");
  EXPECT_EQ(out(), "ATE0\r");
  // A modem that refuses start-up is tried again later, never hammered.
  feed("\r\nERROR\r\n");
  EXPECT_EQ(modem_.poll_event()->kind, AtModemEvent::Kind::kRestarting);
  EXPECT_EQ(out(), "");
  EXPECT_EQ(modem_.next_deadline(), now_ + Duration{5000});
  EXPECT_EQ(modem_.counters().restarts, 2u);
}

TEST_F(AtModemTest, AFullQueueRefuses) {
  AtModemConfig c = config();
  c.max_queued = 1;
  AtModem small(c);
  ShortMessage m;
  m.to = "+1";
  m.data = {1};
  EXPECT_TRUE(small.send(m, now_));
  EXPECT_FALSE(small.send(m, now_));
  EXPECT_EQ(small.counters().queue_full, 1u);
  m.to = "not a number";
  EXPECT_FALSE(modem_.send(m, now_));
}

}  // namespace
}  // namespace tether::sms
