// Seed 004's client authentication for one HTTP interface: each mode accepted with the right
// proof and refused without it, the proxy's header believed only from the proxy, and a 401
// only when the interface names a way the caller can take (else 403).
#include <gtest/gtest.h>

#include <string>

#include "common/random.hpp"
#include "http/digest_client.hpp"
#include "http/interface_auth.hpp"

namespace tether::http {
namespace {

const Instant kNow = instant_at(Duration{5'000'000});

InterfaceAuth::PasswordOf users() {
  return [](std::string_view user) -> std::optional<std::string> {
    if (user == "dev1") return std::string("s3cret");
    return std::nullopt;
  };
}

InterfaceAuth::UserOfToken tokens() {
  return [](std::string_view token) -> std::optional<std::string> {
    if (token == "tok-ops") return std::string("ops");
    return std::nullopt;
  };
}

Request post(std::string target) {
  Request r;
  r.method = "POST";
  r.target = target;
  r.path = target.substr(0, target.find('?'));
  return r;
}

InterfaceAuth make(std::string_view modes, std::vector<std::string> proxies = {}) {
  InterfaceAuthConfig c;
  c.trusted_proxies = std::move(proxies);
  EXPECT_TRUE(parse_auth_modes(modes, c));
  EXPECT_TRUE(check_auth_config(c)) << modes;
  return InterfaceAuth(c, to_bytes("nonce secret"));
}

// Answers the challenge of `refused` as our HTTP client would.
std::string answer(const InterfaceAuth::Verdict& refused, const Request& r, std::string user,
                   std::string password, std::uint32_t nc = 1) {
  EXPECT_EQ(refused.status, 401);
  EXPECT_FALSE(refused.challenges.empty());
  auto a = digest_authorization(refused.challenges.front(), r.method, r.target, user, password,
                                "cn0nce", nc);
  EXPECT_TRUE(a);
  return a ? *a : std::string{};
}

TEST(InterfaceAuth, DigestChallengesThenAcceptsTheRightPasswordOnce) {
  auto auth = make("digest");
  Request r = post("/rd?ep=dev1");
  auto first = auth.authenticate(r, {"192.0.2.7:4000", std::nullopt}, users(), tokens(), kNow);
  ASSERT_FALSE(first.caller);
  ASSERT_EQ(first.status, 401);
  EXPECT_NE(first.challenges.front().find("algorithm=SHA-256"), std::string::npos);

  r.headers.set("Authorization", answer(first, r, "dev1", "s3cret"));
  auto ok = auth.authenticate(r, {"192.0.2.7:4000", std::nullopt}, users(), tokens(), kNow);
  ASSERT_TRUE(ok.caller) << ok.reason;
  EXPECT_EQ(ok.caller->method, Caller::Method::kDigest);
  EXPECT_EQ(ok.caller->name, "dev1");
  // Replayed: refused with a fresh challenge.
  auto replay = auth.authenticate(r, {"192.0.2.7:4000", std::nullopt}, users(), tokens(), kNow);
  EXPECT_FALSE(replay.caller);
  EXPECT_EQ(replay.status, 401);

  // A wrong password, an unknown user.
  Request wrong = post("/rd?ep=dev1");
  wrong.headers.set("Authorization", answer(first, wrong, "dev1", "guess", 7));
  EXPECT_FALSE(auth.authenticate(wrong, {}, users(), tokens(), kNow).caller);
  wrong.headers.set("Authorization", answer(first, wrong, "dev2", "s3cret", 8));
  EXPECT_FALSE(auth.authenticate(wrong, {}, users(), tokens(), kNow).caller);
}

TEST(InterfaceAuth, AnExpiredNonceIsStale) {
  auto auth = make("digest");
  Request r = post("/rd/abc");
  auto first = auth.authenticate(r, {}, users(), tokens(), kNow);
  r.headers.set("Authorization", answer(first, r, "dev1", "s3cret"));
  auto later = auth.authenticate(r, {}, users(), tokens(), kNow + auth.config().nonce_lifetime * 2);
  ASSERT_FALSE(later.caller);
  EXPECT_EQ(later.status, 401);
  EXPECT_NE(later.challenges.front().find("stale=true"), std::string::npos);
}

TEST(InterfaceAuth, AnonymousPassesOnlyWhereAllowed) {
  auto open = make("none,digest");
  auto v = open.authenticate(post("/rd?ep=x"), {}, users(), tokens(), kNow);
  ASSERT_TRUE(v.caller);
  EXPECT_EQ(v.caller->method, Caller::Method::kNone);
  // Wrong credentials are refused even where anonymous requests pass.
  Request bad = post("/rd?ep=x");
  bad.headers.set("Authorization", "Digest username=\"dev1\", response=\"00\"");
  EXPECT_EQ(open.authenticate(bad, {}, users(), tokens(), kNow).status, 401);
  bad.headers.set("Authorization", "Basic ZGV2MTpzM2NyZXQ=");
  EXPECT_FALSE(open.authenticate(bad, {}, users(), tokens(), kNow).caller);
  // Certificate only: nothing to answer with, so 403.
  auto cert = make("certificate");
  auto refused = cert.authenticate(post("/rd?ep=x"), {}, users(), tokens(), kNow);
  EXPECT_FALSE(refused.caller);
  EXPECT_EQ(refused.status, 403);
  EXPECT_TRUE(refused.challenges.empty());
  auto proved = cert.authenticate(post("/rd?ep=x"), {"[::1]:5", "dev1"}, users(), tokens(), kNow);
  ASSERT_TRUE(proved.caller);
  EXPECT_EQ(proved.caller->method, Caller::Method::kCertificate);
  EXPECT_EQ(proved.caller->name, "dev1");
}

TEST(InterfaceAuth, TheProxyHeaderCountsOnlyFromTheProxy) {
  auto auth = make("proxy", {"127.0.0.2", "::1"});
  Request r = post("/rd?ep=dev9");
  r.headers.set("X-Authenticated-User", "dev9");
  auto via_proxy = auth.authenticate(r, {"127.0.0.2:40000", std::nullopt}, users(), tokens(), kNow);
  ASSERT_TRUE(via_proxy.caller);
  EXPECT_EQ(via_proxy.caller->method, Caller::Method::kProxy);
  EXPECT_EQ(via_proxy.caller->name, "dev9");
  EXPECT_TRUE(auth.authenticate(r, {"[::1]:40000", std::nullopt}, users(), tokens(), kNow).caller);
  // The same header from anyone else is not believed.
  auto stranger = auth.authenticate(r, {"127.0.0.3:40000", std::nullopt}, users(), tokens(), kNow);
  EXPECT_FALSE(stranger.caller);
  EXPECT_EQ(stranger.status, 403);
  // Control bytes in the header are refused, not passed on.
  r.headers.set("X-Authenticated-User", std::string("dev\x01", 4));
  EXPECT_FALSE(auth.authenticate(r, {"127.0.0.2:1", std::nullopt}, users(), tokens(), kNow).caller);
}

TEST(InterfaceAuth, ANameThatIsNotCleanTextIsRefused) {
  auto auth = make("digest");
  Request r = post("/rd?ep=x");
  auto first = auth.authenticate(r, {}, users(), tokens(), kNow);
  const std::string user("dev\x1b[31m", 8);
  auto a = digest_authorization(first.challenges.front(), "POST", "/rd?ep=x", user, "pw", "c", 1);
  ASSERT_TRUE(a);
  r.headers.set("Authorization", *a);
  auto anyone = [](std::string_view) { return std::optional<std::string>("pw"); };
  EXPECT_FALSE(auth.authenticate(r, {}, anyone, tokens(), kNow).caller);
  // Nor does a certificate's CN with control bytes name anyone.
  auto cert = make("certificate");
  EXPECT_FALSE(cert.authenticate(post("/"), {"[::1]:5", user}, users(), tokens(), kNow).caller);
}

TEST(InterfaceAuth, BearerTokensNameTheirUser) {
  auto auth = make("token,digest");
  Request r = post("/api/clients/x/3/0/1");
  r.headers.set("Authorization", "Bearer tok-ops");
  auto ok = auth.authenticate(r, {}, users(), tokens(), kNow);
  ASSERT_TRUE(ok.caller);
  EXPECT_EQ(ok.caller->name, "ops");
  r.headers.set("Authorization", "Bearer tok-guess");
  auto refused = auth.authenticate(r, {}, users(), tokens(), kNow);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.challenges.size(), 2u);  // Digest and Bearer
}

TEST(InterfaceAuth, ConfigurationMistakesAreRefusedAtStartUp) {
  InterfaceAuthConfig c;
  EXPECT_FALSE(parse_auth_modes("digest,kerberos", c));
  ASSERT_TRUE(parse_auth_modes("proxy", c));
  EXPECT_FALSE(check_auth_config(c));  // no proxy addresses
  c.trusted_proxies = {"127.0.0.1"};
  EXPECT_TRUE(check_auth_config(c));
  c.identity_header = "X User";
  EXPECT_FALSE(check_auth_config(c));
  EXPECT_EQ(host_of("[::1]:80"), "::1");
  EXPECT_EQ(host_of("192.0.2.1:80"), "192.0.2.1");
}

// Our client's side against the server's: the first request is challenged, the second
// carries credentials, later ones reuse the nonce with a growing count, an expired nonce is
// answered once more, and a wrong password does not loop.
TEST(DigestClient, AnswersTheChallengeOnceAndReusesTheNonce) {
  auto auth = make("digest");
  SeededRandom random(3);
  auto client = DigestClient::make("dev1", "s3cret");
  ASSERT_TRUE(client);
  auto round = [&](Request r, Instant at) {
    client->authorize(r, random);
    auto v = auth.authenticate(r, {}, users(), tokens(), at);
    if (v.caller) return 200;
    return InterfaceAuth::respond(v, {}, {}).status;
  };
  auto respond_to = [&](Request r, Instant at) {
    client->authorize(r, random);
    return InterfaceAuth::respond(auth.authenticate(r, {}, users(), tokens(), at), {}, {});
  };
  Response first = respond_to(post("/rd?ep=dev1"), kNow);
  ASSERT_EQ(first.status, 401);
  ASSERT_TRUE(client->take_challenge(first));
  EXPECT_EQ(round(post("/rd?ep=dev1"), kNow), 200);
  EXPECT_EQ(round(post("/rd/abc?lt=60"), kNow), 200);
  EXPECT_EQ(round(post("/rd/abc"), kNow), 200);
  // Much later the nonce is stale: one more challenge, then through again.
  const Instant later = kNow + Duration{3'600'000};
  Response stale = respond_to(post("/rd/abc"), later);
  ASSERT_EQ(stale.status, 401);
  ASSERT_TRUE(client->take_challenge(stale));
  EXPECT_EQ(round(post("/rd/abc"), later), 200);

  auto wrong = DigestClient::make("dev1", "guess");
  ASSERT_TRUE(wrong);
  Request r = post("/rd?ep=dev1");
  auto v = auth.authenticate(r, {}, users(), tokens(), kNow);
  Response challenge = InterfaceAuth::respond(v, {}, {});
  ASSERT_TRUE(wrong->take_challenge(challenge));
  wrong->authorize(r, random);
  Response refused =
      InterfaceAuth::respond(auth.authenticate(r, {}, users(), tokens(), kNow), {}, {});
  EXPECT_EQ(refused.status, 401);
  // The same challenge again: the password is wrong, so the client does not try again.
  EXPECT_FALSE(wrong->take_challenge(refused));
  // A name a header cannot carry is refused up front.
  EXPECT_FALSE(DigestClient::make("dev\r\n1", "x"));
}

}  // namespace
}  // namespace tether::http
