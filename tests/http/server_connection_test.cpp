// One HTTP/1.1 server connection on virtual time, fed raw bytes: framing, keep-alive and
// pipelining, and every limit a hostile or slow peer runs into (header and body caps with
// their 431/413, the request deadline against one-byte-a-second senders, idle and write
// timeouts, event streams whose reader stopped reading).
#include <gtest/gtest.h>

#include <string>

#include "http/server_connection.hpp"

namespace tether::http {
namespace {

const Instant kStart = instant_at(Duration{1'000'000});

struct Conn {
  explicit Conn(ConnectionLimits limits = {}) : c(limits, kStart) {}
  void feed(std::string_view bytes, Duration at = Duration{0}) { c.receive(bytes, kStart + at); }
  // Everything written so far, as the peer would read it.
  std::string drain(Duration at = Duration{0}) {
    std::string out(c.output());
    c.consumed(out.size(), kStart + at);
    return out;
  }
  ServerConnection c;
};

Response ok(std::string body) {
  return Response::text(200, std::move(body));
}

TEST(ServerConnectionTest, AnswersARequestAndKeepsTheConnection) {
  Conn t;
  t.feed("GET /api/health?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = t.c.take_request();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/api/health");
  EXPECT_EQ(r->query, "x=1");
  EXPECT_EQ(r->headers.get("HOST"), "a");
  EXPECT_FALSE(t.c.take_request());
  t.c.respond(t.c.current_request(), ok("fine"), kStart);
  const std::string out = t.drain();
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "fine");
  EXPECT_EQ(out.find("Connection: close"), std::string::npos);
  EXPECT_FALSE(t.c.finished());
}

TEST(ServerConnectionTest, PipelinedRequestsAreAnsweredInOrder) {
  Conn t;
  t.feed(
      "PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n"
      "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto a = t.c.take_request();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "abc");
  EXPECT_FALSE(t.c.take_request());  // one at a time
  t.c.respond(t.c.current_request(), ok("1"), kStart);
  auto b = t.c.take_request();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->path, "/b");
  t.c.respond(t.c.current_request(), ok("2"), kStart);
  auto c = t.c.take_request();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->path, "/c");
  t.c.respond(t.c.current_request(), ok("3"), kStart);
  const std::string out = t.drain();
  EXPECT_LT(out.find("\r\n\r\n1"), out.find("\r\n\r\n2"));
  EXPECT_LT(out.find("\r\n\r\n2"), out.find("\r\n\r\n3"));
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(t.c.finished());
}

TEST(ServerConnectionTest, ChunkedBodiesAreAssembled) {
  Conn t;
  t.feed("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto r = t.c.take_request();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcde");
}

