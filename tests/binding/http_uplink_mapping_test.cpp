// Transport TS 7.1.2, 7.1.3, 7.1.5 and 7.3: client requests over HTTP, read from raw bytes as
// a peer sends them, as operation values; our client's requests for them; the answers and
// the status codes of section 7.3.
#include <gtest/gtest.h>

#include "binding/http/uplink_mapping.hpp"
#include "support/raw_http.hpp"

namespace tether::binding::http_binding {
namespace {

using test_support::parse_raw_request;
namespace status = lwm2m::status;

lwm2m::Uplink decoded(std::string_view raw) {
  auto request = parse_raw_request(raw);
  EXPECT_TRUE(request.has_value()) << raw;
  if (!request) return {};
  auto uplink = decode_uplink(*request);
  EXPECT_TRUE(uplink) << (uplink ? "" : uplink.error().reason);
  return uplink ? *uplink : lwm2m::Uplink{};
}

lwm2m::Status refusal(std::string_view raw) {
  auto request = parse_raw_request(raw);
  EXPECT_TRUE(request.has_value()) << raw;
  if (!request) return status::kContent;
  auto uplink = decode_uplink(*request);
  EXPECT_FALSE(uplink) << raw;
  return uplink ? status::kContent : lwm2m::status_of(uplink.error());
}

TEST(HttpUplink, RegisterUpdateAndDeregisterFromTheWire) {
  auto reg = decoded(
      "POST /rd?ep=dev%2D1&lt=300&lwm2m=1.2&b=H&Q HTTP/1.1\r\nHost: s\r\n"
      "Content-Type: application/link-format\r\nContent-Length: 23\r\n\r\n"
      "</1/0>,</3/0>,</3303/0>");
  const auto* r = std::get_if<lwm2m::RegisterRequest>(&reg);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->params.endpoint, "dev-1");
  EXPECT_EQ(r->params.lifetime, 300u);
  EXPECT_EQ(r->params.binding, "H");
  EXPECT_TRUE(r->params.queue_mode);
  EXPECT_EQ(r->objects.objects.size(), 3u);

  auto update = decoded("POST /rd/a1b2?lt=60 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n");
  const auto* u = std::get_if<lwm2m::UpdateRequest>(&update);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->location, "a1b2");
  EXPECT_EQ(u->params.lifetime, 60u);
  EXPECT_FALSE(u->objects.has_value());

  auto gone = decoded("DELETE /rd/a1b2 HTTP/1.1\r\nHost: s\r\n\r\n");
  const auto* d = std::get_if<lwm2m::DeregisterRequest>(&gone);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->location, "a1b2");
}

