// Real sockets on 127.0.0.1 and ::1: the transports carry the engine end to end.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "../support/run_loop.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::transport {
namespace {

using coap::Message;

// Serves GET /echo-size: answers with the size of the request path's query, and PUT
// /sink: answers 2.04 with the body length as text.
void serve(Transport& t, EventLoop& loop) {
  t.endpoint().set_request_handler(
      [&loop](coap::PeerId, const Message& req, coap::Responder responder) {
        Message res;
        if (req.path() == "/sink" && req.code == coap::codes::kPut) {
          res.code = coap::codes::kChanged;
          res.payload = to_bytes(std::to_string(req.payload.size()));
        } else if (req.path() == "/big") {
          res.code = coap::codes::kContent;
          res.payload = Bytes(50'000, 0x5a);
        } else {
          res.code = coap::codes::kNotFound;
        }
        responder.respond(std::move(res), loop.now());
      });
}

// Runs the loop until the request completes or 5 s pass (bounded).
Result<Message> exchange(EventLoop& loop, Transport& client, const std::string& host,
                         std::uint16_t port, Message request) {
  auto peer = client.peer_for(host, port);
  if (!peer) return peer.error();
  std::optional<Result<Message>> got;
  client.endpoint().request(
      *peer, std::move(request),
      [&](Result<Message> r) {
        got = std::move(r);
        loop.stop();
      },
      loop.now());
  client.flush();
  loop.run(loop.now() + Duration{5000});
  if (!got) return fail("no answer within 5 s");
  return std::move(*got);
}

struct Pair {
  EventLoop loop;
  SeededRandom random{7};
  std::unique_ptr<Transport> server;
  std::unique_ptr<Transport> client;
};

std::unique_ptr<Pair> udp_pair(const std::string& host) {
  auto p = std::make_unique<Pair>();
  p->server =
      std::make_unique<UdpTransport>(p->loop, coap::EndpointConfig{}, p->random, udp_at(host, 0));
  p->client =
      std::make_unique<UdpTransport>(p->loop, coap::EndpointConfig{}, p->random, udp_at(host, 0));
  serve(*p->server, p->loop);
  return p;
}

std::unique_ptr<Pair> tcp_pair(const std::string& host) {
  auto p = std::make_unique<Pair>();
  TcpOptions server_options;
  server_options.bind_host = host;
  TcpOptions client_options;
  client_options.listen = false;
  p->server =
      std::make_unique<TcpTransport>(p->loop, coap::EndpointConfig{}, p->random, server_options);
  p->client =
      std::make_unique<TcpTransport>(p->loop, coap::EndpointConfig{}, p->random, client_options);
  serve(*p->server, p->loop);
  return p;
}

class Loopback : public ::testing::TestWithParam<std::string> {};

TEST_P(Loopback, PutAndBlockwiseGetOverUdpAndTcp) {
  const std::string host = GetParam();
  for (auto& p : {udp_pair(host), tcp_pair(host)}) {
    Message put = coap::make_request(coap::codes::kPut, "/sink");
    put.payload = Bytes(3000, 1);  // over one block: goes as Block1 over UDP
    auto r = exchange(p->loop, *p->client, host, p->server->local_port(), put);
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->code, coap::codes::kChanged);
    EXPECT_EQ(to_string(r->payload), "3000");

    auto big = exchange(p->loop, *p->client, host, p->server->local_port(),
                        coap::make_request(coap::codes::kGet, "/big"));
    ASSERT_TRUE(big) << big.error().reason;
    EXPECT_EQ(big->payload, Bytes(50'000, 0x5a));

    auto missing = exchange(p->loop, *p->client, host, p->server->local_port(),
                            coap::make_request(coap::codes::kGet, "/nothing"));
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code, coap::codes::kNotFound);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Loopback, ::testing::Values("127.0.0.1", "::1"));

TEST(TcpTransport, ServerSeesConnectionCloseAndFailsNothingElse) {
  auto p = tcp_pair("127.0.0.1");
  auto r = exchange(p->loop, *p->client, "127.0.0.1", p->server->local_port(),
                    coap::make_request(coap::codes::kGet, "/big"));
  ASSERT_TRUE(r);
  auto& server = static_cast<TcpTransport&>(*p->server);
  EXPECT_EQ(server.connection_count(), 1u);
  p->client.reset();  // closes the socket
  for (int i = 0; i < 50 && server.connection_count() != 0; ++i) p->loop.run_once(Duration{20});
  EXPECT_EQ(server.connection_count(), 0u);
}

TEST(UdpTransport, PeerWithoutServerFailsAfterRetransmissions) {
  EventLoop loop;
  SeededRandom random(3);
  coap::EndpointConfig config;
  config.datagram.params.ack_timeout = Duration{20};
  config.datagram.params.max_retransmit = 2;
  UdpTransport client(loop, config, random, udp_at("127.0.0.1", 0));
  std::uint16_t closed_port = 0;
  {
    UdpTransport gone(loop, config, random, udp_at("127.0.0.1", 0));
    closed_port = gone.local_port();
  }
  auto r =
      exchange(loop, client, "127.0.0.1", closed_port, coap::make_request(coap::codes::kGet, "/x"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().reason.find("timeout"), std::string::npos) << r.error().reason;
}

// A plain UDP socket on 127.0.0.1 that sends raw bytes, as any CoAP client might.
class RawUdp {
 public:
  RawUdp() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) {}
  ~RawUdp() { ::close(fd_); }
  RawUdp(const RawUdp&) = delete;
  RawUdp& operator=(const RawUdp&) = delete;
  void send(std::uint16_t port, const Bytes& bytes) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
        static_cast<ssize_t>(bytes.size()));
  }
  int fd() const { return fd_; }
  // Every datagram waiting now.
  void collect(std::vector<Bytes>& into) const {
    std::uint8_t buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0) return;
      into.emplace_back(buf, buf + n);
    }
  }

 private:
  int fd_;
};

