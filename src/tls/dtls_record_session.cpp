#include "tls/dtls_record_session.hpp"

#include <algorithm>
#include <string>

#include "oscore/crypto.hpp"

namespace tether::tls {

namespace {

constexpr std::uint16_t kDtls12 = 0xfefd;  // RFC 6347 4.1: {254, 253}
constexpr std::size_t kExplicitNonce = 8;  // RFC 6655 3
constexpr std::size_t kTag = 8;            // CCM_8
constexpr std::uint64_t kLastSequence = (std::uint64_t{1} << 48) - 1;

void put_be(std::uint8_t* at, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) {
    at[i] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
  }
}

std::uint64_t get_be(const std::uint8_t* at, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | at[i];
  return v;
}

// RFC 5246 6.2.3.3 with RFC 6347 4.1.2.1: the sequence number is epoch || sequence.
std::array<std::uint8_t, 13> additional_data(std::uint8_t type, std::uint16_t epoch,
                                             std::uint64_t sequence, std::size_t length) {
  std::array<std::uint8_t, 13> aad{};
  put_be(aad.data(), epoch, 2);
  put_be(aad.data() + 2, sequence, 6);
  aad[8] = type;
  put_be(aad.data() + 9, kDtls12, 2);
  put_be(aad.data() + 11, length, 2);
  return aad;
}

}  // namespace

std::optional<DtlsRecordHeader> DtlsRecordHeader::parse(ByteView b) {
  if (b.size() < kSize) return std::nullopt;
  DtlsRecordHeader h;
  h.type = b[0];
  h.version = static_cast<std::uint16_t>(get_be(b.data() + 1, 2));
  h.epoch = static_cast<std::uint16_t>(get_be(b.data() + 3, 2));
  h.sequence = get_be(b.data() + 5, 6);
  h.length = static_cast<std::uint16_t>(get_be(b.data() + 11, 2));
  return h;
}

DtlsRecordSession::DtlsRecordSession(DtlsKeys keys, PeerIdentity identity)
    : keys_(keys), identity_(std::move(identity)) {}

std::optional<Bytes> DtlsRecordSession::pop(std::vector<Bytes>& q) {
  if (q.empty()) return std::nullopt;
  Bytes b = std::move(q.front());
  q.erase(q.begin());
  return b;
}

bool DtlsRecordSession::fresh(std::uint64_t sequence) const {
  if (sequence > keys_.read_highest) return true;
  const std::uint64_t behind = keys_.read_highest - sequence;
  if (behind >= 64) return false;
  return (keys_.read_window & (std::uint64_t{1} << behind)) == 0;
}

void DtlsRecordSession::accept(std::uint64_t sequence) {
  if (sequence > keys_.read_highest) {
    const std::uint64_t ahead = sequence - keys_.read_highest;
    keys_.read_window = ahead >= 64 ? 0 : keys_.read_window << ahead;
    keys_.read_window |= 1;
    keys_.read_highest = sequence;
    return;
  }
  keys_.read_window |= std::uint64_t{1} << (keys_.read_highest - sequence);
}

void DtlsRecordSession::feed(ByteView datagram, Instant) {
  // A datagram may hold several records (RFC 6347 4.1.1); each stands alone.
  std::size_t at = 0;
  while (state_ == State::kEstablished) {
    auto header = DtlsRecordHeader::parse(datagram.subspan(at));
    if (!header || datagram.size() - at - DtlsRecordHeader::kSize < header->length) return;
    const ByteView body = datagram.subspan(at + DtlsRecordHeader::kSize, header->length);
    at += DtlsRecordHeader::kSize + header->length;
    // Another epoch (an old handshake's, a new hello's) or a short record: not ours to open.
    if (header->version != kDtls12 || header->epoch != keys_.epoch ||
        body.size() < kExplicitNonce + kTag || !fresh(header->sequence)) {
      continue;
    }
    std::array<std::uint8_t, 12> nonce{};
    std::copy(keys_.read_salt.begin(), keys_.read_salt.end(), nonce.begin());
    std::copy_n(body.begin(), kExplicitNonce, nonce.begin() + 4);
    const auto aad = additional_data(header->type, header->epoch, header->sequence,
                                     body.size() - kExplicitNonce - kTag);
    auto plaintext = oscore::aead_decrypt(keys_.read_key, nonce, aad, body.subspan(kExplicitNonce));
    // Forged or damaged, or more than a record may hold (RFC 5246 6.2.1): dropped, and the
    // session lives on.
    if (!plaintext || plaintext->size() > 16384) continue;
    accept(header->sequence);
    if (header->type == record_type::kApplicationData) {
      // An empty record carries nothing, and must not keep an idle session alive.
      if (!plaintext->empty()) plaintext_.push_back(std::move(*plaintext));
    } else if (header->type == record_type::kAlert) {
      on_alert(*plaintext);
    }
    // Handshake or ChangeCipherSpec under the session's keys: a renegotiation we do not
    // take up, or a late copy of the peer's last flight. Dropped.
  }
}

