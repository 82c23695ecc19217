// Transport TS 7.1.1, 7.1.2, 7.1.4 and 7.3: server requests as HTTP requests (under the
// client's alternate path), read back on the client's side from raw bytes, the client's
// answers, and the operations section 7 leaves out.
#include <gtest/gtest.h>

#include "binding/http/device_mapping.hpp"
#include "binding/http/downlink_mapping.hpp"
#include "lwm2m/format/codec.hpp"
#include "support/builtin_registry.hpp"
#include "support/raw_http.hpp"

namespace tether::binding::http_binding {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
using test_support::parse_raw_request;
namespace status = lwm2m::status;

const auto& models() {
  return test_support::builtin_registry();
}

DownlinkRequest request(Operation op, Path path) {
  DownlinkRequest r;
  r.op = op;
  r.path = path;
  return r;
}

// What the client makes of the server's request, through the wire form of its head.
Result<DownlinkRequest> at_device(const http::Request& sent, bool bootstrap = false,
                                  const std::string& alternate = "/lwm2m") {
  std::string raw = sent.method + " " + sent.target + " HTTP/1.1\r\nHost: d\r\n";
  for (const auto& [name, value] : sent.headers.all()) raw += name + ": " + value + "\r\n";
  raw += "Content-Length: " + std::to_string(sent.body.size()) + "\r\n\r\n" + sent.body;
  auto parsed = parse_raw_request(raw);
  EXPECT_TRUE(parsed.has_value()) << raw;
  if (!parsed) return fail("unparsed");
  return decode_device_request(*parsed, bootstrap, alternate, models());
}

TEST(HttpDownlink, EachRowOfTable714) {
  struct Case {
    Operation op;
    Path path;
    const char* method;
    const char* target;
  };
  const Case cases[] = {
      {Operation::kRead, Path{3, 0, 0}, "GET", "/lwm2m/3/0/0"},
      {Operation::kDiscover, Path{3}, "GET", "/lwm2m/3"},
      {Operation::kDelete, Path{3303, 1}, "DELETE", "/lwm2m/3303/1"},
      {Operation::kExecute, Path{3, 0, 4}, "POST", "/lwm2m/3/0/4"},
      {Operation::kBootstrapDelete, Path{0, 1}, "DELETE", "/0/1"},  // 7.1.1: plain paths
      {Operation::kBootstrapFinish, Path{}, "POST", "/bs"},
  };
  for (const auto& c : cases) {
    auto r = request(c.op, c.path);
    auto sent = encode_downlink(r, "/lwm2m", models());
    ASSERT_TRUE(sent) << sent.error().reason;
    EXPECT_EQ(sent->method, c.method);
    EXPECT_EQ(sent->path, c.target);
    auto back = at_device(*sent, lwm2m::is_bootstrap_operation(c.op));
    ASSERT_TRUE(back) << lwm2m::operation_name(c.op) << ": " << back.error().reason;
    EXPECT_EQ(back->op, c.op);
    EXPECT_EQ(back->path, c.path);
  }
  auto discover = request(Operation::kDiscover, Path{3, 0});
  discover.depth = 2;
  auto sent = encode_downlink(discover, "/", models());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->target, "/3/0?depth=2");
  EXPECT_EQ(sent->headers.get("Accept"), "application/link-format");
  EXPECT_EQ(at_device(*sent, false, "/")->depth, 2u);
}

TEST(HttpDownlink, WritesCreateAndAttributesRoundTrip) {
  auto write = request(Operation::kWrite, Path{1, 0, 1});
  write.format = ContentFormat::kText;
  ASSERT_TRUE(write.content.set(Path{1, 0, 1}, Value(std::int64_t{120})).ok());
  auto sent = encode_downlink(write, "/lwm2m", models());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->method, "PUT");  // Replace
  EXPECT_EQ(sent->headers.get("Content-Type"), "text/plain;charset=utf-8");
  auto back = at_device(*sent);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->op, Operation::kWrite);
  EXPECT_FALSE(back->partial);
  ASSERT_NE(back->content.find_value(Path{1, 0, 1}), nullptr);
  EXPECT_EQ(back->content.find_value(Path{1, 0, 1})->as_number(), 120.0);

  auto partial = request(Operation::kWrite, Path{3, 0});
  partial.partial = true;
  partial.format = ContentFormat::kSenmlJson;
  ASSERT_TRUE(partial.content.set(Path{3, 0, 14}, Value("+02:00")).ok());
  sent = encode_downlink(partial, "/lwm2m", models());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->method, "POST");  // Partial Update
  back = at_device(*sent);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_TRUE(back->partial);
  EXPECT_EQ(*back->content.find_value(Path{3, 0, 14}), Value("+02:00"));

  auto create = request(Operation::kCreate, Path{3303});
  create.format = ContentFormat::kTlv;
  ASSERT_TRUE(create.content.set(Path{3303, 4, 5700}, Value(21.5)).ok());
  sent = encode_downlink(create, "/lwm2m", models());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->headers.get("Content-Type"), "application/vnd.oma.lwm2m+tlv");
  back = at_device(*sent);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->op, Operation::kCreate);

  auto attributes = request(Operation::kWriteAttributes, Path{3303, 0, 5700});
  attributes.attributes = {"pmin=10", "gt=25.5", "pmax"};
  sent = encode_downlink(attributes, "/lwm2m", models());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->method, "PUT");
  EXPECT_EQ(sent->query, "pmin=10&gt=25.5&pmax");
  back = at_device(*sent);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->op, Operation::kWriteAttributes);
  EXPECT_EQ(back->attributes, attributes.attributes);

  auto execute = request(Operation::kExecute, Path{3, 0, 4});
  execute.arguments = "0='now'";
  sent = encode_downlink(execute, "/", models());
  ASSERT_TRUE(sent);
  back = at_device(*sent, false, "/");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->arguments, "0='now'");
}