// CON GET /x (answered 4.04) or CON PUT /sink with a body, message ID `mid`, no token.
Bytes con_get_x(std::uint16_t mid) {
  return {0x40, 0x01, static_cast<std::uint8_t>(mid >> 8), static_cast<std::uint8_t>(mid),
          0xB1, 'x'};
}
Bytes con_put_sink(std::uint16_t mid, std::size_t body) {
  Bytes b{0x40,
          0x03,
          static_cast<std::uint8_t>(mid >> 8),
          static_cast<std::uint8_t>(mid),
          0xB4,
          's',
          'i',
          'n',
          'k',
          0xFF};
  b.insert(b.end(), body, 0x33);
  return b;
}

// Issue 22: datagrams are read in batches (recvmmsg) and the replies leave together
// (sendmmsg). A burst larger than a batch, with junk among it and two requests from one
// peer, is answered in full, each reply to its own sender.
TEST(UdpTransport, ABurstLargerThanABatchIsAnsweredInFullEachReplyToItsSender) {
  EventLoop loop;
  SeededRandom random(5);
  UdpTransport server(loop, coap::EndpointConfig{}, random, udp_at("127.0.0.1", 0));
  serve(server, loop);
  constexpr int kPeers = 90;
  std::vector<std::unique_ptr<RawUdp>> peers;
  RawUdp junk;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(std::make_unique<RawUdp>());
    peers.back()->send(server.local_port(), con_get_x(static_cast<std::uint16_t>(1000 + i)));
    if (i % 10 == 0) junk.send(server.local_port(), Bytes{0xff, 0x00});  // version 3: ignored
  }
  junk.send(server.local_port(), Bytes{});  // an empty datagram
  peers[0]->send(server.local_port(), con_get_x(7));
  std::vector<std::vector<Bytes>> got(kPeers);
  auto all_answered = [&] {
    std::size_t total = 0;
    for (int i = 0; i < kPeers; ++i) {
      peers[static_cast<std::size_t>(i)]->collect(got[static_cast<std::size_t>(i)]);
      total += got[static_cast<std::size_t>(i)].size();
    }
    return total >= kPeers + 1;
  };
  ASSERT_TRUE(testing::run_until(loop, all_answered));
  for (int i = 0; i < kPeers; ++i) {
    const auto& replies = got[static_cast<std::size_t>(i)];
    ASSERT_EQ(replies.size(), i == 0 ? 2u : 1u) << "peer " << i;
    const Bytes& r = replies.front();
    ASSERT_GE(r.size(), 4u);
    EXPECT_EQ(r[0], 0x60) << "a piggybacked ACK";
    EXPECT_EQ(r[1], 0x84) << "4.04";
    EXPECT_EQ((r[2] << 8) | r[3], 1000 + i) << "the sender's own message ID";
  }
  EXPECT_EQ((got[0][1][2] << 8) | got[0][1][3], 7);
  std::vector<Bytes> to_junk;
  junk.collect(to_junk);
  EXPECT_TRUE(to_junk.empty());
}

