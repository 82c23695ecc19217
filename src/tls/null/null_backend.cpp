#include "tls/null/null_backend.hpp"

#include <array>
#include <deque>

namespace tether::tls {

namespace {

constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kData = 23;
constexpr std::size_t kHeader = 13;

// A DTLS-shaped record: type, version, zero epoch and sequence, length, body.
Bytes frame(std::uint8_t type, ByteView body) {
  const std::array<std::uint8_t, kHeader> header{type,
                                                 254,
                                                 253,
                                                 0,
                                                 0,
                                                 0,
                                                 0,
                                                 0,
                                                 0,
                                                 0,
                                                 0,
                                                 static_cast<std::uint8_t>(body.size() >> 8),
                                                 static_cast<std::uint8_t>(body.size() & 0xff)};
  Bytes out(header.begin(), header.end());
  for (auto b : body) out.push_back(b);
  return out;
}

class NullSession final : public Session {
 public:
  NullSession(Role role, const ServerCredentials* server, ClientCredentials client)
      : role_(role), server_(server), client_(std::move(client)) {}

  void start(Instant) override {
    Bytes hello{1};  // ClientHello
    hello.insert(hello.end(), client_.psk_identity.begin(), client_.psk_identity.end());
    out_.push_back(frame(kHandshake, hello));
  }
  void feed(ByteView bytes, Instant) override {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    while (buffer_.size() >= kHeader) {
      const std::size_t len = (std::size_t{buffer_[11]} << 8) | buffer_[12];
      if (buffer_.size() < kHeader + len) return;
      Bytes body(buffer_.begin() + kHeader, buffer_.begin() + static_cast<long>(kHeader + len));
      const std::uint8_t type = buffer_[0];
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(kHeader + len));
      on_record(type, body);
    }
  }
  void on_timer(Instant) override {}
  Result<Ok> write(ByteView plaintext) override {
    if (state_ != State::kEstablished) return fail("not established");
    out_.push_back(frame(kData, plaintext));
    return Ok{};
  }
  void close() override {
    if (state_ == State::kEstablished) out_.push_back(frame(kAlert, Bytes{1, alert::kCloseNotify}));
    state_ = State::kClosed;
  }
  std::optional<Bytes> poll_output() override { return pop(out_); }
  std::optional<Bytes> poll_plaintext() override { return pop(plaintext_); }
  std::optional<Instant> deadline() const override { return std::nullopt; }
  State state() const override { return state_; }
  const Failure& failure() const override { return failure_; }
  const PeerIdentity& peer_identity() const override { return identity_; }
  Bytes resumption_data() const override { return {}; }

 private:
  void on_record(std::uint8_t type, const Bytes& body) {
    if (type == kData && state_ == State::kEstablished) {
      plaintext_.push_back(body);
    } else if (type == kAlert && body.size() == 2) {
      state_ = body[1] == alert::kCloseNotify ? State::kClosed : State::kFailed;
      failure_ = Failure{recovery_for_alert(body[1]), body[1], std::nullopt, "alert received"};
    } else if (type == kHandshake && !body.empty() && body[0] == 1 && role_ == Role::kServer &&
               state_ == State::kHandshaking) {
      const ByteView identity(body.data() + 1, body.size() - 1);
      if (!server_->psk_key_for || !server_->psk_key_for(identity)) {
        out_.push_back(frame(kAlert, Bytes{2, alert::kUnknownPskIdentity}));
        state_ = State::kFailed;
        failure_ = Failure{Recovery::kFail, std::nullopt, alert::kUnknownPskIdentity,
                           "unknown PSK identity"};
        return;
      }
      identity_.kind = PeerIdentity::Kind::kPsk;
      identity_.psk_identity = to_string(identity);
      identity_.cipher_suite = "NULL";
      state_ = State::kEstablished;
      out_.push_back(frame(kHandshake, Bytes{2}));
    } else if (type == kHandshake && body == Bytes{2} && role_ == Role::kClient &&
               state_ == State::kHandshaking) {
      identity_.kind = PeerIdentity::Kind::kPsk;
      identity_.psk_identity = to_string(client_.psk_identity);
      identity_.cipher_suite = "NULL";
      state_ = State::kEstablished;
    }
  }
  static std::optional<Bytes> pop(std::deque<Bytes>& q) {
    if (q.empty()) return std::nullopt;
    Bytes b = std::move(q.front());
    q.pop_front();
    return b;
  }

  Role role_;
  const ServerCredentials* server_;
  ClientCredentials client_;
  Bytes buffer_;
  std::deque<Bytes> out_;
  std::deque<Bytes> plaintext_;
  State state_ = State::kHandshaking;
  Failure failure_;
  PeerIdentity identity_;
};

}  // namespace

Result<std::unique_ptr<Session>> NullBackend::client_session(Carriage,
                                                             const ClientCredentials& credentials,
                                                             ByteView) {
  return std::unique_ptr<Session>(
      std::make_unique<NullSession>(Role::kClient, nullptr, credentials));
}

Result<std::unique_ptr<Session>> NullBackend::server_stream_session() {
  if (!server_) return fail("no server credentials");
  return std::unique_ptr<Session>(
      std::make_unique<NullSession>(Role::kServer, &*server_, ClientCredentials{}));
}

Backend::Admission NullBackend::admit_datagram(ByteView hello, ByteView, Instant now) {
  Admission out;
  if (!server_) return out;
  auto s = std::make_unique<NullSession>(Role::kServer, &*server_, ClientCredentials{});
  s->feed(hello, now);
  out.session = std::move(s);
  return out;
}

}  // namespace tether::tls