void DtlsRecordSession::on_alert(ByteView alert) {
  if (alert.size() != 2) return;
  const std::uint8_t level = alert[0];
  const std::uint8_t description = alert[1];
  if (description == alert::kCloseNotify) {
    state_ = State::kClosed;
    failure_ =
        Failure{Recovery::kRetry, alert::kCloseNotify, std::nullopt, "the peer closed the session"};
    return;
  }
  if (level == 1) return;  // a warning: the session goes on (any other level is fatal)
  state_ = State::kFailed;
  failure_ = Failure{recovery_for_alert(description), description, std::nullopt,
                     "the peer sent alert " + std::to_string(description)};
}

Result<Bytes> DtlsRecordSession::seal(std::uint8_t type, ByteView plaintext) {
  // RFC 6347 4.1: a sequence number is never used twice under one epoch's keys; past the
  // last one the session ends (a new handshake makes new keys).
  if (keys_.write_sequence > kLastSequence) {
    state_ = State::kFailed;
    failure_ = Failure{Recovery::kRetry, std::nullopt, std::nullopt,
                       "the record sequence numbers ran out"};
    return fail(failure_.reason);
  }
  if (plaintext.size() > std::min<std::size_t>(keys_.max_plaintext, 16384)) {
    return fail("more than one record may carry");
  }
  const std::uint64_t sequence = keys_.write_sequence++;
  Bytes record(DtlsRecordHeader::kSize + kExplicitNonce + plaintext.size() + kTag);
  record[0] = type;
  put_be(record.data() + 1, kDtls12, 2);
  put_be(record.data() + 3, keys_.epoch, 2);
  put_be(record.data() + 5, sequence, 6);
  put_be(record.data() + 11, record.size() - DtlsRecordHeader::kSize, 2);
  // The explicit nonce is the record's own epoch and sequence number: unique per key.
  std::uint8_t* explicit_nonce = record.data() + DtlsRecordHeader::kSize;
  std::copy_n(record.data() + 3, kExplicitNonce, explicit_nonce);
  std::array<std::uint8_t, 12> nonce{};
  std::copy(keys_.write_salt.begin(), keys_.write_salt.end(), nonce.begin());
  std::copy_n(explicit_nonce, kExplicitNonce, nonce.begin() + 4);
  const auto aad = additional_data(type, keys_.epoch, sequence, plaintext.size());
  if (auto ok = oscore::ccm8_seal_into(
          keys_.write_key, nonce, aad, plaintext,
          std::span<std::uint8_t>(explicit_nonce + kExplicitNonce, plaintext.size() + kTag));
      !ok) {
    return ok.error();
  }
  return record;
}

Result<Ok> DtlsRecordSession::write(ByteView plaintext) {
  if (state_ != State::kEstablished) return fail("the session is not established");
  auto record = seal(record_type::kApplicationData, plaintext);
  if (!record) return record.error();
  out_.push_back(std::move(*record));
  return Ok{};
}

void DtlsRecordSession::close() {
  if (state_ == State::kEstablished) {
    const std::uint8_t close_notify[2] = {1, alert::kCloseNotify};  // warning level
    if (auto record = seal(record_type::kAlert, ByteView(close_notify, 2))) {
      out_.push_back(std::move(*record));
    }
  }
  state_ = State::kClosed;
  failure_.reason = "closed by us";
}

}  // namespace tether::tls