// --workers: what waited in a socket while its port's group was forming is dropped unread,
// and the sender's repeat is answered as any datagram.
TEST(UdpTransport, DiscardsWhatWaitedAndServesWhatComesAfter) {
  EventLoop loop;
  SeededRandom random(6);
  UdpTransport server(loop, coap::EndpointConfig{}, random, udp_at("127.0.0.1", 0));
  serve(server, loop);
  RawUdp device;
  for (std::uint16_t mid = 1; mid <= 3; ++mid) device.send(server.local_port(), con_get_x(mid));
  // Before the loop ran: all three wait in the socket (loopback delivers within sendto).
  EXPECT_EQ(server.discard_queued(), 3u);
  EXPECT_EQ(server.discard_queued(), 0u);
  std::vector<Bytes> got;
  device.send(server.local_port(), con_get_x(4));
  ASSERT_TRUE(testing::run_until(loop, [&] {
    device.collect(got);
    return !got.empty();
  }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ((got[0][2] << 8) | got[0][3], 4) << "only the one sent after";
}

// A handler that throws loses its own datagram only: the rest of the batch is handled and
// every reply made in it still leaves.
TEST(UdpTransport, AThrowingHandlerCostsOnlyItsOwnDatagram) {
  EventLoop loop;
  SeededRandom random(8);
  UdpTransport server(loop, coap::EndpointConfig{}, random, udp_at("127.0.0.1", 0));
  server.endpoint().set_request_handler(
      [&loop](coap::PeerId, const Message& req, coap::Responder responder) {
        if (req.path() == "/boom") throw std::runtime_error("a bug in a handler");
        Message res;
        res.code = coap::codes::kNotFound;
        responder.respond(std::move(res), loop.now());
      });
  RawUdp first, bomb, last;
  first.send(server.local_port(), con_get_x(1));
  Bytes boom{0x40, 0x01, 0x00, 0x02, 0xB4, 'b', 'o', 'o', 'm'};
  bomb.send(server.local_port(), boom);
  last.send(server.local_port(), con_get_x(3));
  std::vector<Bytes> a, b;
  ASSERT_TRUE(testing::run_until(loop, [&] {
    first.collect(a);
    last.collect(b);
    return !a.empty() && !b.empty();
  }));
  EXPECT_EQ(a.front()[1], 0x84);
  EXPECT_EQ(b.front()[1], 0x84);
}

// Each slot of a batch holds a whole UDP payload: a 20,000-byte PUT in one datagram arrives
// whole, next to small ones.
TEST(UdpTransport, ALargeDatagramInABatchArrivesWhole) {
  EventLoop loop;
  SeededRandom random(6);
  UdpTransport server(loop, coap::EndpointConfig{}, random, udp_at("127.0.0.1", 0));
  serve(server, loop);
  RawUdp peer;
  peer.send(server.local_port(), con_get_x(1));
  peer.send(server.local_port(), con_put_sink(2, 20'000));
  peer.send(server.local_port(), con_get_x(3));
  std::vector<Bytes> got;
  ASSERT_TRUE(testing::run_until(loop, [&] {
    peer.collect(got);
    return got.size() >= 3;
  }));
  const Bytes& put = got[1];
  ASSERT_GE(put.size(), 5u);
  EXPECT_EQ(put[1], 0x44) << "2.04";
  EXPECT_EQ(std::string(put.end() - 5, put.end()), "20000");
}

// Anyone can send from any address: addresses nobody holds are forgotten beyond a cap, so a
// spray of sources cannot grow the server without bound. Each sender is still answered, a
// held peer stays, and a forgotten sender that comes back is a new peer that works.
TEST(UdpTransport, AddressesNobodyHoldsAreForgottenBeyondTheCapAndComeBackAsNewPeers) {
  EventLoop loop;
  SeededRandom random(9);
  UdpOptions options = udp_at("127.0.0.1", 0);
  options.peers.max_loose = 16;
  UdpTransport server(loop, coap::EndpointConfig{}, random, options);
  serve(server, loop);
  RawUdp kept;
  sockaddr_in local{};
  socklen_t len = sizeof(local);
  kept.send(server.local_port(), con_get_x(1));
  std::vector<Bytes> kept_got;
  ASSERT_TRUE(testing::run_until(loop, [&] {
    kept.collect(kept_got);
    return !kept_got.empty();
  }));
  ASSERT_EQ(::getsockname(kept.fd(), reinterpret_cast<sockaddr*>(&local), &len), 0);
  // The server names this one itself (as it does a registered client's): held.
  auto held = server.peer_for("127.0.0.1", ntohs(local.sin_port));
  ASSERT_TRUE(held);

  constexpr std::size_t kSenders = 60;
  std::vector<std::unique_ptr<RawUdp>> senders;
  std::vector<std::vector<Bytes>> got(kSenders);
  for (std::size_t i = 0; i < kSenders; ++i) {
    senders.push_back(std::make_unique<RawUdp>());
    senders.back()->send(server.local_port(), con_get_x(static_cast<std::uint16_t>(100 + i)));
  }
  ASSERT_TRUE(testing::run_until(loop, [&] {
    std::size_t answered = 0;
    for (std::size_t i = 0; i < kSenders; ++i) {
      senders[i]->collect(got[i]);
      if (!got[i].empty()) ++answered;
    }
    return answered == kSenders;
  })) << "each sender answered, also those forgotten right after";
  EXPECT_EQ(server.known_peers(), 16u + 1u) << "16 unheld, and the held one";
  const auto counters = server.counters();
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].first, "peers_forgotten");
  EXPECT_EQ(counters[0].second, kSenders - 16);
  EXPECT_EQ(server.describe(*held), "127.0.0.1:" + std::to_string(ntohs(local.sin_port)));

  // The first sender was forgotten; it is answered again as a new peer.
  senders[0]->send(server.local_port(), con_get_x(500));
  got[0].clear();
  ASSERT_TRUE(testing::run_until(loop, [&] {
    senders[0]->collect(got[0]);
    return !got[0].empty();
  }));
  EXPECT_EQ((got[0][0][2] << 8) | got[0][0][3], 500);
}

}  // namespace
}  // namespace tether::transport

