#include "http/interface_auth.hpp"

#include <algorithm>
#include <cctype>

#include "common/text.hpp"

namespace tether::http {

namespace {
constexpr std::size_t kMaxName = 256;

// "Digest ...", "bearer ...": the scheme, a space, its parameters.
bool starts_with_scheme(std::string_view header, std::string_view scheme) {
  return header.size() > scheme.size() && header[scheme.size()] == ' ' &&
         equals_ignore_case(header.substr(0, scheme.size()), scheme);
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}
}  // namespace

const char* auth_method_name(Caller::Method method) {
  switch (method) {
    case Caller::Method::kNone:
      return "none";
    case Caller::Method::kDigest:
      return "digest";
    case Caller::Method::kCertificate:
      return "certificate";
    case Caller::Method::kProxy:
      return "proxy";
    case Caller::Method::kBearer:
      return "token";
  }
  return "none";
}

std::string host_of(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    return std::string(address.substr(1, close == std::string_view::npos ? 0 : close - 1));
  }
  const auto colon = address.rfind(':');
  return std::string(address.substr(0, colon));
}

Result<Ok> parse_auth_modes(std::string_view list, InterfaceAuthConfig& config) {
  config.anonymous = config.digest = config.certificate = config.bearer = false;
  bool proxy = false;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    const auto mode = list.substr(start, comma - start);
    if (mode == "none") {
      config.anonymous = true;
    } else if (mode == "digest") {
      config.digest = true;
    } else if (mode == "certificate") {
      config.certificate = true;
    } else if (mode == "token") {
      config.bearer = true;
    } else if (mode == "proxy") {
      proxy = true;
    } else {
      return fail("unknown authentication mode '" + printable(mode, 32) +
                  "' (none, digest, certificate, proxy, token)");
    }
    start = comma + 1;
  }
  if (!proxy) {
    config.trusted_proxies.clear();
    config.identity_header.clear();
  } else if (config.identity_header.empty()) {
    config.identity_header = "X-Authenticated-User";
  }
  return Ok{};
}

Result<Ok> check_auth_config(const InterfaceAuthConfig& config) {
  const bool proxy = !config.identity_header.empty();
  if (!config.anonymous && !config.digest && !config.certificate && !config.bearer && !proxy) {
    return fail("no authentication mode: give at least one");
  }
  if (proxy && config.trusted_proxies.empty()) {
    return fail("mode proxy needs the proxies' addresses");
  }
  if (!proxy && !config.trusted_proxies.empty()) {
    return fail("trusted proxies without mode proxy");
  }
  if (proxy && !is_token(config.identity_header)) {
    return fail("the identity header must be a header name");
  }
  for (const auto& p : config.trusted_proxies) {
    if (p.empty() || p.find_first_of(" /[]") != std::string::npos) {
      return fail("a trusted proxy is an IP address: '" + printable(p, 64) + "'");
    }
  }
  return Ok{};
}

InterfaceAuth::InterfaceAuth(InterfaceAuthConfig config, Bytes nonce_secret)
    : config_(std::move(config)),
      digest_(config_.realm, std::move(nonce_secret), config_.nonce_lifetime) {}

bool InterfaceAuth::from_trusted_proxy(std::string_view address) const {
  if (config_.identity_header.empty()) return false;
  const std::string host = host_of(address);
  return std::find(config_.trusted_proxies.begin(), config_.trusted_proxies.end(), host) !=
         config_.trusted_proxies.end();
}

InterfaceAuth::Verdict InterfaceAuth::refusal(Instant now, std::string reason, bool stale) const {
  Verdict v;
  v.reason = std::move(reason);
  // A 401 only names a way to authenticate the caller can take; else 403 (seed 004 5.2.1).
  if (config_.digest) v.challenges.push_back(digest_.challenge(now, stale));
  if (config_.bearer) v.challenges.push_back("Bearer realm=\"" + config_.realm + "\"");
  v.status = v.challenges.empty() ? 403 : 401;
  return v;
}

Response InterfaceAuth::respond(const Verdict& refused, std::string body,
                                std::string content_type) {
  Response r;
  r.status = refused.status == 0 ? 403 : refused.status;
  for (const auto& c : refused.challenges) r.headers.add("WWW-Authenticate", c);
  if (!body.empty()) r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

InterfaceAuth::Verdict InterfaceAuth::authenticate(const Request& request,
                                                   const RequestSource& from,
                                                   const PasswordOf& password_of,
                                                   const UserOfToken& user_of_token, Instant now) {
  auto accept = [&](Caller::Method method, std::string name) {
    // A name goes on to logs, the store and JSON: clean text only.
    if (!check_text(name, "the caller's name", kMaxName)) {
      return refusal(now, "the name proved is not clean text");
    }
    Verdict v;
    v.caller = Caller{method, std::move(name)};
    return v;
  };
  // The proxy's word first: it authenticated the caller before us (seed 004 5.2.1.1).
  if (!config_.identity_header.empty() && from_trusted_proxy(from.address)) {
    if (auto named = request.headers.get(config_.identity_header)) {
      if (named->empty()) return refusal(now, "the proxy's identity header is empty");
      return accept(Caller::Method::kProxy, std::string(*named));
    }
  }
  const auto authorization = request.headers.get("authorization");
  if (authorization && starts_with_scheme(*authorization, "Digest")) {
    if (!config_.digest) return refusal(now, "this interface takes no Digest credentials");
    const auto outcome =
        digest_.verify(request.method, request.target, authorization, password_of, now);
    switch (outcome.verdict) {
      case DigestAuth::Verdict::kOk:
        return accept(Caller::Method::kDigest, outcome.username);
      case DigestAuth::Verdict::kStale:
        return refusal(now, "the Digest nonce expired", true);
      case DigestAuth::Verdict::kReplayed:
        return refusal(now, "the Digest nonce count was used before");
      case DigestAuth::Verdict::kMissing:
      case DigestAuth::Verdict::kWrong:
        break;
    }
    return refusal(now, "the Digest credentials are wrong");
  }
  if (authorization && starts_with_scheme(*authorization, "Bearer")) {
    const auto token = authorization->substr(7);
    auto user = config_.bearer && user_of_token ? user_of_token(token) : std::nullopt;
    if (!user) return refusal(now, "the bearer token is not known here");
    return accept(Caller::Method::kBearer, std::move(*user));
  }
  if (authorization) return refusal(now, "an authentication scheme this interface does not take");
  if (config_.certificate && from.certificate_name && !from.certificate_name->empty()) {
    return accept(Caller::Method::kCertificate, *from.certificate_name);
  }
  if (config_.anonymous) return accept(Caller::Method::kNone, {});
  return refusal(now, "this interface needs authentication");
}

}  // namespace tether::http
