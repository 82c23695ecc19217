// A DTLS session carried on by its keys alone, talking to GnuTLS: a real handshake between
// GnuTLS sessions, then one side (or both) replaced by its compact() and records exchanged
// both ways, replays, forgeries and close_notify.
#include "tls/dtls_record_session.hpp"

#include <gtest/gtest.h>

#include "tls/gnutls/gnutls_backend.hpp"

namespace tether::tls {
namespace {

const Instant kNow{};

struct Pair {
  Pair() {
    GnutlsOptions o;
    o.server.emplace();
    o.server->psk_key_for = [](ByteView id) -> std::optional<Bytes> {
      if (to_string(id) != "device-1") return std::nullopt;
      return to_bytes("0123456789abcdef");
    };
    server_backend = std::make_unique<GnutlsBackend>(o);
    ClientCredentials c;
    c.mode = Mode::kPsk;
    c.psk_identity = to_bytes("device-1");
    c.psk_key = to_bytes("0123456789abcdef");
    auto made = client_backend.client_session(Carriage::kDatagram, c, {});
    client = std::move(*made);
    client->start(kNow);
    const Bytes address{1, 2, 3, 4};
    for (int round = 0; round < 16 && !both_established(); ++round) {
      while (auto d = client->poll_output()) {
        if (!server) {
          auto admission = server_backend->admit_datagram(*d, address, kNow);
          server = std::move(admission.session);
          if (!admission.reply.empty()) client->feed(admission.reply, kNow);
          continue;
        }
        server->feed(*d, kNow);
      }
      if (server) {
        while (auto d = server->poll_output()) client->feed(*d, kNow);
      }
    }
  }
  bool both_established() const {
    return server && client->state() == Session::State::kEstablished &&
           server->state() == Session::State::kEstablished;
  }
  // The records `from` makes of `text`, as one datagram each.
  static std::vector<Bytes> send(Session& from, const std::string& text) {
    EXPECT_TRUE(from.write(to_bytes(text)));
    std::vector<Bytes> out;
    while (auto d = from.poll_output()) out.push_back(std::move(*d));
    return out;
  }
  // What `to` makes of `datagrams`, as text.
  static std::vector<std::string> deliver(Session& to, const std::vector<Bytes>& datagrams) {
    for (const auto& d : datagrams) to.feed(d, kNow);
    std::vector<std::string> got;
    while (auto p = to.poll_plaintext()) got.push_back(to_string(*p));
    return got;
  }
  static std::vector<std::string> pass(Session& from, Session& to, const std::string& text) {
    return deliver(to, send(from, text));
  }
  // The server's session, compacted once the client sent its first record; null when the
  // handshake or the compaction failed.
  std::unique_ptr<Session> compacted_server() {
    if (!both_established() ||
        pass(*client, *server, "first") != std::vector<std::string>{"first"}) {
      return nullptr;
    }
    return server->compact();
  }

  GnutlsBackend client_backend;
  std::unique_ptr<GnutlsBackend> server_backend;
  std::unique_ptr<Session> client;
  std::unique_ptr<Session> server;
};

using Texts = std::vector<std::string>;

TEST(DtlsRecordSessionTest, NothingCompactsBeforeThePeerSentData) {
  Pair p;
  ASSERT_TRUE(p.both_established());
  // The server sent the last flight of a full handshake: it may still have to repeat it.
  EXPECT_EQ(p.server->compact(), nullptr);
  EXPECT_EQ(p.client->compact(), nullptr);
}

TEST(DtlsRecordSessionTest, ACompactedServerTalksToGnutlsBothWays) {
  Pair p;
  auto lean = p.compacted_server();
  ASSERT_NE(lean, nullptr);
  EXPECT_EQ(lean->peer_identity().psk_identity, "device-1");
  EXPECT_EQ(Pair::pass(*lean, *p.client, "answer"), Texts{"answer"});
  for (int i = 0; i < 100; ++i) {
    const std::string up = "up " + std::to_string(i);
    const std::string down = "down " + std::to_string(i);
    ASSERT_EQ(Pair::pass(*p.client, *lean, up), Texts{up});
    ASSERT_EQ(Pair::pass(*lean, *p.client, down), Texts{down});
  }
  EXPECT_EQ(p.client->state(), Session::State::kEstablished);
  EXPECT_EQ(lean->state(), Session::State::kEstablished);
}

TEST(DtlsRecordSessionTest, TwoCompactedSessionsTalk) {
  Pair p;
  auto server = p.compacted_server();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Pair::pass(*server, *p.client, "welcome"), Texts{"welcome"});
  auto client = p.client->compact();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Pair::pass(*client, *server, "ping"), Texts{"ping"});
  EXPECT_EQ(Pair::pass(*server, *client, "pong"), Texts{"pong"});
}