namespace tether::transport {
namespace {

// --workers: the workers' sockets share a port; a socket outside the group (another
// server, SO_REUSEPORT or not) is refused it, and a group is not formed over a port
// someone else holds.
TEST(PortSharing, WorkersShareAPortThatNobodyElseMayJoin) {
  EventLoop loop;
  SeededRandom random(5);
  UdpOptions first = udp_at("127.0.0.1", 0);
  first.reuse_port = true;
  first.first_of_group = true;
  UdpTransport w0(loop, {}, random, first);  // port 0: the system's choice
  UdpOptions join = udp_at("127.0.0.1", w0.local_port());
  join.reuse_port = true;
  UdpTransport w1(loop, {}, random, join);
  EXPECT_EQ(w1.local_port(), w0.local_port());

  // Another server's first socket on that port fails, with or without the option.
  UdpOptions other = udp_at("127.0.0.1", w0.local_port());
  EXPECT_THROW(UdpTransport(loop, {}, random, other), std::system_error);
  other.reuse_port = true;
  other.first_of_group = true;
  EXPECT_THROW(UdpTransport(loop, {}, random, other), std::runtime_error);

  TcpOptions t0;
  t0.bind_host = "127.0.0.1";
  t0.reuse_port = true;
  t0.first_of_group = true;
  TcpTransport l0(loop, {}, random, t0);
  TcpOptions t1 = t0;
  t1.port = l0.local_port();
  t1.first_of_group = false;
  TcpTransport l1(loop, {}, random, t1);
  EXPECT_EQ(l1.local_port(), l0.local_port());
  t1.first_of_group = true;
  EXPECT_THROW(TcpTransport(loop, {}, random, t1), std::runtime_error);
}

}  // namespace
}  // namespace tether::transport