TEST(HttpDownlink, SectionSevenHasNoObserveOrCompositeOperations) {
  for (auto op : {Operation::kObserve, Operation::kObserveComposite, Operation::kReadComposite,
                  Operation::kWriteComposite}) {
    EXPECT_FALSE(carries(op));
    auto sent = encode_downlink(request(op, Path{}), "/", models());
    ASSERT_FALSE(sent);
    EXPECT_EQ(lwm2m::status_of(sent.error()), status::kNotImplemented);
  }
  auto fetch = parse_raw_request("PATCH / HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(fetch);
  auto refused = decode_device_request(*fetch, false, "/", models());
  ASSERT_FALSE(refused);
  EXPECT_EQ(lwm2m::status_of(refused.error()), status::kNotImplemented);
}

TEST(HttpDownlink, TheDeviceRefusesWithTheCodesOfSection73) {
  auto code = [](std::string_view raw, bool bootstrap = false) {
    auto parsed = parse_raw_request(raw);
    EXPECT_TRUE(parsed.has_value()) << raw;
    auto r = decode_device_request(*parsed, bootstrap, "/lwm2m", models());
    EXPECT_FALSE(r) << raw;
    return r ? status::kContent : lwm2m::status_of(r.error());
  };
  EXPECT_EQ(code("GET /3/0 HTTP/1.1\r\nHost: d\r\n\r\n"), status::kNotFound);  // not under /lwm2m
  EXPECT_EQ(code("GET /lwm2m/3/x HTTP/1.1\r\nHost: d\r\n\r\n"), status::kNotFound);
  EXPECT_EQ(code("GET /lwm2m/3/0 HTTP/1.1\r\nHost: d\r\nAccept: image/png\r\n\r\n"),
            status::kNotAcceptable);
  EXPECT_EQ(code("PUT /lwm2m/1/0/1 HTTP/1.1\r\nHost: d\r\nContent-Type: text/html\r\n"
                 "Content-Length: 2\r\n\r\n12"),
            status::kUnsupportedContentFormat);
  EXPECT_EQ(code("PUT /lwm2m/1/0/1 HTTP/1.1\r\nHost: d\r\nContent-Type: application/senml+json"
                 "\r\nContent-Length: 3\r\n\r\n[{]"),
            status::kBadRequest);
  EXPECT_EQ(code("POST /lwm2m/3/0/4 HTTP/1.1\r\nHost: d\r\nContent-Type: application/cbor\r\n"
                 "Content-Length: 1\r\n\r\n\x01"),
            status::kUnsupportedContentFormat);
  EXPECT_EQ(code("POST /lwm2m HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n"),
            status::kMethodNotAllowed);
  EXPECT_EQ(code("POST /3/0 HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n", true),
            status::kMethodNotAllowed);
  EXPECT_EQ(code("GET /bs HTTP/1.1\r\nHost: d\r\n\r\n", true), status::kMethodNotAllowed);
  // A charset other than UTF-8 is not LwM2M plain text.
  EXPECT_EQ(code("PUT /lwm2m/1/0/1 HTTP/1.1\r\nHost: d\r\n"
                 "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Length: 2\r\n\r\n12"),
            status::kUnsupportedContentFormat);
}

TEST(HttpDownlink, AnswersBothWays) {
  // The client's Read answer as it goes out, and the server reading it.
  lwm2m::EncodedAnswer content;
  content.code = status::kContent;
  content.content_format = 0;
  content.body = to_bytes("Tether");
  auto wire = encode_device_response(content, "/lwm2m");
  EXPECT_EQ(wire.status, 200);
  EXPECT_EQ(wire.headers.get("Content-Type"), "text/plain;charset=utf-8");
  auto read = request(Operation::kRead, Path{3, 0, 0});
  auto answer = decode_downlink_response(read, wire, "/lwm2m", models());
  EXPECT_EQ(answer.code, status::kContent);
  ASSERT_NE(answer.content.find_value(Path{3, 0, 0}), nullptr);
  EXPECT_EQ(*answer.content.find_value(Path{3, 0, 0}), Value("Tether"));

  lwm2m::EncodedAnswer created;
  created.code = status::kCreated;
  created.created = Path{3303, 4};
  wire = encode_device_response(created, "/lwm2m");
  EXPECT_EQ(wire.status, 201);
  EXPECT_EQ(wire.headers.get("Location"), "/lwm2m/3303/4");
  answer =
      decode_downlink_response(request(Operation::kCreate, Path{3303}), wire, "/lwm2m", models());
  EXPECT_EQ(answer.code, status::kCreated);
  EXPECT_EQ(answer.created, (Path{3303, 4}));

  lwm2m::EncodedAnswer deleted;
  deleted.code = status::kDeleted;
  wire = encode_device_response(deleted, "/");
  EXPECT_EQ(wire.status, 204);
  EXPECT_EQ(
      decode_downlink_response(request(Operation::kDelete, Path{3303, 4}), wire, "/", models())
          .code,
      status::kDeleted);
  wire.status = 200;  // 7.3: 200 or 204 for a Write
  EXPECT_EQ(
      decode_downlink_response(request(Operation::kWrite, Path{1, 0, 1}), wire, "/", models()).code,
      status::kChanged);
  wire.status = 405;
  EXPECT_EQ(decode_downlink_response(read, wire, "/", models()).code, status::kMethodNotAllowed);
}

}  // namespace
}  // namespace tether::binding::http_binding
