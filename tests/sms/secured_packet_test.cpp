// SMS Secured Packet Structure mode (Transport TS 5.4.2.1.2-3): command packets with AES-CBC
// and AES-CMAC, checked byte by byte against GnuTLS used directly; the counter rule; the
// software UICC's data formats.
#include "sms/secured_packet.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>

#include "sms/concatenation.hpp"
#include "sms/pdu.hpp"
#include "sms/secured_packet_peers.hpp"
#include "sms/short_message.hpp"
#include "sms/software_uicc.hpp"

namespace tether::sms {
namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

SecuredPacketKeys test_keys() {
  auto k = parse_sms_binding_keys(
      hex("121A1600B20203"),
      hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"));
  EXPECT_TRUE(k) << k.error().reason;
  return *k;
}

Bytes aes_cbc_decrypt(const Bytes& key, Bytes data) {
  std::array<std::uint8_t, 16> iv{};
  gnutls_datum_t k{const_cast<unsigned char*>(key.data()), static_cast<unsigned>(key.size())};
  gnutls_datum_t v{iv.data(), 16};
  gnutls_cipher_hd_t h = nullptr;
  EXPECT_EQ(gnutls_cipher_init(&h, GNUTLS_CIPHER_AES_128_CBC, &k, &v), 0);
  EXPECT_EQ(gnutls_cipher_decrypt(h, data.data(), data.size()), 0);
  gnutls_cipher_deinit(h);
  return data;
}

Bytes aes_cmac(const Bytes& key, const Bytes& data) {
  Bytes out(16);
  EXPECT_EQ(gnutls_hmac_fast(GNUTLS_MAC_AES_CMAC_128, key.data(), key.size(), data.data(),
                             data.size(), out.data()),
            0);
  return out;
}

TEST(SecuredPacket, GnutlsCmacIsRfc4493s) {
  // RFC 4493 4, example 2: what the checksum is built on.
  EXPECT_EQ(
      aes_cmac(hex("2b7e151628aed2a6abf7158809cf4f3c"), hex("6bc1bee22e409f96e93d7e117393172a")),
      hex("070a16b46b4d4144f79bdd9dd04a287c"));
}

TEST(SecuredPacket, ACommandPacketIsLaidOutAs31115Says) {
  const auto keys = test_keys();
  const Bytes coap = hex("4401ABCD0102B16431");
  auto packet = seal_command_packet(keys, 0x0102030405, coap);
  ASSERT_TRUE(packet) << packet.error().reason;
  const Bytes& p = *packet;
  // CNTR..CC is 14 octets; with tag, length and 9 octets of CoAP: 25, padded to 32.
  ASSERT_EQ(p.size(), 2u + 1 + 2 + 1 + 1 + 3 + 32);
  EXPECT_EQ((p[0] << 8) | p[1], static_cast<int>(p.size() - 2));           // CPL
  EXPECT_EQ(p[2], 21);                                                     // CHL
  EXPECT_EQ(Bytes(p.begin() + 3, p.begin() + 10), hex("1600121AB20203"));  // SPI KIc KID TAR
  const Bytes plain = aes_cbc_decrypt(keys.cipher_key, Bytes(p.begin() + 10, p.end()));
  EXPECT_EQ(Bytes(plain.begin(), plain.begin() + 5), hex("0102030405"));  // CNTR
  EXPECT_EQ(plain[5], 7);                                                 // PCNTR
  EXPECT_EQ(plain[14], 0x05);                                             // CoAP tag
  EXPECT_EQ(plain[15], coap.size());
  EXPECT_EQ(Bytes(plain.begin() + 16, plain.begin() + 25), coap);
  EXPECT_EQ(Bytes(plain.begin() + 25, plain.end()), Bytes(7, 0));
  // The checksum: 02 70 00, the clear header, CNTR, PCNTR, the padded secured data.
  Bytes in = hex("027000");
  in.insert(in.end(), p.begin(), p.begin() + 10);
  in.insert(in.end(), plain.begin(), plain.begin() + 6);
  in.insert(in.end(), plain.begin() + 14, plain.end());
  const Bytes cc = aes_cmac(keys.checksum_key, in);
  EXPECT_EQ(Bytes(plain.begin() + 6, plain.begin() + 14), Bytes(cc.begin(), cc.begin() + 8));
  // The same packet from tests/interop/sms/secured_packet.py (python3-cryptography).
  EXPECT_EQ(p, hex("0028151600121AB2020391D9FD8D93F9EF199C2299EAB0A0E765FC44DB31294253293507BA3F"
                   "AD256924"));
}

TEST(SecuredPacket, WhatIsSealedOpensWithTheSameKeysAndCounter) {
  const auto keys = test_keys();
  for (std::size_t n : {0u, 1u, 100u, 127u, 128u, 300u, 1100u}) {
    Bytes coap(n);
    for (std::size_t i = 0; i < n; ++i) coap[i] = static_cast<std::uint8_t>(i * 7);
    auto packet = seal_command_packet(keys, 42 + n, coap);
    ASSERT_TRUE(packet);
    auto opened = open_command_packet(keys, *packet, 41 + n);
    ASSERT_TRUE(std::holds_alternative<OpenedPacket>(opened)) << n;
    EXPECT_EQ(std::get<OpenedPacket>(opened).coap, coap);
    EXPECT_EQ(std::get<OpenedPacket>(opened).counter, 42 + n);
  }
}

PacketFault fault_of(const std::variant<OpenedPacket, PacketFault>& v) {
  EXPECT_TRUE(std::holds_alternative<PacketFault>(v));
  return std::holds_alternative<PacketFault>(v) ? std::get<PacketFault>(v) : PacketFault::kNoKeys;
}

TEST(SecuredPacket, WrongKeysTamperingAndOtherParametersAreRefused) {
  const auto keys = test_keys();
  auto packet = seal_command_packet(keys, 7, hex("40010001"));
  ASSERT_TRUE(packet);
  auto other = keys;
  other.cipher_key[0] ^= 1;
  EXPECT_EQ(fault_of(open_command_packet(other, *packet, std::nullopt)), PacketFault::kChecksum);
  other = keys;
  other.checksum_key[15] ^= 0x80;
  EXPECT_EQ(fault_of(open_command_packet(other, *packet, std::nullopt)), PacketFault::kChecksum);
  for (std::size_t at = 10; at < packet->size(); ++at) {
    Bytes t = *packet;
    t[at] ^= 0x01;
    EXPECT_NE(fault_of(open_command_packet(keys, t, std::nullopt)), PacketFault::kReplay) << at;
    EXPECT_FALSE(std::holds_alternative<OpenedPacket>(open_command_packet(keys, t, std::nullopt)));
  }
  Bytes t = *packet;
  t[9] ^= 0x01;  // TAR
  EXPECT_EQ(fault_of(open_command_packet(keys, t, std::nullopt)), PacketFault::kWrongParameters);
  t = *packet;
  t[5] = 0x22;  // KIc: another key version
  EXPECT_EQ(fault_of(open_command_packet(keys, t, std::nullopt)), PacketFault::kWrongParameters);
  t = *packet;
  t.pop_back();
  EXPECT_EQ(fault_of(open_command_packet(keys, t, std::nullopt)), PacketFault::kMalformed);
  EXPECT_EQ(fault_of(open_command_packet(keys, Bytes(5, 0), std::nullopt)),
            PacketFault::kMalformed);
}

TEST(SecuredPacket, ACounterNotAboveTheLastIsAReplay) {
  const auto keys = test_keys();
  auto packet = seal_command_packet(keys, 1000, hex("40010001"));
  ASSERT_TRUE(packet);
  EXPECT_EQ(fault_of(open_command_packet(keys, *packet, 1000)), PacketFault::kReplay);
  EXPECT_EQ(fault_of(open_command_packet(keys, *packet, 5000)), PacketFault::kReplay);
  EXPECT_TRUE(std::holds_alternative<OpenedPacket>(open_command_packet(keys, *packet, 999)));
}

TEST(SecuredPacket, CountersGrowAcrossARestartThatForgotThem) {
  EXPECT_EQ(next_counter(std::nullopt, 1'000'000), 100'000u);
  EXPECT_EQ(next_counter(100'000, 1'000'000), 100'001u);  // faster than the clock
  EXPECT_EQ(next_counter(5, 1'000'000), 100'000u);
  // A counter that ran out seals nothing.
  EXPECT_FALSE(
      seal_command_packet(test_keys(), next_counter(kMaxCounter, 1'000'000) + 1, hex("40010001")));
}

TEST(SecuredPacket, KeyParametersMustAskForAesChecksumCipheringAndACounter) {
  const Bytes secret(32, 0x11);
  EXPECT_TRUE(parse_sms_binding_keys(hex("121A1600B20203"), secret));
  EXPECT_FALSE(parse_sms_binding_keys(hex("121A1600B202"), secret));         // 6 octets
  EXPECT_FALSE(parse_sms_binding_keys(hex("111A1600B20203"), secret));       // KIc: DES
  EXPECT_FALSE(parse_sms_binding_keys(hex("12121600B20203"), secret));       // KID: not CMAC
  EXPECT_FALSE(parse_sms_binding_keys(hex("121A1200B20203"), secret));       // no ciphering
  EXPECT_FALSE(parse_sms_binding_keys(hex("121A0600B20203"), secret));       // no counter
  EXPECT_FALSE(parse_sms_binding_keys(hex("121A0E00B20203"), secret));       // counter not checked
  EXPECT_FALSE(parse_sms_binding_keys(hex("121A1600B20203"), Bytes(16)));    // one key
  EXPECT_TRUE(parse_sms_binding_keys(hex("121A1600B20203"), Bytes(64, 1)));  // AES-256
}

TEST(SecuredPacket, TheCommandPacketElementLeadsTheFirstSmsOnly) {
  const std::vector<InformationElement> cpi{{kCommandPacketIei, {}}};
  auto one = split(Bytes(137, 1), 9, cpi);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].udh, hex("027000"));
  auto many = split(Bytes(400, 2), 9, cpi);
  ASSERT_TRUE(many);
  ASSERT_EQ(many->size(), 3u);
  EXPECT_EQ((*many)[0].udh, hex("0770000003090301"));
  EXPECT_EQ((*many)[1].udh, hex("050003090302"));
  Reassembler r;
  std::optional<Bytes> whole;
  for (const auto& s : *many) {
    EXPECT_LE(s.udh.size() + s.data.size(), kMaxUserData);
    whole = r.add("+1", s.udh, s.data, Instant{});
  }
  EXPECT_EQ(whole, Bytes(400, 2));
}

struct CardAndServer {
  CardAndServer()
      : card([this](const std::string& n) { return lookup(n); }, [] { return 5'000; }),
        server([this](const std::string& n) { return lookup(n); }, [] { return 9'000; }) {}
  std::optional<SecuredPacketKeys> lookup(const std::string& number) const {
    if (!same_msisdn(number, "+1000") && !same_msisdn(number, "+2000")) return std::nullopt;
    return test_keys();
  }
  SoftwareUicc card;
  SecuredPacketPeers server;
};

TEST(SoftwareUicc, HandsTheClientTheSenderAndTheCoapMessage) {
  CardAndServer t;
  const Bytes request = hex("4401ABCD");
  auto packet = t.server.protect("+2000", request);
  ASSERT_TRUE(packet);
  EXPECT_EQ(t.card.download("+1000", *packet), std::nullopt);
  auto data = t.card.get_data();
  ASSERT_TRUE(data);
  // TP-OA (4 digits, international), CoAP tag, 16-bit length, the message.
  EXPECT_EQ(*data, hex("0491"
                       "0100"
                       "05"
                       "0004"
                       "4401ABCD"));
  EXPECT_FALSE(t.card.get_data());
  // The same packet again is a replay; from a number without keys it is nobody's.
  EXPECT_EQ(t.card.download("+1000", *packet), PacketFault::kReplay);
  EXPECT_EQ(t.card.download("+3000", *packet), PacketFault::kNoKeys);
  // Nor under another way of writing the same number.
  EXPECT_EQ(t.card.download("001000", *packet), PacketFault::kReplay);
  EXPECT_EQ(t.card.download("1000", *packet), PacketFault::kReplay);
}

TEST(SoftwareUicc, SealsWhatTheClientStoresForTheNumberItNames) {
  CardAndServer t;
  auto data = encode_uicc_data("+1000", hex("6445ABCD"));
  ASSERT_TRUE(data);
  auto out = t.card.store_data(*data);
  ASSERT_TRUE(out) << out.error().reason;
  EXPECT_EQ(out->to, "+1000");
  auto opened = t.server.unprotect("+2000", out->packet);
  ASSERT_TRUE(std::holds_alternative<Bytes>(opened));
  EXPECT_EQ(std::get<Bytes>(opened), hex("6445ABCD"));
  EXPECT_FALSE(t.card.store_data(*encode_uicc_data("+3000", hex("40"))));
  EXPECT_FALSE(t.card.store_data(hex("0491010005")));  // cut short
}

TEST(SoftwareUicc, KeepsAtMostItsInboxOfUnfetchedMessages) {
  CardAndServer t;
  for (int i = 0; i < 20; ++i) {
    auto packet = t.server.protect("+2000", Bytes{static_cast<std::uint8_t>(i)});
    ASSERT_TRUE(packet);
    ASSERT_EQ(t.card.download("+1000", *packet), std::nullopt);
  }
  int fetched = 0;
  while (t.card.get_data()) ++fetched;
  EXPECT_EQ(fetched, static_cast<int>(SoftwareUicc::kInboxSize));
}

}  // namespace
}  // namespace tether::sms
