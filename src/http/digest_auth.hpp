#pragma once
// HTTP Digest access authentication with SHA-256 (RFC 7616), for seed 004's client
// authentication on HTTP interfaces. Sans-I/O: header values and time in, verdicts and
// header values out.
//
// Nonces carry their issue time and an HMAC under the server's secret, so issuing one keeps
// no state; they expire after nonce_lifetime (the client is told stale=true and retries).
// Replays are refused: each nonce-count is taken once per nonce. A browser sends parallel
// requests with one nonce over several connections, so counts may arrive out of order: the
// 64 below the highest seen are remembered one by one (like IPsec's anti-replay window,
// RFC 4303 3.4.3); older ones are refused. The counts are kept for at most
// max_nonces nonces; when one is dropped, every nonce issued before it becomes stale, so a
// dropped count can never let a request be replayed.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"

namespace tether::http {

class DigestAuth {
 public:
  enum class Verdict : std::uint8_t {
    kOk,
    kMissing,   // no Digest credentials: challenge
    kWrong,     // malformed, another realm or URI, an unknown user, a wrong response
    kStale,     // an expired or forgotten nonce: challenge with stale=true
    kReplayed,  // a nonce-count seen before, or too far below the highest seen
  };
  struct Outcome {
    Verdict verdict = Verdict::kMissing;
    std::string username;  // kOk: who
  };
  // The user's password; none for an unknown user.
  using PasswordOf = std::function<std::optional<std::string>(std::string_view username)>;

  DigestAuth(std::string realm, Bytes secret, Duration nonce_lifetime = Duration{300'000},
             std::size_t max_nonces = 65'536);

  // The WWW-Authenticate value of a 401.
  std::string challenge(Instant now, bool stale = false) const;
  // Checks an Authorization value (absent: kMissing) for a request with this method and
  // request-target.
  Outcome verify(std::string_view method, std::string_view target,
                 std::optional<std::string_view> authorization, const PasswordOf& password_of,
                 Instant now);

 private:
  std::string nonce_at(std::int64_t issued_us) const;

  std::string realm_;
  Bytes secret_;
  Duration lifetime_;
  std::size_t max_nonces_;
  // The nonce-counts used with one nonce: the highest, and which of the 64 below it
  // (bit i: highest - 1 - i).
  struct Counts {
    std::uint32_t highest = 0;
    std::uint64_t below = 0;
    // Takes `count` if it was not used and is not too old.
    bool take(std::uint32_t count);
  };
  // Nonce -> its counts; by issue time for eviction.
  std::map<std::string, Counts> counts_;
  std::multimap<std::int64_t, std::string> by_issue_;
  std::int64_t oldest_valid_us_ = 0;
  mutable std::int64_t last_issued_us_ = 0;  // challenge(): each nonce unique
};

// The client's side: the Authorization value that answers `challenge` (a WWW-Authenticate
// value with algorithm SHA-256 and qop auth) for `method` and `uri`, with our `cnonce` and
// nonce-count `nc`. Fails for a challenge that asks for something else.
Result<std::string> digest_authorization(std::string_view challenge, std::string_view method,
                                         std::string_view uri, std::string_view username,
                                         std::string_view password, std::string_view cnonce,
                                         std::uint32_t nc);

// The parameters of a Digest challenge or credentials ("Digest a=1, b=\"x\""); none when it
// is not Digest or does not parse.
std::optional<std::map<std::string, std::string>> digest_parameters(std::string_view header);

}  // namespace tether::http
