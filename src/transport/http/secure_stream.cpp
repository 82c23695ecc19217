#include "transport/http/secure_stream.hpp"

#include <algorithm>

namespace tether::transport {

namespace {
// TLS 1.2 (RFC 5246 6.2.1): a record carries at most 2^14 bytes of plaintext.
constexpr std::size_t kMaxRecord = 16 * 1024;
}  // namespace

SecureStream::SecureStream(std::unique_ptr<tls::Session> session) : session_(std::move(session)) {}

void SecureStream::start(Instant now) {
  if (!session_) return;
  session_->start(now);
  collect();
}

void SecureStream::from_socket(std::string_view bytes, Instant now, std::string& plaintext) {
  if (!session_) {
    plaintext.append(bytes);
    return;
  }
  session_->feed(ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now);
  while (auto p = session_->poll_plaintext()) {
    plaintext.append(reinterpret_cast<const char*>(p->data()), p->size());
  }
  collect();
}

std::size_t SecureStream::to_socket(std::string_view plaintext) {
  if (!session_) {
    wire_.append(plaintext);
    return plaintext.size();
  }
  if (session_->state() != tls::Session::State::kEstablished) return 0;
  std::size_t taken = 0;
  while (taken < plaintext.size()) {
    const std::size_t n = std::min(kMaxRecord, plaintext.size() - taken);
    const auto* at = reinterpret_cast<const std::uint8_t*>(plaintext.data() + taken);
    if (!session_->write(ByteView(at, n))) break;
    taken += n;
  }
  collect();
  return taken;
}

void SecureStream::wrote(std::size_t n) {
  wire_sent_ = std::min(wire_.size(), wire_sent_ + n);
  if (wire_sent_ == wire_.size()) {
    wire_.clear();
    wire_sent_ = 0;
  }
}

bool SecureStream::ready() const {
  return !session_ || session_->state() == tls::Session::State::kEstablished;
}

bool SecureStream::failed() const {
  if (!session_) return false;
  const auto s = session_->state();
  return s == tls::Session::State::kFailed || s == tls::Session::State::kClosed;
}

std::string SecureStream::failure() const {
  if (!session_) return {};
  return session_->failure().describe();
}

std::optional<Instant> SecureStream::deadline() const {
  return session_ ? session_->deadline() : std::nullopt;
}

void SecureStream::on_timer(Instant now) {
  if (!session_) return;
  session_->on_timer(now);
  collect();
}

const tls::PeerIdentity* SecureStream::identity() const {
  if (!session_ || session_->state() != tls::Session::State::kEstablished) return nullptr;
  return &session_->peer_identity();
}

void SecureStream::collect() {
  while (auto out = session_->poll_output()) {
    wire_.append(reinterpret_cast<const char*>(out->data()), out->size());
  }
}

}  // namespace tether::transport
