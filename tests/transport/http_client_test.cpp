// The HTTP client edge against our HTTP server on 127.0.0.1, plain and over TLS (certificates
// made in memory): keep-alive reuse, a bound on connections per origin, a connection the
// server closed while idle (the request goes again on a new one), refused connections, a
// server certificate from another CA, and a client certificate the server sees.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "support/run_loop.hpp"
#include "support/test_pki.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"

namespace tether::transport {
namespace {

using testing::run_until;

http::Request get(std::string target) {
  http::Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

// An HTTP server that answers "METHOD TARGET BODY" and notes who asked.
struct EchoServer {
  EchoServer(EventLoop& loop, HttpServerOptions options)
      : server(loop, with_port_zero(std::move(options)),
               [this](const http::Request& r, HttpServer::Responder to) {
                 peers.push_back(to.peer());
                 to.respond(http::Response::text(200, r.method + " " + r.target + " " + r.body));
               }) {
    EXPECT_TRUE(server.start());
  }
  static HttpServerOptions with_port_zero(HttpServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  std::string origin(const char* scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(server.port());
  }
  HttpServer server;
  std::vector<HttpPeer> peers;
};

struct Outcome {
  std::optional<Result<http::Response>> got;
  HttpClient::Done done() {
    return [this](Result<http::Response> r) { got = std::move(r); };
  }
};

TEST(HttpClient, KeepsConnectionsAliveAndBoundsThemPerOrigin) {
  EventLoop loop;
  EchoServer echo(loop, {});
  HttpClientOptions options;
  options.max_connections_per_origin = 2;
  HttpClient client(loop, options);
  for (int round = 0; round < 3; ++round) {
    Outcome o;
    auto post = get("/rd?ep=dev1");
    post.method = "POST";
    post.body = "</3/0>";
    client.request(echo.origin(), post, o.done());
    ASSERT_TRUE(run_until(loop, [&] { return o.got.has_value(); }));
    ASSERT_TRUE(*o.got) << o.got->error().reason;
    EXPECT_EQ((*o.got)->status, 200);
    EXPECT_EQ((*o.got)->body, "POST /rd?ep=dev1 </3/0>");
  }
  EXPECT_EQ(client.connection_count(), 1u);  // one connection, kept alive

  std::vector<Outcome> many(6);
  for (auto& o : many) client.request(echo.origin(), get("/x"), o.done());
  EXPECT_LE(client.connection_count(), 2u);
  ASSERT_TRUE(run_until(loop, [&] {
    return std::all_of(many.begin(), many.end(), [](const Outcome& o) { return o.got; });
  }));
  for (auto& o : many) EXPECT_TRUE(*o.got);
  EXPECT_LE(client.connection_count(), 2u);
  EXPECT_FALSE(echo.peers.front().secure);
}

TEST(HttpClient, GoesAgainWhenTheServerClosedAnIdleConnection) {
  EventLoop loop;
  HttpServerOptions server_options;
  server_options.limits.idle_timeout = Duration{200};
  EchoServer echo(loop, server_options);
  HttpClient client(loop, {});
  Outcome first;
  client.request(echo.origin(), get("/a"), first.done());
  ASSERT_TRUE(run_until(loop, [&] { return first.got.has_value(); }));
  ASSERT_TRUE(*first.got);
  // The server drops the idle connection; the client has not noticed yet, or has.
  const Instant later = loop.now() + Duration{500};
  run_until(loop, [&] { return loop.now() >= later; });
  Outcome second;
  client.request(echo.origin(), get("/b"), second.done());
  ASSERT_TRUE(run_until(loop, [&] { return second.got.has_value(); }));
  ASSERT_TRUE(*second.got) << second.got->error().reason;
  EXPECT_EQ((*second.got)->body, "GET /b ");
}

TEST(HttpClient, RefusedConnectionsAndBadOriginsFail) {
  EventLoop loop;
  std::uint16_t closed_port = 0;
  {
    EchoServer gone(loop, {});
    closed_port = gone.server.port();
  }
  HttpClient client(loop, {});
  Outcome refused, bad, named;
  client.request("http://127.0.0.1:" + std::to_string(closed_port), get("/"), refused.done());
  client.request("ftp://127.0.0.1:1", get("/"), bad.done());
  client.request("http://lwm2m.example:80", get("/"), named.done());
  EXPECT_FALSE(bad.got.has_value());  // answered on a loop turn, never inside the call
  ASSERT_TRUE(run_until(loop, [&] { return refused.got && bad.got && named.got; }));
  EXPECT_FALSE(*refused.got);
  EXPECT_FALSE(*bad.got);
  EXPECT_FALSE(*named.got);
  EXPECT_NE(named.got->error().reason.find("DNS"), std::string::npos);
}

struct Https {
  Https()
      : server_cert(pki.issue(testing::named("127.0.0.1", {}, {"127.0.0.1"}))),
        client_cert(pki.issue(testing::named("dev1"))) {
    tls::GnutlsOptions o;
    o.web = true;
    tls::ServerCredentials s;
    s.private_key = server_cert.key.private_key;
    s.certificate_chain = server_cert.pem;
    s.client_trust_anchors = {pki.ca.pem};
    s.require_client_authentication = false;
    o.server = s;
    server_backend.emplace(o);
  }
  tls::ClientCredentials trusting(const Bytes& ca) const {
    tls::ClientCredentials c;
    c.mode = tls::Mode::kCertificate;
    c.pkix = true;
    c.trust_anchors = {ca};
    c.server_name = "127.0.0.1";
    return c;
  }
  testing::TestPki pki;
  testing::TestCert server_cert;
  testing::TestCert client_cert;
  std::optional<tls::GnutlsBackend> server_backend;
  tls::GnutlsBackend client_backend;
};

TEST(HttpClient, SpeaksHttpsAndChecksTheServerCertificate) {
  Https pki;
  EventLoop loop;
  HttpServerOptions server_options;
  server_options.tls = &*pki.server_backend;
  EchoServer echo(loop, server_options);
  HttpClientOptions options;
  options.tls = &pki.client_backend;
  HttpClient client(loop, options);

  const auto trusting = pki.trusting(pki.pki.ca.pem);
  Outcome ok;
  client.request(echo.origin("https"), get("/secure"), ok.done(), &trusting);
  ASSERT_TRUE(run_until(loop, [&] { return ok.got.has_value(); }));
  ASSERT_TRUE(*ok.got) << ok.got->error().reason;
  EXPECT_EQ((*ok.got)->body, "GET /secure ");
  ASSERT_EQ(echo.peers.size(), 1u);
  EXPECT_TRUE(echo.peers[0].secure);
  EXPECT_EQ(echo.peers[0].identity.kind, tls::PeerIdentity::Kind::kNone);

  // The same server under a CA we do not trust: refused in the handshake.
  testing::TestPki other("Someone Else");
  const auto wrong = pki.trusting(other.ca.pem);
  HttpClient strict(loop, options);
  Outcome refused;
  strict.request(echo.origin("https"), get("/secure"), refused.done(), &wrong);
  ASSERT_TRUE(run_until(loop, [&] { return refused.got.has_value(); }));
  ASSERT_FALSE(*refused.got);
  EXPECT_NE(refused.got->error().reason.find("TLS"), std::string::npos);
  EXPECT_EQ(echo.peers.size(), 1u);  // nothing reached the handler

  // A client certificate: the server's handler sees who it is.
  auto with_cert = trusting;
  with_cert.own_public_key = pki.client_cert.pem;
  with_cert.private_key = pki.client_cert.key.private_key;
  HttpClient identified(loop, options);
  Outcome named;
  identified.request(echo.origin("https"), get("/me"), named.done(), &with_cert);
  ASSERT_TRUE(run_until(loop, [&] { return named.got.has_value(); }));
  ASSERT_TRUE(*named.got) << named.got->error().reason;
  EXPECT_EQ(echo.peers.back().identity.kind, tls::PeerIdentity::Kind::kCertificate);
  EXPECT_EQ(echo.peers.back().identity.common_name, "dev1");
}

}  // namespace
}  // namespace tether::transport