TEST(DtlsRecordSessionTest, ReplaysAndRecordsFromBeforeTheHandOverAreDropped) {
  Pair p;
  ASSERT_TRUE(p.both_established());
  const auto before = Pair::send(*p.client, "before");
  EXPECT_EQ(Pair::deliver(*p.server, before), Texts{"before"});
  auto lean = p.server->compact();
  ASSERT_NE(lean, nullptr);
  // What GnuTLS took already is not taken again.
  EXPECT_TRUE(Pair::deliver(*lean, before).empty());
  const auto a = Pair::send(*p.client, "a");
  const auto b = Pair::send(*p.client, "b");
  // Out of order within the window is fine; each record once.
  EXPECT_EQ(Pair::deliver(*lean, b), Texts{"b"});
  EXPECT_EQ(Pair::deliver(*lean, a), Texts{"a"});
  EXPECT_TRUE(Pair::deliver(*lean, a).empty());
  EXPECT_TRUE(Pair::deliver(*lean, b).empty());
  // 70 records later, "a" and "b" are out of the window as well.
  for (int i = 0; i < 70; ++i) ASSERT_EQ(Pair::pass(*p.client, *lean, "x").size(), 1u);
  EXPECT_TRUE(Pair::deliver(*lean, a).empty());
  EXPECT_EQ(lean->state(), Session::State::kEstablished);
}

TEST(DtlsRecordSessionTest, ForgedDamagedAndShortRecordsAreDroppedAndTheSessionLives) {
  Pair p;
  auto lean = p.compacted_server();
  ASSERT_NE(lean, nullptr);
  auto good = Pair::send(*p.client, "secret");
  ASSERT_EQ(good.size(), 1u);
  // Each byte flipped in turn: header, nonce, ciphertext and tag all count.
  for (std::size_t i = 0; i < good[0].size(); ++i) {
    Bytes bad = good[0];
    bad[i] ^= 0x01;
    EXPECT_TRUE(Pair::deliver(*lean, {bad}).empty()) << "byte " << i;
  }
  // Truncated anywhere, and lengths that lie.
  for (std::size_t n = 0; n < good[0].size(); ++n) {
    EXPECT_TRUE(Pair::deliver(*lean, {Bytes(good[0].begin(),
                                            good[0].begin() + static_cast<std::ptrdiff_t>(n))})
                    .empty());
  }
  Bytes long_length = good[0];
  long_length[11] = 0xff;
  EXPECT_TRUE(Pair::deliver(*lean, {long_length}).empty());
  EXPECT_EQ(lean->state(), Session::State::kEstablished);
  // The genuine record, which the forgeries did not burn, still goes through.
  EXPECT_EQ(Pair::deliver(*lean, good), Texts{"secret"});
}

TEST(DtlsRecordSessionTest, CloseNotifyEndsTheSessionEitherWay) {
  {
    Pair p;
    auto lean = p.compacted_server();
    ASSERT_NE(lean, nullptr);
    lean->close();
    EXPECT_EQ(lean->state(), Session::State::kClosed);
    while (auto d = lean->poll_output()) p.client->feed(*d, kNow);
    EXPECT_EQ(p.client->state(), Session::State::kClosed);
  }
  {
    Pair p;
    auto lean = p.compacted_server();
    ASSERT_NE(lean, nullptr);
    p.client->close();
    while (auto d = p.client->poll_output()) lean->feed(*d, kNow);
    EXPECT_EQ(lean->state(), Session::State::kClosed);
    EXPECT_EQ(lean->failure().alert_received, alert::kCloseNotify);
    EXPECT_FALSE(lean->write(to_bytes("late")));
  }
}

TEST(DtlsRecordSessionTest, ARecordHoldsWhatGnutlsWouldHaveSentInOne) {
  Pair p;
  ASSERT_TRUE(p.both_established());
  ASSERT_EQ(Pair::pass(*p.client, *p.server, "hi"), Texts{"hi"});
  // The datagram's room under the default 1232-byte MTU, as GnuTLS enforced it.
  EXPECT_FALSE(p.server->write(Bytes(1300, 'a')));
  auto lean = p.server->compact();
  ASSERT_NE(lean, nullptr);
  EXPECT_FALSE(lean->write(Bytes(1300, 'a')));
  EXPECT_TRUE(lean->poll_output() == std::nullopt);
  const std::string fits(1100, 'b');
  EXPECT_EQ(Pair::pass(*lean, *p.client, fits), Texts{fits});
  DtlsKeys keys;
  keys.epoch = 1;
  DtlsRecordSession unlimited(keys, {});
  EXPECT_TRUE(unlimited.write(Bytes(16384, 'a')));
  EXPECT_FALSE(unlimited.write(Bytes(16385, 'a')));
}

TEST(DtlsRecordSessionTest, EmptyRecordsCarryNothingUp) {
  Pair p;
  auto server = p.compacted_server();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(Pair::pass(*server, *p.client, "ho"), Texts{"ho"});
  auto client = p.client->compact();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(Pair::pass(*client, *server, "").empty());
  EXPECT_EQ(Pair::pass(*client, *server, "after"), Texts{"after"});
}

TEST(DtlsRecordSessionTest, TheLastSequenceNumberIsNeverPassed) {
  DtlsKeys keys;
  keys.epoch = 1;
  keys.write_sequence = (std::uint64_t{1} << 48) - 1;
  DtlsRecordSession s(keys, {});
  EXPECT_TRUE(s.write(to_bytes("last")));
  EXPECT_FALSE(s.write(to_bytes("one too many")));
  // The session ends, so the layer above starts a new handshake instead of dropping
  // every message from here on.
  EXPECT_EQ(s.state(), Session::State::kFailed);
}

}  // namespace
}  // namespace tether::tls
