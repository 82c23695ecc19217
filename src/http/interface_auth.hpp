#pragma once
// Seed 004's client authentication for one HTTP interface (the HTTP binding's uplinks, a
// device's server for downlinks, a REST API): which of its modes the interface takes, and
// who a request proves to be. Sans-I/O: a request, where it came from and the time in, a
// verdict out; the owner turns a refusal into its own 401 or 403.
//
// Seed 004 5.2.1 names three modes, each configured per interface: HTTP Digest (RFC 7616,
// SHA-256; http::DigestAuth), a lower layer's proof (the TLS client certificate's subject
// CN), and a trusted external element (a proxy whose header names the caller; believed only
// from the configured proxy addresses). Bearer tokens are our REST API's own fourth.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "http/digest_auth.hpp"
#include "http/message.hpp"

namespace tether::http {

struct InterfaceAuthConfig {
  bool anonymous = true;     // a request that proves nothing passes (its handler decides)
  bool digest = false;       // Authorization: Digest (RFC 7616, SHA-256)
  bool certificate = false;  // the verified TLS client certificate's subject CN
  bool bearer = false;       // Authorization: Bearer <token>
  // Seed 004 5.2.1.1: a proxy at one of these hosts ("127.0.0.1", "::1") names the caller
  // in identity_header; the header is dropped from anyone else. Both empty: no proxy mode.
  std::vector<std::string> trusted_proxies;
  std::string identity_header;
  std::string realm = "tether";
  Duration nonce_lifetime{300'000};
};

// Sets the modes of `config` from a list such as "none,digest,certificate,proxy,token"
// ("none": anonymous requests pass). `proxy` needs trusted_proxies and identity_header,
// checked by check_auth_config.
Result<Ok> parse_auth_modes(std::string_view list, InterfaceAuthConfig& config);
// Start-up checks: at least one mode, proxy settings that go together, addresses that are
// hosts and a header name that is a token.
Result<Ok> check_auth_config(const InterfaceAuthConfig& config);

// Who a request proved to be.
struct Caller {
  enum class Method : std::uint8_t { kNone, kDigest, kCertificate, kProxy, kBearer };
  Method method = Method::kNone;
  std::string name;  // the user, the certificate's CN, the proxy's word; "" for kNone
};
const char* auth_method_name(Caller::Method method);

// Where a request came from, as the HTTP server saw it.
struct RequestSource {
  std::string address;                          // "192.0.2.7:51234", "[::1]:4000"
  std::optional<std::string> certificate_name;  // a verified client certificate's CN
};

class InterfaceAuth {
 public:
  using PasswordOf = DigestAuth::PasswordOf;
  // The user a bearer token belongs to; none for an unknown token.
  using UserOfToken = std::function<std::optional<std::string>(std::string_view token)>;

  struct Verdict {
    std::optional<Caller> caller;         // accepted: who
    int status = 0;                       // refused: 401 (with the challenge below) or 403
    std::vector<std::string> challenges;  // a 401's WWW-Authenticate values
    std::string reason;                   // for logs and error bodies; never a secret
  };

  InterfaceAuth(InterfaceAuthConfig config, Bytes nonce_secret);

  Verdict authenticate(const Request& request, const RequestSource& from,
                       const PasswordOf& password_of, const UserOfToken& user_of_token,
                       Instant now);
  // The 401 a handler gives later, when the caller turns out to need a proof it did not
  // bring (an endpoint with a Digest password that sent none).
  Verdict refusal(Instant now, std::string reason, bool stale = false) const;
  // A refusal as a response: its status, challenges and `body`.
  static Response respond(const Verdict& refused, std::string body, std::string content_type);
  // Whether `address` ("host:port") is one of the trusted proxies.
  bool from_trusted_proxy(std::string_view address) const;
  const InterfaceAuthConfig& config() const { return config_; }

 private:
  InterfaceAuthConfig config_;
  DigestAuth digest_;
};

// The host of "192.0.2.7:51234" or "[::1]:4000" ("192.0.2.7", "::1").
std::string host_of(std::string_view address);

}  // namespace tether::http
