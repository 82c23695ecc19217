#pragma once
// An established DTLS 1.2 session carried on by its record keys alone (RFC 6347 4.1), for
// the AES-128-CCM-8 suites of Transport TS 5.2.9 (RFC 6655, RFC 7251). Once both sides are
// past the handshake, a backend's session hands over its keys, sequence numbers and
// identity and is freed: GnuTLS keeps about 13 KB per session, this keeps a few hundred
// bytes. (Moving the keys to another worker or node must end this session first: two
// copies writing would use one nonce twice.)
//
// It protects application data and alerts; handshake and ChangeCipherSpec records of the
// current epoch are dropped (no renegotiation), as are records that fail the replay window
// or the tag (RFC 6347 4.1.2.7: silently).
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tls/session.hpp"

namespace tether::tls {

struct DtlsKeys {
  std::array<std::uint8_t, 16> read_key{};
  std::array<std::uint8_t, 16> write_key{};
  // RFC 6655 3: the 4-byte implicit part of each direction's nonce (client/server_write_IV).
  std::array<std::uint8_t, 4> read_salt{};
  std::array<std::uint8_t, 4> write_salt{};
  std::uint16_t epoch = 0;
  std::uint64_t write_sequence = 0;  // the next record's, 48 bits
  // RFC 6347 4.1.2.6: the highest sequence number accepted, and a 64-record window below
  // it (bit i: highest - i was accepted).
  std::uint64_t read_highest = 0;
  std::uint64_t read_window = 0;
  // The most plaintext one record carries: what the handshake settled (RFC 6066
  // max_fragment_length, RFC 8449 record_size_limit) and the path MTU allow, as GnuTLS
  // enforced it before.
  std::size_t max_plaintext = 16384;
};

class DtlsRecordSession final : public Session {
 public:
  DtlsRecordSession(DtlsKeys keys, PeerIdentity identity);

  void start(Instant) override {}
  void feed(ByteView datagram, Instant now) override;
  void on_timer(Instant) override {}
  Result<Ok> write(ByteView plaintext) override;
  void close() override;
  std::optional<Bytes> poll_output() override { return pop(out_); }
  std::optional<Bytes> poll_plaintext() override { return pop(plaintext_); }
  std::optional<Instant> deadline() const override { return std::nullopt; }
  State state() const override { return state_; }
  const Failure& failure() const override { return failure_; }
  const PeerIdentity& peer_identity() const override { return identity_; }
  Bytes resumption_data() const override { return {}; }

 private:
  static std::optional<Bytes> pop(std::vector<Bytes>& q);
  // The record of `type` holding `plaintext`, sealed with the next sequence number.
  Result<Bytes> seal(std::uint8_t type, ByteView plaintext);
  bool fresh(std::uint64_t sequence) const;
  void accept(std::uint64_t sequence);
  void on_alert(ByteView alert);

  DtlsKeys keys_;
  PeerIdentity identity_;
  State state_ = State::kEstablished;
  Failure failure_;
  // Usually empty or one record: vectors allocate nothing while empty.
  std::vector<Bytes> out_;
  std::vector<Bytes> plaintext_;
};

// A DTLS record header (RFC 6347 4.1): type, version, epoch and sequence number, length.
struct DtlsRecordHeader {
  static constexpr std::size_t kSize = 13;
  std::uint8_t type = 0;
  std::uint16_t version = 0;
  std::uint16_t epoch = 0;
  std::uint64_t sequence = 0;  // 48 bits
  std::uint16_t length = 0;
  // The header at the start of `bytes`, if there are 13 bytes.
  static std::optional<DtlsRecordHeader> parse(ByteView bytes);
};

namespace record_type {
inline constexpr std::uint8_t kChangeCipherSpec = 20;
inline constexpr std::uint8_t kAlert = 21;
inline constexpr std::uint8_t kHandshake = 22;
inline constexpr std::uint8_t kApplicationData = 23;
}  // namespace record_type

}  // namespace tether::tls
