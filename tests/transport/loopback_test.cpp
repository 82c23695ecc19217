// Real sockets on 127.0.0.1 and ::1: the transports carry the engine end to end.
#include <gtest/gtest.h>

#include <memory>

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

}  // namespace
}  // namespace tether::transport
