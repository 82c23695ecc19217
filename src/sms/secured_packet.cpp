#include "sms/secured_packet.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <initializer_list>

namespace tether::sms {

namespace {
constexpr std::size_t kBlock = 16;
constexpr std::size_t kChecksumSize = 8;  // 102 225 5.1: AES-CMAC cut to 8 octets
// CHL: SPI(2) KIc(1) KID(1) TAR(3) CNTR(5) PCNTR(1) CC(8).
constexpr std::size_t kHeaderLength = 2 + 1 + 1 + 3 + 5 + 1 + kChecksumSize;
// CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3): the part that stays in the clear.
constexpr std::size_t kClearPart = 2 + 1 + 2 + 1 + 1 + 3;
// Transport TS 5.4.2.1.3 leaves the tag of the secured application message open ("e.g.
// 0x05"); we use 0x05.
constexpr std::uint8_t kCoapTag = 0x05;
// 31.115 6.2: the header of a single SMS holding only the command packet element: UDHL,
// IEIa, IEIDLa.
constexpr std::array<std::uint8_t, 3> kCommandPacketHeader{0x02, kCommandPacketIei, 0x00};

bool is_aes_cbc(std::uint8_t kic) {
  return (kic & 0x03) == 0x02 && (kic & 0x0C) == 0x00;
}
bool is_aes_cmac(std::uint8_t kid) {
  return (kid & 0x03) == 0x02 && (kid & 0x0C) == 0x08;
}
// SPI first octet b2b1 10: cryptographic checksum; b3: ciphering; b5b4: counter policy.
bool checks_and_ciphers(std::uint8_t spi1) {
  return (spi1 & 0x03) == 0x02 && (spi1 & 0x04) != 0;
}
int counter_policy(std::uint8_t spi1) {
  return (spi1 >> 3) & 0x03;
}

gnutls_cipher_algorithm_t cipher_for(std::size_t key_size) {
  return key_size == 32 ? GNUTLS_CIPHER_AES_256_CBC : GNUTLS_CIPHER_AES_128_CBC;
}
gnutls_mac_algorithm_t cmac_for(std::size_t key_size) {
  return key_size == 32 ? GNUTLS_MAC_AES_CMAC_256 : GNUTLS_MAC_AES_CMAC_128;
}

// AES-CBC with a zero initial chaining value (102 225 5.1), in place; `data` is whole blocks.
bool cbc(const Bytes& key, Bytes& data, bool encrypt) {
  std::array<std::uint8_t, kBlock> iv{};
  gnutls_datum_t k{const_cast<unsigned char*>(key.data()), static_cast<unsigned>(key.size())};
  gnutls_datum_t v{iv.data(), static_cast<unsigned>(iv.size())};
  gnutls_cipher_hd_t h = nullptr;
  if (gnutls_cipher_init(&h, cipher_for(key.size()), &k, &v) < 0) return false;
  const int rc = encrypt ? gnutls_cipher_encrypt(h, data.data(), data.size())
                         : gnutls_cipher_decrypt(h, data.data(), data.size());
  gnutls_cipher_deinit(h);
  return rc >= 0;
}

// The checksum of 31.115 over `parts` in order: 02 70 00 (the header of a single SMS that
// holds only the command packet element), the clear header, CNTR and PCNTR, the padded
// secured data.
std::optional<std::array<std::uint8_t, kChecksumSize>> checksum(
    const Bytes& key, std::initializer_list<ByteView> parts) {
  gnutls_hmac_hd_t h = nullptr;
  if (gnutls_hmac_init(&h, cmac_for(key.size()), key.data(), key.size()) < 0) return std::nullopt;
  bool ok = gnutls_hmac(h, kCommandPacketHeader.data(), kCommandPacketHeader.size()) >= 0;
  for (ByteView part : parts) ok = ok && gnutls_hmac(h, part.data(), part.size()) >= 0;
  std::array<std::uint8_t, kBlock> full{};
  gnutls_hmac_deinit(h, full.data());
  if (!ok) return std::nullopt;
  std::array<std::uint8_t, kChecksumSize> out{};
  std::copy_n(full.begin(), kChecksumSize, out.begin());
  return out;
}

void put_counter(Bytes& out, std::uint64_t counter) {
  for (int shift = 32; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(counter >> shift));
  }
}

// BER-TLV length (ISO 7816-4): one octet below 128, else 81 xx or 82 xx xx.
void put_ber_length(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xFF) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
  }
}

}  // namespace

