// One HTTP/1.1 client connection on virtual time, fed the server's raw bytes: the request it
// writes, responses by length, chunked and to the close, interim responses, keep-alive and
// Connection: close, and what a broken or hostile server runs into (malformed bytes, header
// and body caps, a server that never answers, bytes nobody asked for).
#include <gtest/gtest.h>

#include <string>

#include "http/client_connection.hpp"

namespace tether::http {
namespace {

const Instant kStart = instant_at(Duration{1'000'000});

Request get(std::string target) {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

std::string drain(ClientConnection& c) {
  std::string out(c.output());
  c.consumed(out.size());
  return out;
}

Response answer_to(ClientConnection& c, std::string_view bytes) {
  c.receive(bytes, kStart);
  auto r = c.take_response();
  EXPECT_TRUE(r.has_value());
  if (!r || !*r) {
    ADD_FAILURE() << (r ? r->error().reason : "no response");
    return {};
  }
  return **r;
}

TEST(ClientConnection, WritesTheRequestAndReadsResponsesByteByByte) {
  ClientConnection c(ClientLimits{}, "192.0.2.7:8443");
  Request post;
  post.method = "POST";
  post.target = "/rd?ep=dev1";
  post.headers.add("Content-Type", "application/link-format");
  post.headers.add("Host", "evil");  // ours wins
  post.body = "</3/0>";
  ASSERT_TRUE(c.send(post, kStart));
  EXPECT_FALSE(c.ready());
  EXPECT_FALSE(c.send(post, kStart));  // one at a time
  EXPECT_EQ(drain(c),
            "POST /rd?ep=dev1 HTTP/1.1\r\nHost: 192.0.2.7:8443\r\n"
            "Content-Type: application/link-format\r\nContent-Length: 6\r\n\r\n</3/0>");
  const std::string wire = "HTTP/1.1 201 Created\r\nLocation: /rd/a1\r\nContent-Length: 0\r\n\r\n";
  for (char ch : wire) c.receive(std::string_view(&ch, 1), kStart);
  auto r = c.take_response();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->status, 201);
  EXPECT_EQ((*r)->headers.get("location"), "/rd/a1");
  EXPECT_TRUE(c.ready());  // kept alive

  ASSERT_TRUE(c.send(get("/x"), kStart));
  EXPECT_EQ(drain(c), "GET /x HTTP/1.1\r\nHost: 192.0.2.7:8443\r\n\r\n");
  auto chunked = answer_to(c,
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.body, "abcde");
  EXPECT_TRUE(c.ready());
}

TEST(ClientConnection, InterimResponsesCloseAndBodiesToTheClose) {
  ClientConnection c(ClientLimits{}, "h");
  ASSERT_TRUE(c.send(get("/"), kStart));
  auto r = answer_to(c,
                     "HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(c.closed());
  EXPECT_FALSE(c.send(get("/"), kStart));

  ClientConnection d(ClientLimits{}, "h");
  ASSERT_TRUE(d.send(get("/"), kStart));
  d.receive("HTTP/1.0 200 OK\r\n\r\nuntil the end", kStart);
  EXPECT_FALSE(d.take_response().has_value());
  d.on_peer_closed(kStart);
  auto whole = d.take_response();
  ASSERT_TRUE(whole && *whole);
  EXPECT_EQ((*whole)->body, "until the end");
  EXPECT_TRUE(d.closed());
}

TEST(ClientConnection, BrokenAndHostileServers) {
  auto failure = [](ClientLimits limits, std::string_view bytes) {
    ClientConnection c(limits, "h");
    EXPECT_TRUE(c.send(get("/"), kStart));
    c.receive(bytes, kStart);
    auto r = c.take_response();
    EXPECT_TRUE(r.has_value()) << bytes;
    EXPECT_TRUE(c.closed()) << bytes;
    return r && !*r ? r->error().reason : std::string("answered");
  };
  EXPECT_NE(failure({}, "SSH-2.0-OpenSSH\r\n").find("malformed"), std::string::npos);
  ClientLimits small;
  small.max_header_bytes = 64;
  EXPECT_NE(failure(small, "HTTP/1.1 200 OK\r\nX: " + std::string(100, 'a') + "\r\n\r\n")
                .find("too large"),
            std::string::npos);
  small.max_body_bytes = 4;
  EXPECT_NE(failure(small, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n").find("over 4"),
            std::string::npos);
  EXPECT_NE(failure(small, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n")
                .find("over 4"),
            std::string::npos);
  small = {};
  small.max_header_fields = 2;
  EXPECT_NE(failure(small, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").find("too many"),
            std::string::npos);

  // Cut short by the close.
  ClientConnection cut(ClientLimits{}, "h");
  ASSERT_TRUE(cut.send(get("/"), kStart));
  cut.receive("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", kStart);
  cut.on_peer_closed(kStart);
  auto r = cut.take_response();
  ASSERT_TRUE(r && !*r);

  // Two answers to one request: the first is taken, the connection is not reused.
  ClientConnection twice(ClientLimits{}, "h");
  ASSERT_TRUE(twice.send(get("/"), kStart));
  twice.receive(
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      kStart);
  ASSERT_TRUE(twice.take_response().has_value());
  EXPECT_TRUE(twice.closed());

  // Bytes nobody asked for.
  ClientConnection idle(ClientLimits{}, "h");
  idle.receive("HTTP/1.1 200 OK\r\n\r\n", kStart);
  EXPECT_TRUE(idle.closed());
}

TEST(ClientConnection, AServerThatNeverAnswersTimesOut) {
  ClientLimits limits;
  limits.response_timeout = Duration{5'000};
  ClientConnection c(limits, "h");
  EXPECT_FALSE(c.next_deadline().has_value());
  ASSERT_TRUE(c.send(get("/"), kStart));
  ASSERT_EQ(c.next_deadline(), kStart + Duration{5'000});
  c.on_timer(kStart + Duration{4'999});
  EXPECT_FALSE(c.take_response().has_value());
  c.on_timer(kStart + Duration{5'000});
  auto r = c.take_response();
  ASSERT_TRUE(r && !*r);
  EXPECT_TRUE(c.closed());
  EXPECT_FALSE(c.next_deadline().has_value());
}

}  // namespace
}  // namespace tether::http
