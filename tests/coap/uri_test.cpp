// parse_uri: schemes, hosts, ports, path and query decoding, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "coap/uri.hpp"

namespace tether::coap {
namespace {

using Strings = std::vector<std::string>;

Uri parse_ok(std::string_view text) {
  auto r = parse_uri(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().reason);
  return r.ok() ? *r : Uri{};
}

void expect_error(std::string_view text, std::string_view needle) {
  auto r = parse_uri(text);
  ASSERT_FALSE(r.ok()) << text << " parsed to host " << r->host;
  EXPECT_NE(r.error().reason.find(needle), std::string::npos)
      << text << ": reason was " << r.error().reason;
}

TEST(Uri, CoapWithHostAndPath) {
  Uri u = parse_ok("coap://example.com/temperature");
  EXPECT_EQ(u.scheme, Scheme::kCoap);
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 5683);
  EXPECT_EQ(u.path, Strings{"temperature"});
  EXPECT_TRUE(u.query.empty());
  EXPECT_FALSE(u.is_secure());
  EXPECT_FALSE(u.is_stream());
}

TEST(Uri, DefaultPortsPerScheme) {
  EXPECT_EQ(parse_ok("coap://h").port, 5683);
  EXPECT_EQ(parse_ok("coaps://h").port, 5684);
  EXPECT_EQ(parse_ok("coap+tcp://h").port, 5683);
  EXPECT_EQ(parse_ok("coaps+tcp://h").port, 5684);
  EXPECT_EQ(default_port(Scheme::kCoap), 5683);
  EXPECT_EQ(default_port(Scheme::kCoaps), 5684);
  EXPECT_EQ(default_port(Scheme::kCoapTcp), 5683);
  EXPECT_EQ(default_port(Scheme::kCoapsTcp), 5684);
}

TEST(Uri, SchemesSetStreamAndSecurity) {
  Uri tcp = parse_ok("coap+tcp://leshan.example:5783/rd");
  EXPECT_EQ(tcp.scheme, Scheme::kCoapTcp);
  EXPECT_TRUE(tcp.is_stream());
  EXPECT_FALSE(tcp.is_secure());
  EXPECT_EQ(tcp.port, 5783);
  EXPECT_EQ(tcp.path, Strings{"rd"});

  Uri dtls = parse_ok("coaps://192.0.2.1");
  EXPECT_EQ(dtls.scheme, Scheme::kCoaps);
  EXPECT_TRUE(dtls.is_secure());
  EXPECT_FALSE(dtls.is_stream());
  EXPECT_EQ(dtls.host, "192.0.2.1");

  Uri tls = parse_ok("coaps+tcp://h");
  EXPECT_EQ(tls.scheme, Scheme::kCoapsTcp);
  EXPECT_TRUE(tls.is_secure());
  EXPECT_TRUE(tls.is_stream());
}

TEST(Uri, Ipv6LiteralWithPort) {
  Uri u = parse_ok("coaps://[::1]:5684/rd?ep=abc");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 5684);
  EXPECT_EQ(u.path, Strings{"rd"});
  EXPECT_EQ(u.query, Strings{"ep=abc"});
}

TEST(Uri, Ipv6LiteralWithoutPort) {
  Uri u = parse_ok("coap://[2001:db8::2:1]/x");
  EXPECT_EQ(u.host, "2001:db8::2:1");
  EXPECT_EQ(u.port, 5683);
  Uri bare = parse_ok("coap+tcp://[fe80::1]");
  EXPECT_EQ(bare.host, "fe80::1");
  EXPECT_EQ(bare.port, 5683);
  EXPECT_TRUE(bare.path.empty());
}

TEST(Uri, ExplicitPorts) {
  EXPECT_EQ(parse_ok("coap://h:1").port, 1);
  EXPECT_EQ(parse_ok("coap://h:65535").port, 65535);
  EXPECT_EQ(parse_ok("coaps://h:5683").port, 5683);
}

TEST(Uri, MultiSegmentPath) {
  EXPECT_EQ(parse_ok("coap://h/3/0/1").path, (Strings{"3", "0", "1"}));
  EXPECT_EQ(parse_ok("coap://h/").path, Strings{});
  EXPECT_EQ(parse_ok("coap://h").path, Strings{});
  EXPECT_EQ(parse_ok("coap://h/a//b").path, (Strings{"a", "", "b"}));
}