Result<SecuredPacketKeys> parse_sms_binding_keys(ByteView parameters, ByteView secret) {
  if (parameters.size() != 7) {
    return fail("SMS Binding Key Parameters hold KIc, KID, SPI (2) and TAR (3): 7 octets");
  }
  SecuredPacketKeys k;
  k.kic = parameters[0];
  k.kid = parameters[1];
  k.spi = {parameters[2], parameters[3]};
  k.tar = {parameters[4], parameters[5], parameters[6]};
  if (!is_aes_cbc(k.kic)) return fail("KIc must name AES in CBC mode");
  if (!is_aes_cmac(k.kid)) return fail("KID must name AES in CMAC mode");
  if (!checks_and_ciphers(k.spi[0])) return fail("SPI must ask for a checksum and ciphering");
  // 5.4.2.1.3: "higher than" (10). "Exactly one higher" (11) would refuse every packet
  // after a lost one, and our counters follow the clock.
  if (counter_policy(k.spi[0]) != 2) return fail("SPI must ask for a counter that grows (16)");
  if (secret.size() != 32 && secret.size() != 64) {
    return fail("SMS Binding Secret Keys: two AES keys of 16 (or 32) octets");
  }
  const std::size_t half = secret.size() / 2;
  k.cipher_key.assign(secret.begin(), secret.begin() + static_cast<std::ptrdiff_t>(half));
  k.checksum_key.assign(secret.begin() + static_cast<std::ptrdiff_t>(half), secret.end());
  return k;
}

Result<Bytes> seal_command_packet(const SecuredPacketKeys& keys, std::uint64_t counter,
                                  ByteView coap) {
  if (counter > kMaxCounter) return fail("the counter has run out");
  if (keys.cipher_key.size() != 16 && keys.cipher_key.size() != 32) {
    return fail("no AES key for ciphering");
  }
  if (coap.size() > 0xFF00) return fail("message too long for one command packet");
  Bytes length;
  put_ber_length(length, coap.size());
  const std::size_t data_size = 1 + length.size() + coap.size();
  // Padding to whole blocks over CNTR, PCNTR, CC and the secured data.
  const std::size_t ciphered = 5 + 1 + kChecksumSize + data_size;
  const std::size_t padding = (kBlock - ciphered % kBlock) % kBlock;
  // Sized first, then filled: the padding stays zero.
  Bytes secured(data_size + padding, 0x00);
  secured.at(0) = kCoapTag;
  std::copy(length.begin(), length.end(), secured.begin() + 1);
  std::copy(coap.begin(), coap.end(),
            secured.begin() + 1 + static_cast<std::ptrdiff_t>(length.size()));
  const std::size_t cpl = 1 + kHeaderLength + secured.size();  // under 0xFFFF: see above

  Bytes clear;
  clear.push_back(static_cast<std::uint8_t>(cpl >> 8));
  clear.push_back(static_cast<std::uint8_t>(cpl));
  clear.push_back(static_cast<std::uint8_t>(kHeaderLength));
  clear.insert(clear.end(), keys.spi.begin(), keys.spi.end());
  clear.push_back(keys.kic);
  clear.push_back(keys.kid);
  clear.insert(clear.end(), keys.tar.begin(), keys.tar.end());
  Bytes counter_and_pcntr;
  put_counter(counter_and_pcntr, counter);
  counter_and_pcntr.push_back(static_cast<std::uint8_t>(padding));

  auto cc = checksum(keys.checksum_key, {clear, counter_and_pcntr, secured});
  if (!cc) return fail("AES-CMAC failed");
  Bytes body;
  body.reserve(counter_and_pcntr.size() + cc->size() + secured.size());
  body.insert(body.end(), counter_and_pcntr.begin(), counter_and_pcntr.end());
  body.insert(body.end(), cc->begin(), cc->end());
  body.insert(body.end(), secured.begin(), secured.end());
  if (!cbc(keys.cipher_key, body, true)) return fail("AES-CBC failed");
  clear.insert(clear.end(), body.begin(), body.end());
  return clear;
}

