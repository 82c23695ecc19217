// 3GPP TS 23.040 PDUs as a modem shows them in PDU mode (27.005).
#include "sms/pdu.hpp"

#include <gtest/gtest.h>

#include "sms/user_data_header.hpp"

namespace tether::sms {
namespace {

TEST(SmsPdu, SubmitEncodesEightBitWithHeaderAsTheSpecLaysItOut) {
  Submit s;
  s.reference = 7;
  s.destination = "+49155512345";
  s.udh = build_udh({concat_element({0x42, 2, 1})});
  s.data = {0x40, 0x01, 0x12, 0x34};
  auto tpdu = encode_submit(s);
  ASSERT_TRUE(tpdu) << tpdu.error().reason;
  // SUBMIT with UDHI, MR 7, 11 digits international, BCD with F filler, PID 0, DCS 4 (8-bit),
  // UDL 10 = 6 header + 4 data.
  EXPECT_EQ(to_hex(*tpdu),
            "4107"
            "0b91"
            "9451552143f5"
            "0004"
            "0a"
            "050003420201"
            "40011234");
}

TEST(SmsPdu, SubmitRoundTripsAndSkipsAValidityPeriod) {
  Submit s;
  s.reference = 200;
  s.destination = "12345";
  s.data = Bytes(140, 0xA5);
  auto tpdu = encode_submit(s);
  ASSERT_TRUE(tpdu);
  auto back = decode_submit(*tpdu);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->destination, "12345");
  EXPECT_EQ(back->reference, 200);
  EXPECT_TRUE(back->udh.empty());
  EXPECT_EQ(back->data, s.data);
  // The same SUBMIT with a relative validity period (VPF 10) as other senders write it.
  auto with_vp = from_hex(
      "1100"
      "0a81"
      "2143658709"
      "0004"
      "a7"
      "03"
      "010203");
  ASSERT_TRUE(with_vp);
  auto decoded = decode_submit(*with_vp);
  ASSERT_TRUE(decoded) << decoded.error().reason;
  EXPECT_EQ(decoded->destination, "1234567890");
  EXPECT_EQ(decoded->data, (Bytes{1, 2, 3}));
}

TEST(SmsPdu, DeliverFromAModemDecodesBehindItsSmscAddress) {
  // +CMT PDU: SMSC +491555500 first, then DELIVER with UDHI from +49155577777.
  auto pdu = from_hex(
      "07919451550500f0"
      "44"
      "0b91"
      "9451557777f7"
      "00"
      "04"
      "62102131000000"
      "07"
      "050003010202"
      "ff");
  ASSERT_TRUE(pdu);
  auto tpdu = skip_smsc_address(*pdu);
  ASSERT_TRUE(tpdu);
  auto d = decode_deliver(*tpdu);
  ASSERT_TRUE(d) << d.error().reason;
  EXPECT_EQ(d->originator, "+49155577777");
  EXPECT_EQ(to_hex(d->udh), "050003010202");
  EXPECT_EQ(d->data, Bytes{0xFF});
  auto encoded = encode_deliver(*d);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(to_hex(*encoded), to_hex(*tpdu));
}

TEST(SmsPdu, RefusesWhatIsNotEightBitOrDoesNotAddUp) {
  auto deliver = [](std::string_view hex) {
    auto b = from_hex(hex);
    return b ? decode_deliver(*b) : Result<Deliver>(b.error());
  };
  const std::string head =
      "04"
      "0b91"
      "9451557777f7"
      "00";
  const std::string scts = "62102131000000";
  EXPECT_TRUE(deliver(head + "04" + scts + "02" + "abcd"));
  EXPECT_FALSE(deliver(head + "00" + scts + "02" + "abcd"));  // GSM 7-bit
  EXPECT_FALSE(deliver(head + "08" + scts + "02" + "abcd"));  // UCS2
  EXPECT_FALSE(deliver(head + "24" + scts + "02" + "abcd"));  // compressed
  EXPECT_FALSE(deliver(head + "04" + scts + "03" + "abcd"));  // UDL past the end
  EXPECT_FALSE(deliver(head + "04" + scts + "01" + "abcd"));  // bytes after UD
  EXPECT_FALSE(deliver(head + "04" + scts));                  // no UDL
  EXPECT_FALSE(
      deliver("44"
              "0b91"
              "9451557777f7"
              "0004" +
              scts + "02" + "05ab"));  // UDH past UD
  EXPECT_FALSE(
      deliver("04"
              "0bd0"
              "9451557777f7"
              "0004" +
              scts + "00"));  // alphanumeric
  EXPECT_FALSE(
      deliver("04"
              "0b91"
              "9451557a77f7"
              "0004" +
              scts + "00"));  // not a digit
  EXPECT_FALSE(
      deliver("04"
              "0091"
              "0004" +
              scts + "00"));  // no digits
  EXPECT_FALSE(
      deliver("01"
              "00"));  // a SUBMIT
  EXPECT_FALSE(skip_smsc_address(Bytes{0x0C, 0x91}));
  EXPECT_FALSE(skip_smsc_address(Bytes{}));
}

TEST(SmsPdu, DataCodingSchemesAndClasses) {
  EXPECT_TRUE(is_8bit_data(0x04));
  EXPECT_TRUE(is_8bit_data(0xF6));  // class 2, 8-bit: data for the (U)SIM
  EXPECT_TRUE(is_8bit_data(0x16));
  EXPECT_FALSE(is_8bit_data(0xF2));
  EXPECT_FALSE(is_8bit_data(0xC4));  // message waiting groups are never data
  EXPECT_EQ(message_class(0xF6), 2);
  EXPECT_EQ(message_class(0x16), 2);
  EXPECT_EQ(message_class(0x04), std::nullopt);
}

TEST(SmsPdu, EncodeRefusesWhatNoSmsHolds) {
  Submit s;
  s.destination = "+49";
  s.data = Bytes(141, 0);
  EXPECT_FALSE(encode_submit(s));
  s.data = Bytes(10, 0);
  s.destination = "+49-1";
  EXPECT_FALSE(encode_submit(s));
  s.destination = "+491";
  s.dcs = 0x00;
  EXPECT_FALSE(encode_submit(s));
}

}  // namespace
}  // namespace tether::sms