TEST(HttpUplink, RefusalsCarryTheCodesOfSection73) {
  // An unknown parameter, a De-register with parameters: 400. (A missing ep is the
  // engine's to judge: a TLS identity may name the endpoint.)
  EXPECT_EQ(refusal("POST /rd?ep=d&zz=1 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kBadRequest);
  EXPECT_EQ(refusal("DELETE /rd/x?lt=5 HTTP/1.1\r\nHost: s\r\n\r\n"), status::kBadRequest);
  // An object list in another format, and a malformed one.
  EXPECT_EQ(refusal("POST /rd?ep=d HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\n"
                    "Content-Length: 2\r\n\r\n{}"),
            status::kBadRequest);
  EXPECT_EQ(refusal("POST /rd?ep=d HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\n\r\n</3/x"),
            status::kBadRequest);
  // A name holding '=' once decoded; a query that does not decode.
  EXPECT_EQ(refusal("POST /rd?ep%3Dx HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kBadRequest);
  EXPECT_EQ(refusal("POST /rd?ep=%zz HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kBadRequest);
  // Wrong methods: 405; other resources: 404.
  EXPECT_EQ(refusal("GET /rd HTTP/1.1\r\nHost: s\r\n\r\n"), status::kMethodNotAllowed);
  EXPECT_EQ(refusal("PUT /rd/x HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kMethodNotAllowed);
  EXPECT_EQ(refusal("GET /dp HTTP/1.1\r\nHost: s\r\n\r\n"), status::kMethodNotAllowed);
  EXPECT_EQ(refusal("GET /bs?ep=d HTTP/1.1\r\nHost: s\r\n\r\n"), status::kMethodNotAllowed);
  EXPECT_EQ(refusal("POST /bspack?ep=d HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kMethodNotAllowed);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: s\r\n\r\n"), status::kNotFound);
  EXPECT_EQ(refusal("POST /rd/x/y HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kNotFound);
  EXPECT_EQ(refusal("POST /dp/x HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n"),
            status::kNotFound);
}

TEST(HttpUplink, SendNeedsAnLwm2mContentType) {
  auto send = decoded(
      "POST /dp HTTP/1.1\r\nHost: s\r\nContent-Type: application/senml+cbor\r\n"
      "Content-Length: 3\r\n\r\nabc");
  const auto* s = std::get_if<lwm2m::SendRequest>(&send);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->content_format, 112);
  EXPECT_EQ(s->payload, to_bytes("abc"));
  EXPECT_EQ(refusal("POST /dp HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\nabc"),
            status::kBadRequest);
  EXPECT_EQ(refusal("POST /dp HTTP/1.1\r\nHost: s\r\nContent-Type: text/html\r\n"
                    "Content-Length: 3\r\n\r\nabc"),
            status::kUnsupportedContentFormat);
}

TEST(HttpUplink, BootstrapRequestAndPackRequest) {
  auto bs = decoded("POST /bs?ep=dev1&pct=112 HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n");
  const auto* b = std::get_if<lwm2m::BootstrapRequest>(&bs);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->endpoint, "dev1");
  EXPECT_EQ(b->preferred_format, 112);
  auto pack = decoded(
      "GET /bspack?ep=dev1 HTTP/1.1\r\nHost: s\r\n"
      "Accept: text/html;q=0.9, application/vnd.oma.lwm2m+cbor\r\n\r\n");
  const auto* p = std::get_if<lwm2m::BootstrapPackRequest>(&pack);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->endpoint, "dev1");
  EXPECT_EQ(p->accept, 11544);
  EXPECT_EQ(refusal("GET /bspack?ep=dev1 HTTP/1.1\r\nHost: s\r\nAccept: text/html\r\n\r\n"),
            status::kNotAcceptable);
  EXPECT_EQ(refusal("GET /bspack?ep=dev1&pct=112 HTTP/1.1\r\nHost: s\r\n\r\n"),
            status::kBadRequest);
}

TEST(HttpUplink, OurRequestsDecodeToWhatWasSent) {
  lwm2m::RegisterRequest reg;
  reg.params.endpoint = "dev 1&2";  // needs percent-encoding in a query
  reg.params.lifetime = 120;
  reg.params.version = "1.2";
  reg.params.binding = "H";
  auto objects = lwm2m::format::link_format::parse_registration(
      "</lwm2m>;rt=\"oma.lwm2m\","
      "</lwm2m/1/0>,</lwm2m/3/0>");
  ASSERT_TRUE(objects);
  reg.objects = *objects;
  const http::Request wire = encode_uplink(lwm2m::Uplink{reg});
  EXPECT_EQ(wire.method, "POST");
  EXPECT_EQ(wire.path, "/rd");
  EXPECT_EQ(wire.headers.get("Content-Type"), "application/link-format");
  auto back = decode_uplink(wire);
  ASSERT_TRUE(back) << back.error().reason;
  const auto* r = std::get_if<lwm2m::RegisterRequest>(&*back);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->params.endpoint, "dev 1&2");
  EXPECT_EQ(r->objects.alternate_path, "/lwm2m");

  const lwm2m::Uplink uplinks[] = {
      lwm2m::UpdateRequest{"x/y", {}, std::nullopt}, lwm2m::DeregisterRequest{"x/y"},
      lwm2m::SendRequest{11544, to_bytes("\xa0")},   lwm2m::BootstrapRequest{"dev1", 112},
      lwm2m::BootstrapPackRequest{"dev1", 110},
  };
  for (const auto& u : uplinks) {
    auto again = decode_uplink(encode_uplink(u));
    ASSERT_TRUE(again) << again.error().reason;
    EXPECT_EQ(again->index(), u.index());
  }
  // A location holding '/' stays one segment.
  auto update = decode_uplink(encode_uplink(uplinks[0]));
  EXPECT_EQ(std::get<lwm2m::UpdateRequest>(*update).location, "x/y");
}

TEST(HttpUplink, AnswersCarryTheStatusOfTheirTable) {
  const lwm2m::Uplink reg = lwm2m::RegisterRequest{};
  lwm2m::UplinkAnswer created;
  created.code = status::kCreated;
  created.location = "a1";
  auto r = encode_uplink_answer(reg, created);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.headers.get("Location"), "/rd/a1");
  auto back = decode_uplink_answer(reg, r);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->code, status::kCreated);
  EXPECT_EQ(back->location, "a1");

  lwm2m::UplinkAnswer changed;
  const lwm2m::Uplink update = lwm2m::UpdateRequest{};
  EXPECT_EQ(encode_uplink_answer(update, changed).status, 204);
  EXPECT_EQ(encode_uplink_answer(lwm2m::Uplink{lwm2m::BootstrapRequest{}}, changed).status, 200);
  auto refused = encode_uplink_answer(
      update, lwm2m::UplinkAnswer::refusal(lwm2m::reject(status::kNotFound, "no such id")));
  EXPECT_EQ(refused.status, 404);
  EXPECT_EQ(refused.headers.get("Content-Type"), "text/plain;charset=utf-8");

  http::Response wire;
  wire.status = 200;
  EXPECT_EQ(decode_uplink_answer(update, wire)->code, status::kChanged);
  EXPECT_EQ(decode_uplink_answer(lwm2m::Uplink{lwm2m::DeregisterRequest{}}, wire)->code,
            status::kDeleted);
  wire.status = 412;
  EXPECT_EQ(decode_uplink_answer(reg, wire)->code, status::kPreconditionFailed);
  wire.status = 418;
  EXPECT_EQ(decode_uplink_answer(reg, wire)->code, status::kBadRequest);
  wire.status = 302;
  EXPECT_EQ(decode_uplink_answer(reg, wire)->code, status::kInternalServerError);
  // A Location as an absolute URI; none at all.
  wire.status = 201;
  wire.headers.set("Location", "https://lwm2m.example:8443/rd/Zq9");
  EXPECT_EQ(decode_uplink_answer(reg, wire)->location, "Zq9");
  wire.headers.set("Location", "/elsewhere/Zq9");
  EXPECT_FALSE(decode_uplink_answer(reg, wire));
}

TEST(HttpUplink, TheDeviceAnnouncesItsOrigin) {
  auto request = parse_raw_request(
      "POST /rd?ep=d HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n"
      "Link: <https://x.example/a>; rel=next, <https://192.0.2.7:8443>; "
      "rel=\"alternate lwm2m-device\"\r\n\r\n");
  ASSERT_TRUE(request);
  auto origin = device_origin(*request);
  ASSERT_TRUE(origin);
  EXPECT_EQ(*origin, "https://192.0.2.7:8443");
  http::Request ours = encode_uplink(lwm2m::Uplink{lwm2m::UpdateRequest{"a", {}, std::nullopt}});
  EXPECT_FALSE(device_origin(ours)->has_value());
  announce_device_origin(ours, "http://[::1]:5690");
  EXPECT_EQ(device_origin(ours)->value_or(""), "http://[::1]:5690");
  for (const char* bad :
       {"ftp://h", "https://h/path", "https://u@h", "https://h:0", "https://h:99999", "https://",
        "https://[::1", "https://[::1\x01]:80", "https://h\xff:80"}) {
    ours.headers.set("Link", std::string("<") + bad + ">; rel=\"lwm2m-device\"");
    auto refused = device_origin(ours);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(lwm2m::status_of(refused.error()), status::kBadRequest);
  }
}

}  // namespace
}  // namespace tether::binding::http_binding