TEST(Uri, TrailingSlashIsAnEmptyLastSegment) {
  // RFC 7252 6.4: only an empty path or a lone "/" has no Uri-Path option.
  EXPECT_EQ(parse_ok("coap://h/a/").path, (Strings{"a", ""}));
  EXPECT_EQ(parse_ok("coap://h/a/?x").path, (Strings{"a", ""}));
  EXPECT_EQ(parse_ok("coap://h//").path, (Strings{"", ""}));
  EXPECT_EQ(parse_ok("coap://h/?x").path, Strings{});
}

TEST(Uri, PercentDecodingOfPath) {
  Uri u = parse_ok("coap://h/sensors/temp%20room%2F1/%c3%a9t%C3%A9");
  EXPECT_EQ(u.path, (Strings{"sensors", "temp room/1", "\xc3\xa9t\xc3\xa9"}));
}

TEST(Uri, PercentDecodingOfQuery) {
  Uri u = parse_ok("coap://h/rd?ep=node%26one&lt=300&q=a%3Db");
  EXPECT_EQ(u.query, (Strings{"ep=node&one", "lt=300", "q=a=b"}));
}

TEST(Uri, QuerySplitAtAmpersand) {
  Uri u = parse_ok("coap://h/rd?ep=client1&lt=86400&lwm2m=1.2&b=U");
  EXPECT_EQ(u.path, Strings{"rd"});
  EXPECT_EQ(u.query, (Strings{"ep=client1", "lt=86400", "lwm2m=1.2", "b=U"}));
}

TEST(Uri, QueryWithoutPath) {
  Uri u = parse_ok("coap://h?x=1");
  EXPECT_EQ(u.host, "h");
  EXPECT_TRUE(u.path.empty());
  EXPECT_EQ(u.query, Strings{"x=1"});
  EXPECT_TRUE(parse_ok("coap://h/p?").query.empty());
}

TEST(Uri, ApplyToAddsOptionsInOrder) {
  Uri u = parse_ok("coap://h/rd/abc?lt=60&b=UQ");
  Message req = make_request(codes::kPost, "");
  u.apply_to(req);
  EXPECT_EQ(req.path(), "/rd/abc");
  EXPECT_EQ(req.queries(), (Strings{"lt=60", "b=UQ"}));
  ASSERT_EQ(req.options.size(), 4u);
  EXPECT_EQ(req.options.list()[0].number, option::kUriPath);
  EXPECT_EQ(req.options.list()[3].number, option::kUriQuery);
}

TEST(UriReject, MissingScheme) {
  expect_error("example.com/temperature", "scheme");
  expect_error("", "scheme");
  expect_error("coap:/h", "scheme");
}

TEST(UriReject, UnsupportedScheme) {
  expect_error("http://example.com/", "unsupported scheme");
  expect_error("coap+ws://h/", "unsupported scheme");
}

TEST(UriReject, BadPort) {
  expect_error("coap://h:0", "bad port");
  expect_error("coap://h:65536", "bad port");
  expect_error("coap://h:99999999999", "bad port");
  expect_error("coap://h:56a/x", "bad port");
  expect_error("coap://h:-1", "bad port");
  expect_error("coap://[::1]:http", "bad port");
}

TEST(UriReject, Fragments) {
  expect_error("coap://h/p#frag", "fragment");
  expect_error("coap://h#", "fragment");
  expect_error("coap://h/p?q=1#f", "fragment");
}

TEST(UriReject, UnterminatedIpv6Literal) {
  expect_error("coap://[::1/rd", "unterminated");
  expect_error("coap://[::1", "unterminated");
}

TEST(UriReject, JunkAfterIpv6Literal) {
  expect_error("coap://[::1]x/rd", "junk");
}

TEST(UriReject, MissingHost) {
  expect_error("coap://", "host");
  expect_error("coap:///rd", "host");
  expect_error("coap://:5683/rd", "host");
  expect_error("coap://[]/rd", "host");
}

TEST(UriReject, BadPercentEscapes) {
  expect_error("coap://h/a%2", "percent");
  expect_error("coap://h/a%", "percent");
  expect_error("coap://h/a%zz", "percent");
  expect_error("coap://h/a?x=%g1", "percent");
}

}  // namespace
}  // namespace tether::coap
