#include "coap/uri.hpp"

#include <charconv>

#include "common/text.hpp"

namespace tether::coap {

std::uint16_t default_port(Scheme s) {
  return (s == Scheme::kCoaps || s == Scheme::kCoapsTcp) ? 5684 : 5683;
}

const char* scheme_name(Scheme s) {
  switch (s) {
    case Scheme::kCoap:
      return "coap";
    case Scheme::kCoaps:
      return "coaps";
    case Scheme::kCoapTcp:
      return "coap+tcp";
    case Scheme::kCoapsTcp:
      return "coaps+tcp";
  }
  return "coap";
}

void set_proxy_target(Message& request, const Uri& target) {
  request.options.set(option::kProxyScheme, to_bytes(scheme_name(target.scheme)));
  request.options.set(option::kUriHost, to_bytes(target.host));
  request.options.set_uint(option::kUriPort, target.port);
}

Result<Uri> parse_uri(std::string_view text) {
  Uri uri;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("URI without a scheme: " + std::string(text));
  const auto scheme = text.substr(0, sep);
  if (scheme == "coap") {
    uri.scheme = Scheme::kCoap;
  } else if (scheme == "coaps") {
    uri.scheme = Scheme::kCoaps;
  } else if (scheme == "coap+tcp") {
    uri.scheme = Scheme::kCoapTcp;
  } else if (scheme == "coaps+tcp") {
    uri.scheme = Scheme::kCoapsTcp;
  } else {
    return fail("unsupported scheme " + std::string(scheme));
  }
  uri.port = default_port(uri.scheme);
  std::string_view rest = text.substr(sep + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    return fail("fragments are not allowed in CoAP URIs");
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  rest.remove_prefix(authority.size());
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 literal");
    uri.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("junk after IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    uri.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (uri.host.empty()) return fail("URI without a host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return fail("bad port " + std::string(port_text));
    }
    uri.port = static_cast<std::uint16_t>(port);
  }
  std::string_view path = rest.substr(0, rest.find('?'));
  std::string_view query = rest.size() > path.size() ? rest.substr(path.size() + 1) : "";
  // RFC 7252 6.4 step 8: "" and "/" carry no Uri-Path; otherwise every segment does, so
  // a trailing slash yields a final empty segment ("/a/" names a different resource).
  if (path.size() > 1) {
    std::size_t start = 1;
    for (;;) {
      auto end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      auto seg = percent_decode(path.substr(start, end - start));
      if (!seg) return seg.error();
      uri.path.push_back(std::move(*seg));
      if (end == path.size()) break;
      start = end + 1;
    }
  }
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    auto q = percent_decode(query.substr(start, end - start));
    if (!q) return q.error();
    uri.query.push_back(std::move(*q));
    start = end + 1;
  }
  return uri;
}

void Uri::apply_to(Message& request) const {
  for (const auto& seg : path) request.options.add(option::kUriPath, seg);
  for (const auto& q : query) request.options.add(option::kUriQuery, q);
}

}  // namespace tether::coap
