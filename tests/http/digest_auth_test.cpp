// HTTP Digest with SHA-256 (RFC 7616) as seed 004's client authentication: the RFC's own
// example, our challenge answered and checked, and what is refused: a wrong password, an
// unknown user, credentials for another URI or realm, a forged or expired nonce, a replayed
// nonce-count, and nonces forgotten under the memory bound.
#include <gtest/gtest.h>

#include <string>

#include "http/digest_auth.hpp"

namespace tether::http {
namespace {

const Instant kStart = instant_at(Duration{1'000'000});
using Verdict = DigestAuth::Verdict;

DigestAuth::PasswordOf users() {
  return [](std::string_view user) -> std::optional<std::string> {
    if (user == "dev1") return std::string("s3cret");
    return std::nullopt;
  };
}

TEST(DigestAuth, TheExampleOfRfc7616) {
  // RFC 7616 3.9.1, the SHA-256 response.
  auto answer = digest_authorization(
      "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
      "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
      "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
      "GET", "/dir/index.html", "Mufasa", "Circle of Life",
      "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1);
  ASSERT_TRUE(answer) << answer.error().reason;
  EXPECT_NE(
      answer->find("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""),
      std::string::npos)
      << *answer;
  EXPECT_NE(answer->find("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""),
            std::string::npos);
  EXPECT_FALSE(digest_authorization("Digest realm=\"r\", nonce=\"n\", qop=auth, algorithm=MD5",
                                    "GET", "/", "u", "p", "c", 1));
  EXPECT_FALSE(digest_authorization("Basic realm=\"r\"", "GET", "/", "u", "p", "c", 1));
}

TEST(DigestAuth, AcceptsTheRightCredentialsOnce) {
  DigestAuth auth("tether", to_bytes("server secret"));
  const std::string challenge = auth.challenge(kStart);
  auto ok = digest_authorization(challenge, "POST", "/rd?ep=dev1", "dev1", "s3cret", "abc", 1);
  ASSERT_TRUE(ok);
  auto v = auth.verify("POST", "/rd?ep=dev1", *ok, users(), kStart);
  EXPECT_EQ(v.verdict, Verdict::kOk);
  EXPECT_EQ(v.username, "dev1");
  // The same again: a replay.
  EXPECT_EQ(auth.verify("POST", "/rd?ep=dev1", *ok, users(), kStart).verdict, Verdict::kReplayed);
  // The next count on the same nonce goes through.
  auto next = digest_authorization(challenge, "POST", "/rd?ep=dev1", "dev1", "s3cret", "abd", 2);
  EXPECT_EQ(auth.verify("POST", "/rd?ep=dev1", *next, users(), kStart).verdict, Verdict::kOk);
  // No credentials, or another scheme: a challenge.
  EXPECT_EQ(auth.verify("POST", "/rd", std::nullopt, users(), kStart).verdict, Verdict::kMissing);
  EXPECT_EQ(auth.verify("POST", "/rd", "Basic ZGV2MTpzM2NyZXQ=", users(), kStart).verdict,
            Verdict::kMissing);
}

// A browser sends parallel requests with one nonce over several connections: their counts
// can arrive out of order, and each is still taken once.
TEST(DigestAuth, TakesCountsOutOfOrderEachOnceWithinAWindow) {
  DigestAuth auth("tether", to_bytes("server secret"));
  const std::string challenge = auth.challenge(kStart);
  auto verdict = [&](std::uint32_t nc) {
    auto value = digest_authorization(challenge, "GET", "/api/clients", "dev1", "s3cret",
                                      "c" + std::to_string(nc), nc);
    return auth.verify("GET", "/api/clients", *value, users(), kStart).verdict;
  };
  EXPECT_EQ(verdict(3), Verdict::kOk);
  EXPECT_EQ(verdict(1), Verdict::kOk);
  EXPECT_EQ(verdict(2), Verdict::kOk);
  EXPECT_EQ(verdict(2), Verdict::kReplayed);
  EXPECT_EQ(verdict(3), Verdict::kReplayed);
  // A jump of exactly the window keeps the old highest as the oldest remembered count.
  EXPECT_EQ(verdict(67), Verdict::kOk);
  EXPECT_EQ(verdict(3), Verdict::kReplayed);
  EXPECT_EQ(verdict(4), Verdict::kOk);
  EXPECT_EQ(verdict(4), Verdict::kReplayed);
  // Past the window: refused even if never used, since it can no longer be told apart.
  EXPECT_EQ(verdict(200), Verdict::kOk);
  EXPECT_EQ(verdict(136), Verdict::kOk);
  EXPECT_EQ(verdict(135), Verdict::kReplayed);
  EXPECT_EQ(verdict(136), Verdict::kReplayed);
  EXPECT_EQ(verdict(199), Verdict::kOk);
}

// Two clients challenged at the same instant get different nonces, so one's counts never
// make the other's look replayed.
TEST(DigestAuth, EachChallengeHasItsOwnNonce) {
  DigestAuth auth("tether", to_bytes("server secret"));
  const std::string first = auth.challenge(kStart);
  const std::string second = auth.challenge(kStart);
  EXPECT_NE(first, second);
  for (const auto* challenge : {&first, &second}) {
    auto value = digest_authorization(*challenge, "GET", "/", "dev1", "s3cret", "c", 1);
    EXPECT_EQ(auth.verify("GET", "/", *value, users(), kStart).verdict, Verdict::kOk);
  }
}

TEST(DigestAuth, RefusesWrongUsersPasswordsUrisRealmsAndNonces) {
  DigestAuth auth("tether", to_bytes("server secret"));
  const std::string challenge = auth.challenge(kStart);
  auto check = [&](const std::string& value, std::string_view target = "/rd") {
    return auth.verify("POST", target, value, users(), kStart).verdict;
  };
  EXPECT_EQ(check(*digest_authorization(challenge, "POST", "/rd", "dev1", "wrong", "c", 1)),
            Verdict::kWrong);
  EXPECT_EQ(check(*digest_authorization(challenge, "POST", "/rd", "dev9", "s3cret", "c", 1)),
            Verdict::kWrong);
  EXPECT_EQ(check(*digest_authorization(challenge, "POST", "/dp", "dev1", "s3cret", "c", 1)),
            Verdict::kWrong);  // for another URI
  DigestAuth other("elsewhere", to_bytes("server secret"));
  EXPECT_EQ(check(*digest_authorization(other.challenge(kStart), "POST", "/rd", "dev1", "s3cret",
                                        "c", 1)),
            Verdict::kWrong);
  // A nonce we did not make (its MAC altered).
  std::string forged = challenge;
  const auto at = forged.find("nonce=\"") + 7 + 20;
  forged[at] = forged[at] == 'a' ? 'b' : 'a';
  EXPECT_EQ(check(*digest_authorization(forged, "POST", "/rd", "dev1", "s3cret", "c", 1)),
            Verdict::kWrong);
  EXPECT_EQ(check("Digest username=\"dev1\", nonce=\"x\""), Verdict::kWrong);
  EXPECT_EQ(check("Digest username=\"dev1"), Verdict::kMissing);  // does not parse
}

TEST(DigestAuth, NoncesExpireAndForgottenOnesTurnStale) {
  DigestAuth auth("tether", to_bytes("k"), Duration{300'000}, 2);
  const std::string old = auth.challenge(kStart);
  auto late = digest_authorization(old, "GET", "/x", "dev1", "s3cret", "c", 1);
  EXPECT_EQ(auth.verify("GET", "/x", *late, users(), kStart + Duration{300'000}).verdict,
            Verdict::kStale);
  EXPECT_NE(auth.challenge(kStart, true).find("stale=true"), std::string::npos);

  // Three nonces in use under a bound of two: the first one's count is forgotten, so the
  // first nonce is stale from then on (never open to a replay).
  std::string nonces[3];
  for (int i = 0; i < 3; ++i) {
    nonces[i] = auth.challenge(kStart + Duration{i * 10});
    auto a = digest_authorization(nonces[i], "GET", "/x", "dev1", "s3cret", "c", 1);
    EXPECT_EQ(auth.verify("GET", "/x", *a, users(), kStart + Duration{i * 10}).verdict,
              Verdict::kOk);
  }
  auto again = digest_authorization(nonces[0], "GET", "/x", "dev1", "s3cret", "c", 1);
  EXPECT_EQ(auth.verify("GET", "/x", *again, users(), kStart + Duration{50}).verdict,
            Verdict::kStale);
  auto later = digest_authorization(nonces[2], "GET", "/x", "dev1", "s3cret", "c", 2);
  EXPECT_EQ(auth.verify("GET", "/x", *later, users(), kStart + Duration{50}).verdict, Verdict::kOk);
}

}  // namespace
}  // namespace tether::http