TEST(ServerConnectionTest, ABodyOverTheCapIsRefusedFromItsLengthBeforeItIsRead) {
  ConnectionLimits limits;
  limits.max_body_bytes = 1000;
  Conn t(limits);
  // 200 MB announced: the answer comes from the header alone.
  t.feed(
      "PUT /api/bootstrap/x HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 200000000\r\n\r\n{");
  EXPECT_FALSE(t.c.take_request());
  const std::string out = t.drain();
  EXPECT_EQ(out.rfind("HTTP/1.1 413 ", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(t.c.finished());
  EXPECT_FALSE(t.c.wants_input());
}

TEST(ServerConnectionTest, AChunkedBodyOverTheCapIsRefusedAsItGrows) {
  ConnectionLimits limits;
  limits.max_body_bytes = 10;
  Conn t(limits);
  t.feed("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n1234");
  EXPECT_FALSE(t.c.take_request());
  EXPECT_EQ(t.drain().rfind("HTTP/1.1 413 ", 0), 0u);
}

TEST(ServerConnectionTest, ExpectContinueIsAnsweredOrRefusedBeforeTheBody) {
  ConnectionLimits limits;
  limits.max_body_bytes = 100;
  Conn small(limits);
  small.feed("PUT /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(small.drain(), "HTTP/1.1 100 Continue\r\n\r\n");
  small.feed("hello");
  auto r = small.c.take_request();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");

  Conn big(limits);
  big.feed("PUT /x HTTP/1.1\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(big.drain().rfind("HTTP/1.1 413 ", 0), 0u);
}

TEST(ServerConnectionTest, OversizedHeadersGet431) {
  ConnectionLimits limits;
  limits.max_header_bytes = 1024;
  Conn t(limits);
  t.feed("GET /x HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_FALSE(t.c.take_request());
  EXPECT_EQ(t.drain().rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_TRUE(t.c.finished());
}

TEST(ServerConnectionTest, GarbageGets400AndTheConnectionEnds) {
  Conn t;
  t.feed("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");  // a TLS ClientHello
  EXPECT_FALSE(t.c.take_request());
  EXPECT_EQ(t.drain().rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_TRUE(t.c.finished());
}

// The reported slow-loris: one byte a second never completes a request, and no longer
// holds the connection past the request deadline.
TEST(ServerConnectionTest, ASenderTooSlowGets408AtTheRequestDeadline) {
  ConnectionLimits limits;
  limits.request_timeout = Duration{10'000};
  Conn t(limits);
  const std::string request = "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n";
  Duration at{0};
  for (std::size_t i = 0; i < request.size(); ++i) {
    at = Duration{static_cast<std::int64_t>(i) * 1000};
    if (auto due = t.c.next_deadline(); due && *due <= kStart + at) {
      t.c.on_timer(kStart + at);
      break;
    }
    t.feed(request.substr(i, 1), at);
  }
  EXPECT_FALSE(t.c.take_request());
  EXPECT_LE(at, Duration{11'000});
  EXPECT_EQ(t.drain(at).rfind("HTTP/1.1 408 ", 0), 0u);
  EXPECT_TRUE(t.c.finished());
}

TEST(ServerConnectionTest, AnIdleConnectionIsClosedAtTheIdleTimeout) {
  ConnectionLimits limits;
  limits.idle_timeout = Duration{5'000};
  Conn t(limits);
  ASSERT_TRUE(t.c.next_deadline());
  EXPECT_EQ(*t.c.next_deadline(), kStart + Duration{5'000});
  t.c.on_timer(kStart + Duration{5'000});
  EXPECT_TRUE(t.c.finished());
  EXPECT_TRUE(t.drain().empty());  // nothing was asked, nothing is said
}

TEST(ServerConnectionTest, WhileARequestIsAnsweredOnlyBoundedInputIsReadAhead) {
  ConnectionLimits limits;
  limits.max_buffered_input = 100;
  Conn t(limits);
  t.feed("GET /slow HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(t.c.take_request());
  EXPECT_TRUE(t.c.wants_input());
  t.feed(std::string(150, 'G'));
  EXPECT_FALSE(t.c.wants_input());    // the transport stops reading
  EXPECT_FALSE(t.c.next_deadline());  // the answer's own timeout bounds this wait
}

TEST(ServerConnectionTest, AStreamIsChunkedAndCutWhenItsReaderFallsBehind) {
  ConnectionLimits limits;
  limits.max_output_bytes = 1000;
  Conn t(limits);
  t.feed("GET /api/events HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(t.c.take_request());
  Response head;
  head.headers.set("Content-Type", "text/event-stream");
  ASSERT_TRUE(t.c.start_stream(t.c.current_request(), head, kStart));
  EXPECT_TRUE(t.c.write_stream(t.c.current_request(), "data: 1\n\n", kStart));
  const std::string out = t.drain();
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\n9\r\ndata: 1\n\n\r\n"), std::string::npos) << out;
  // Nobody reads from here on.
  bool open = true;
  for (int i = 0; i < 200 && open; ++i)
    open = t.c.write_stream(t.c.current_request(), std::string(50, 'x'), kStart);
  EXPECT_FALSE(open);
  EXPECT_TRUE(t.c.finished());
}

TEST(ServerConnectionTest, OutputThatMakesNoProgressIsGivenUpAfterTheWriteTimeout) {
  ConnectionLimits limits;
  limits.write_timeout = Duration{3'000};
  Conn t(limits);
  t.feed("GET /x HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(t.c.take_request());
  t.c.respond(t.c.current_request(), ok(std::string(10'000, 'z')), kStart);
  t.c.consumed(100, kStart + Duration{1'000});  // a little, then nothing
  t.c.on_timer(kStart + Duration{3'500});
  EXPECT_FALSE(t.c.finished());
  t.c.on_timer(kStart + Duration{4'000});
  EXPECT_TRUE(t.c.finished());
}

TEST(ServerConnectionTest, HeadGetsTheLengthWithoutTheBodyAndHttp10Closes) {
  Conn t;
  t.feed("HEAD /x HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(t.c.take_request());
  t.c.respond(t.c.current_request(), ok("12345"), kStart);
  const std::string out = t.drain();
  EXPECT_NE(out.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(out.find("12345"), std::string::npos);
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(t.c.finished());
}

TEST(ServerConnectionTest, AResponseHeaderCannotBeSplit) {
  Response r = ok("x");
  r.headers.set("X-Name", "a\r\nSet-Cookie: evil");
  const std::string head = serialize_head(r, BodyFraming::kLength, Persistence::kDefault);
  EXPECT_EQ(head.find("\r\nSet-Cookie"), std::string::npos);
}

TEST(ServerConnectionTest, APeerThatLeavesMidRequestGetsNothing) {
  Conn t;
  t.feed("GET /x HTT");
  t.c.on_peer_closed(kStart);
  EXPECT_TRUE(t.c.finished());
  EXPECT_TRUE(t.drain().empty());
}

TEST(ServerConnectionTest, APeerThatHalfClosesStillGetsItsAnswer) {
  Conn t;
  t.feed("GET /x HTTP/1.1\r\n\r\n");
  t.c.on_peer_closed(kStart);
  ASSERT_TRUE(t.c.take_request());
  EXPECT_FALSE(t.c.finished());
  t.c.respond(t.c.current_request(), ok("bye"), kStart);
  EXPECT_NE(t.drain().find("bye"), std::string::npos);
  EXPECT_TRUE(t.c.finished());
}

// An answer that comes late (the caller timed out, the handler failed and was answered 500)
// must not become the answer to the next request on the connection.
TEST(ServerConnectionTest, ALateAnswerIsNotTakenForTheNextRequest) {
  Conn t;
  t.feed("GET /slow HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(t.c.take_request());
  const auto slow = t.c.current_request();
  t.c.respond(slow, Response::text(500, "internal error"), kStart);
  auto next = t.c.take_request();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->path, "/next");
  t.c.respond(slow, ok("late"), kStart);  // ignored
  t.c.respond(t.c.current_request(), ok("next"), kStart);
  const std::string out = t.drain();
  EXPECT_EQ(out.find("late"), std::string::npos) << out;
  EXPECT_NE(out.find("next"), std::string::npos);
}

// Pipelined requests from a peer that never reads: answers stop being made (and input
// read) once a bounded amount of output is waiting, and go on when the peer reads.
TEST(ServerConnectionTest, AnswersNobodyReadsStopFurtherRequests) {
  ConnectionLimits limits;
  limits.max_buffered_input = 1024;
  Conn t(limits);
  std::string pipelined;
  for (int i = 0; i < 200; ++i) pipelined += "GET /api/health HTTP/1.1\r\n\r\n";
  t.feed(pipelined.substr(0, 1000));
  int answered = 0;
  while (auto r = t.c.take_request()) {
    t.c.respond(t.c.current_request(), ok(std::string(100, 'x')), kStart);
    ++answered;
  }
  EXPECT_LT(answered, 20);
  EXPECT_FALSE(t.c.wants_input());
  EXPECT_LE(t.c.output().size(), 1024u + 200u);
  t.drain();  // the peer reads; the waiting requests go on
  EXPECT_TRUE(t.c.has_request());
}

TEST(ServerConnectionTest, AnHttp10StreamEndsWithTheConnection) {
  Conn t;
  t.feed("GET /api/events HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(t.c.take_request());
  ASSERT_TRUE(t.c.start_stream(t.c.current_request(), Response{}, kStart));
  EXPECT_TRUE(t.c.write_stream(t.c.current_request(), "data: 1\n\n", kStart));
  const std::string out = t.drain();
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
  EXPECT_EQ(out.find("chunked"), std::string::npos);
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 9), "data: 1\n\n");
}

TEST(ServerConnectionTest, FramingDetails) {
  // No 100 Continue for HTTP/1.0 (RFC 9110 10.1.1).
  Conn old;
  old.feed("PUT /x HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_TRUE(old.drain().empty());
  // A 204 has no body, whatever the handler put in it.
  Conn empty;
  empty.feed("DELETE /x HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(empty.c.take_request());
  empty.c.respond(empty.c.current_request(), Response::text(204, "ignored"), kStart);
  const std::string out = empty.drain();
  EXPECT_EQ(out.find("ignored"), std::string::npos);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  // HTTP/1.0 keep-alive is said back.
  Conn ka;
  ka.feed("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(ka.c.take_request());
  ka.c.respond(ka.c.current_request(), ok("1"), kStart);
  EXPECT_NE(ka.drain().find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_FALSE(ka.c.finished());
  // Another major version is 505.
  Conn two;
  two.feed("GET /x HTTP/2.0\r\n\r\n");
  EXPECT_EQ(two.drain().rfind("HTTP/1.1 505 ", 0), 0u);
}

TEST(ServerConnectionTest, TooManyHeaderFieldsGet431AndErrorsLinger) {
  Conn t;
  std::string request = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 150; ++i) request += "a:\r\n";
  t.feed(request + "\r\n");
  EXPECT_FALSE(t.c.take_request());
  EXPECT_EQ(t.drain().rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_TRUE(t.c.finished());
  EXPECT_TRUE(t.c.linger());  // the transport reads and drops a while before closing
}

// CRLFs between requests (some clients send one after a body) are not a slow request.
TEST(ServerConnectionTest, StrayLineBreaksDoNotStartTheRequestDeadline) {
  ConnectionLimits limits;
  limits.request_timeout = Duration{1'000};
  limits.idle_timeout = Duration{15'000};
  Conn t(limits);
  t.feed("\r\n");
  ASSERT_TRUE(t.c.next_deadline());
  EXPECT_EQ(*t.c.next_deadline(), kStart + Duration{15'000});
}

}  // namespace
}  // namespace tether::http