std::variant<OpenedPacket, PacketFault> open_command_packet(
    const SecuredPacketKeys& keys, ByteView packet, std::optional<std::uint64_t> last_counter) {
  if (packet.size() < kClearPart + kBlock) return PacketFault::kMalformed;
  const std::size_t cpl = (std::size_t{packet[0]} << 8) | packet[1];
  if (cpl + 2 != packet.size() || packet[2] != kHeaderLength) return PacketFault::kMalformed;
  const ByteView clear = packet.first(kClearPart);
  if (clear[3] != keys.spi[0] || clear[4] != keys.spi[1] || clear[5] != keys.kic ||
      clear[6] != keys.kid || !std::equal(keys.tar.begin(), keys.tar.end(), clear.begin() + 7)) {
    return PacketFault::kWrongParameters;
  }
  Bytes body(packet.begin() + kClearPart, packet.end());
  if (body.size() % kBlock != 0) return PacketFault::kMalformed;
  if (!cbc(keys.cipher_key, body, false)) return PacketFault::kMalformed;
  const std::size_t padding = body[5];
  constexpr std::size_t kFixed = 5 + 1 + kChecksumSize;
  if (padding >= kBlock || kFixed + padding > body.size()) return PacketFault::kChecksum;
  const ByteView view(body);
  const ByteView secured = view.subspan(kFixed);
  auto cc = checksum(keys.checksum_key, {clear, view.first(6), secured});
  if (!cc || !same_secret(
                 std::string_view(reinterpret_cast<const char*>(cc->data()), cc->size()),
                 std::string_view(reinterpret_cast<const char*>(body.data() + 6), kChecksumSize))) {
    return PacketFault::kChecksum;
  }
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < 5; ++i) counter = (counter << 8) | body[i];
  // 102 225 5.2.1: b5b4 10, "higher than" (the only policy parse_sms_binding_keys takes).
  if (last_counter && counter <= *last_counter) return PacketFault::kReplay;
  // The secured application message: tag, BER length, the CoAP message, then padding.
  const ByteView data = secured.first(secured.size() - padding);
  if (data.size() < 2 || data[0] != kCoapTag) return PacketFault::kMalformed;
  std::size_t length = data[1];
  std::size_t at = 2;
  if (length == 0x81 || length == 0x82) {
    const std::size_t n = length == 0x81 ? 1 : 2;
    if (data.size() < 2 + n) return PacketFault::kMalformed;
    length = n == 1 ? data[2] : (std::size_t{data[2]} << 8) | data[3];
    at += n;
  } else if (length > 0x80) {
    return PacketFault::kMalformed;
  }
  if (data.size() - at != length) return PacketFault::kMalformed;
  return OpenedPacket{Bytes(data.begin() + static_cast<std::ptrdiff_t>(at), data.end()), counter};
}

std::uint64_t next_counter(std::optional<std::uint64_t> last, std::uint64_t unix_ms) {
  const std::uint64_t clock = std::min<std::uint64_t>(unix_ms / 10, kMaxCounter);
  if (!last) return clock;
  return std::max(clock, std::min(*last + 1, kMaxCounter));
}

const char* fault_name(PacketFault f) {
  switch (f) {
    case PacketFault::kNoKeys:
      return "no_keys";
    case PacketFault::kMalformed:
      return "malformed";
    case PacketFault::kWrongParameters:
      return "wrong_parameters";
    case PacketFault::kChecksum:
      return "bad_checksum";
    case PacketFault::kReplay:
      return "replayed";
  }
  return "?";
}

}  // namespace tether::sms
