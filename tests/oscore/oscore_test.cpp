// OSCORE (RFC 8613) against the test vectors of its Appendix C, byte for byte, and the
// refusals of section 8.2: unknown kid, replay, altered ciphertext, bad option.
#include <gtest/gtest.h>

#include <variant>

#include "coap/udp_codec.hpp"
#include "oscore/protection.hpp"
#include "oscore/security_context.hpp"

namespace tether::oscore {
namespace {

namespace codes = coap::codes;

Bytes hex(std::string_view text) {
  auto b = from_hex(std::string(text));
  EXPECT_TRUE(b) << text;
  return b ? *b : Bytes{};
}

const Bytes kSecret = hex("0102030405060708090a0b0c0d0e0f10");
const Bytes kSalt = hex("9e7ca92223786340");
const Bytes kIdContext = hex("37cbf3210017a2d3");

ContextInput input(Bytes sender, Bytes recipient, bool salt = true, bool id_context = false) {
  ContextInput in;
  in.master_secret = kSecret;
  if (salt) in.master_salt = kSalt;
  in.sender_id = std::move(sender);
  in.recipient_id = std::move(recipient);
  if (id_context) in.id_context = kIdContext;
  return in;
}

struct DerivationVector {
  const char* name;
  ContextInput in;
  const char* sender_key;
  const char* recipient_key;
  const char* common_iv;
  const char* sender_nonce;     // for Partial IV 0
  const char* recipient_nonce;  // for Partial IV 0
};

// RFC 8613 C.1-C.3, client and server sides.
TEST(OscoreContext, DerivesTheKeysOfAppendixC) {
  const DerivationVector vectors[] = {
      {"C.1.1", input({}, hex("01")), "f0910ed7295e6ad4b54fc793154302ff",
       "ffb14e093c94c9cac9471648b4f98710", "4622d4dd6d944168eefb54987c",
       "4622d4dd6d944168eefb54987c", "4722d4dd6d944169eefb54987c"},
      {"C.1.2", input(hex("01"), {}), "ffb14e093c94c9cac9471648b4f98710",
       "f0910ed7295e6ad4b54fc793154302ff", "4622d4dd6d944168eefb54987c",
       "4722d4dd6d944169eefb54987c", "4622d4dd6d944168eefb54987c"},
      {"C.2.1", input(hex("00"), hex("01"), false), "321b26943253c7ffb6003b0b64d74041",
       "e57b5635815177cd679ab4bcec9d7dda", "be35ae297d2dace910c52e99f9",
       "bf35ae297d2dace910c52e99f9", "bf35ae297d2dace810c52e99f9"},
      {"C.3.1", input({}, hex("01"), true, true), "af2a1300a5e95788b356336eeecd2b92",
       "e39a0c7c77b43f03b4b39ab9a268699f", "2ca58fb85ff1b81c0b7181b85e",
       "2ca58fb85ff1b81c0b7181b85e", "2da58fb85ff1b81d0b7181b85e"},
  };
  for (const auto& v : vectors) {
    auto c = SecurityContext::derive(v.in);
    ASSERT_TRUE(c) << v.name << ": " << c.error().reason;
    EXPECT_EQ(to_hex(c->sender_key()), v.sender_key) << v.name;
    EXPECT_EQ(to_hex(c->recipient_key()), v.recipient_key) << v.name;
    EXPECT_EQ(to_hex(c->common_iv()), v.common_iv) << v.name;
    EXPECT_EQ(to_hex(c->nonce(v.in.sender_id, Bytes{0})), v.sender_nonce) << v.name;
    EXPECT_EQ(to_hex(c->nonce(v.in.recipient_id, Bytes{0})), v.recipient_nonce) << v.name;
  }
}

TEST(OscoreContext, RefusesWhatItCannotUse) {
  auto in = input({}, hex("01"));
  in.aead = 11;
  EXPECT_FALSE(SecurityContext::derive(in));
  EXPECT_FALSE(SecurityContext::derive(input(hex("01"), hex("01"))));
  EXPECT_FALSE(SecurityContext::derive(input(hex("0102030405060708"), hex("01"))));
  auto empty = input({}, hex("01"));
  empty.master_secret.clear();
  EXPECT_FALSE(SecurityContext::derive(empty));
}

coap::Message udp(std::string_view bytes) {
  auto m = coap::decode_udp(hex(bytes));
  EXPECT_TRUE(m) << bytes;
  return m ? *m : coap::Message{};
}

struct RequestVector {
  const char* name;
  ContextInput in;
  const char* unprotected;
  const char* protected_request;
};

// RFC 8613 C.4-C.6: the client's request at Sender Sequence Number 20.
TEST(OscoreProtection, ProtectsRequestsAsAppendixC) {
  const RequestVector vectors[] = {
      {"C.4", input({}, hex("01")), "44015d1f00003974396c6f63616c686f737483747631",
       "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e"},
      {"C.5", input(hex("00"), hex("01"), false), "440171c30000b932396c6f63616c686f737483747631",
       "440271c30000b932396c6f63616c686f737463091400ff4ed339a5a379b0b8bc731fffb0"},
      {"C.6", input({}, hex("01"), true, true), "44012f8eef9bbf7a396c6f63616c686f737483747631",
       "44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3"},
  };
  for (const auto& v : vectors) {
    auto c = SecurityContext::derive(v.in);
    ASSERT_TRUE(c) << v.name;
    c->set_sender_sequence(20);
    auto p = protect_request(*c, udp(v.unprotected));
    ASSERT_TRUE(p) << v.name << ": " << p.error().reason;
    EXPECT_EQ(to_hex(coap::encode_udp(p->message)), v.protected_request) << v.name;
    EXPECT_EQ(c->sender_sequence(), 21u);
  }
}

// RFC 8613 C.7 from the server's side: the request of C.4 verified, the response
// protected without a Partial IV of its own; then the client reads it back.
TEST(OscoreProtection, VerifiesTheRequestAndProtectsTheResponseAsAppendixC7) {
  auto server = SecurityContext::derive(input(hex("01"), {}));
  ASSERT_TRUE(server);
  const auto request =
      udp("44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e");
  auto verified = unprotect_request(request, [&](ByteView kid, std::optional<ByteView>) {
    return kid.empty() ? &*server : nullptr;
  });
  ASSERT_TRUE(std::holds_alternative<VerifiedRequest>(verified))
      << std::get<Refusal>(verified).diagnostic;
  const auto& inner = std::get<VerifiedRequest>(verified);
  EXPECT_EQ(to_hex(coap::encode_udp(inner.message)),
            "44015d1f00003974396c6f63616c686f737483747631");

  auto response =
      protect_response(*server, inner.binding, udp("64455d1f00003974ff48656c6c6f20576f726c6421"));
  ASSERT_TRUE(response) << response.error().reason;
  EXPECT_EQ(to_hex(coap::encode_udp(*response)),
            "64445d1f0000397490ffdbaad1e9a7e7b2a813d3c3152437830"
            "3cdafae119106");

  auto client = SecurityContext::derive(input({}, hex("01")));
  ASSERT_TRUE(client);
  auto back = unprotect_response(*client, inner.binding, *response);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->code, codes::kContent);
  EXPECT_EQ(to_string(back->payload), "Hello World!");
}

struct Pair {
  Pair()
      : client(*SecurityContext::derive(input(hex("c1"), hex("5e")))),
        server(*SecurityContext::derive(input(hex("5e"), hex("c1")))) {}
  ContextLookup lookup() {
    return [this](ByteView kid, std::optional<ByteView>) {
      return Bytes(kid.begin(), kid.end()) == hex("c1") ? &server : nullptr;
    };
  }
  SecurityContext client;
  SecurityContext server;
};

coap::Message write_request() {
  auto m = coap::make_request(codes::kPut, "/3/0/14");
  m.token = {1, 2, 3};
  m.message_id = 7;
  m.options.add(coap::option::kUriHost, "lwm2m.example");
  m.set_content_format(0);
  m.payload = to_bytes("+02:00");
  return m;
}

const Refusal* refused(const std::variant<VerifiedRequest, Refusal>& r) {
  return std::get_if<Refusal>(&r);
}

TEST(OscoreProtection, HidesTheRequestFromOnlookers) {
  Pair p;
  auto protected_request = protect_request(p.client, write_request());
  ASSERT_TRUE(protected_request);
  const auto& m = protected_request->message;
  EXPECT_EQ(m.code, codes::kPost);
  EXPECT_EQ(m.path(), "/");                                   // Uri-Path is inside
  EXPECT_TRUE(m.options.has(coap::option::kUriHost));         // Class U stays out
  EXPECT_FALSE(m.options.has(coap::option::kContentFormat));  // Class E goes in
  EXPECT_EQ(to_string(m.payload).find("+02:00"), std::string::npos);
  auto verified = unprotect_request(m, p.lookup());
  ASSERT_FALSE(refused(verified));
  EXPECT_EQ(std::get<VerifiedRequest>(verified).message, write_request());
}

TEST(OscoreProtection, RefusesAsSection8Says) {
  Pair p;
  auto first = protect_request(p.client, write_request());
  ASSERT_TRUE(first);
  ASSERT_FALSE(refused(unprotect_request(first->message, p.lookup())));

  // The same request again: replay.
  auto replay = unprotect_request(first->message, p.lookup());
  ASSERT_TRUE(refused(replay));
  EXPECT_EQ(refused(replay)->code, codes::kUnauthorized);
  EXPECT_EQ(refused(replay)->diagnostic, "Replay detected");

  // One bit of the ciphertext flipped: 4.00, and the window does not learn its number.
  auto second = protect_request(p.client, write_request());
  ASSERT_TRUE(second);
  coap::Message altered = second->message;
  altered.payload[0] ^= 0x01;
  auto bad = unprotect_request(altered, p.lookup());
  ASSERT_TRUE(refused(bad));
  EXPECT_EQ(refused(bad)->code, codes::kBadRequest);
  EXPECT_FALSE(refused(unprotect_request(second->message, p.lookup())));

  // A kid nobody has: 4.01 "Security context not found".
  auto stranger = SecurityContext::derive(input(hex("77"), hex("5e")));
  ASSERT_TRUE(stranger);
  auto theirs = protect_request(*stranger, write_request());
  ASSERT_TRUE(theirs);
  auto unknown = unprotect_request(theirs->message, p.lookup());
  ASSERT_TRUE(refused(unknown));
  EXPECT_EQ(refused(unknown)->code, codes::kUnauthorized);
  EXPECT_EQ(refused(unknown)->diagnostic, "Security context not found");

  // A wrong key under the right kid: decryption fails.
  auto impostor_in = input(hex("c1"), hex("5e"));
  impostor_in.master_secret[0] ^= 0xff;
  auto impostor = SecurityContext::derive(impostor_in);
  ASSERT_TRUE(impostor);
  impostor->set_sender_sequence(100);
  auto forged = protect_request(*impostor, write_request());
  ASSERT_TRUE(forged);
  auto wrong = unprotect_request(forged->message, p.lookup());
  ASSERT_TRUE(refused(wrong));
  EXPECT_EQ(refused(wrong)->diagnostic, "Decryption failed");

  // Option values that do not parse, or a request without kid or Partial IV: 4.02.
  for (const char* value : {"e0", "06", "0101", "1914", "190908", "08c1", ""}) {
    coap::Message m = second->message;
    m.options.set(kOscoreOption, hex(value));
    auto r = unprotect_request(m, p.lookup());
    ASSERT_TRUE(refused(r)) << value;
    EXPECT_EQ(refused(r)->code, codes::kBadOption) << value;
  }
}

// Cipher handles are kept per thread for the last few keys: more contexts than that, used
// in turn, must each still seal and open with their own keys.
TEST(OscoreProtection, ManyContextsInTurnKeepTheirOwnKeys) {
  std::vector<SecurityContext> clients;
  std::vector<SecurityContext> servers;
  for (std::uint8_t i = 0; i < 20; ++i) {
    auto in = input(hex("c1"), hex("5e"));
    in.master_secret[0] = i;
    clients.push_back(*SecurityContext::derive(in));
    std::swap(in.sender_id, in.recipient_id);
    servers.push_back(*SecurityContext::derive(in));
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto sealed = protect_request(clients[i], write_request());
      ASSERT_TRUE(sealed);
      // Only the context with the same keys opens it.
      const std::size_t other = (i + 1) % servers.size();
      auto wrong = unprotect_request(
          sealed->message, [&](ByteView, std::optional<ByteView>) { return &servers[other]; });
      ASSERT_TRUE(refused(wrong)) << i;
      auto right = unprotect_request(
          sealed->message, [&](ByteView, std::optional<ByteView>) { return &servers[i]; });
      ASSERT_FALSE(refused(right)) << i;
      EXPECT_EQ(std::get<VerifiedRequest>(right).message, write_request());
    }
  }
}

// No context has a Recipient ID over 7 bytes (RFC 8613 3.3): a longer kid finds none.
TEST(OscoreProtection, AKidLongerThanAnyRecipientIdFindsNoContext) {
  Pair p;
  auto sealed = protect_request(p.client, write_request());
  ASSERT_TRUE(sealed);
  coap::Message m = sealed->message;
  m.options.set(kOscoreOption, hex("0901c1c1c1c1c1c1c1c1"));  // Partial IV 1, 8-byte kid
  bool asked = false;
  auto r = unprotect_request(m, [&](ByteView, std::optional<ByteView>) {
    asked = true;
    return &p.server;
  });
  ASSERT_TRUE(refused(r));
  EXPECT_EQ(refused(r)->code, codes::kUnauthorized);
  EXPECT_FALSE(asked);
}

// Appendix B.1.1: the sender stores a bound K ahead before it passes it; a restart from the
// stored bound never repeats a number that went out, and a failed store sends nothing.
TEST(OscoreContext, ReservesSequenceNumbersAheadOfUse) {
  auto c = SecurityContext::derive(input({}, hex("01")));
  ASSERT_TRUE(c);
  std::uint64_t stored = 0;
  int stores = 0;
  bool disk_ok = true;
  c->reserve_in_steps(10, [&](std::uint64_t bound) {
    if (!disk_ok) return false;
    stored = bound;
    ++stores;
    return true;
  });
  std::vector<std::uint64_t> sent;
  for (int i = 0; i < 25; ++i) sent.push_back(*c->next_sequence());
  EXPECT_EQ(stores, 3);  // before 0, 10 and 20
  EXPECT_EQ(stored, 30u);
  for (auto s : sent) EXPECT_LT(s, stored);
  // A restart (SIGKILL: nothing more was written) resumes at the stored bound.
  auto restarted = SecurityContext::derive(input({}, hex("01")));
  ASSERT_TRUE(restarted);
  restarted->set_sender_sequence(stored);
  EXPECT_GT(*restarted->next_sequence(), sent.back());
  // The store fails at the next bound: nothing goes out, the number is not used up.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->next_sequence());
  disk_ok = false;
  EXPECT_FALSE(c->next_sequence());
  EXPECT_FALSE(protect_request(*c, write_request()));
  disk_ok = true;
  EXPECT_EQ(*c->next_sequence(), 30u);
}

TEST(OscoreReplayWindow, SlidesAndForgets) {
  ReplayWindow w;
  EXPECT_TRUE(w.accept(5));
  EXPECT_FALSE(w.accept(5));
  EXPECT_TRUE(w.accept(3));  // out of order, inside the window
  EXPECT_TRUE(w.accept(40));
  EXPECT_FALSE(w.accept(8));  // older than the window now
  EXPECT_TRUE(w.accept(39));
  EXPECT_FALSE(w.accept(39));
  EXPECT_TRUE(w.fresh(41));
}

TEST(OscoreOption, RoundTripsAndRefusesGarbage) {
  OptionValue v;
  v.partial_iv = hex("0a0b");
  v.kid_context = hex("cafe");
  v.kid = hex("01");
  const Bytes encoded = encode_option(v);
  EXPECT_EQ(to_hex(encoded), "1a0a0b02cafe01");
  auto back = decode_option(encoded);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->partial_iv, v.partial_iv);
  EXPECT_EQ(back->kid_context, v.kid_context);
  EXPECT_EQ(back->kid, v.kid);
  EXPECT_TRUE(encode_option(OptionValue{}).empty());
  EXPECT_FALSE(decode_option(hex("20")));      // reserved bit
  EXPECT_FALSE(decode_option(hex("07")));      // PIV length 7
  EXPECT_FALSE(decode_option(hex("0201")));    // PIV shorter than said
  EXPECT_FALSE(decode_option(hex("1005ab")));  // kid context shorter than said

  // The longest kid context the option can carry (255 bytes, more than fits in place) and a
  // kid: both come back whole.
  v.kid_context = Bytes(255, 0xc7);
  v.kid = hex("0102030405060708");
  auto long_back = decode_option(encode_option(v));
  ASSERT_TRUE(long_back);
  EXPECT_EQ(long_back->kid_context, v.kid_context);
  EXPECT_EQ(long_back->kid, v.kid);
}

// RFC 8613 B.2 sends the kid context CBOR-wrapped: a 255-byte ID Context would need 257
// bytes, more than the option's one length byte says, so the request is refused rather
// than sent with a wrong length.
TEST(OscoreOption, AWrappedKidContextThatCannotFitIsRefused) {
  ContextInput in = input(hex("01"), hex(""));
  in.id_context = Bytes(255, 0x5a);
  auto context = SecurityContext::derive(in);
  ASSERT_TRUE(context);
  const auto request = coap::make_request(codes::kGet, "/3/0");
  EXPECT_TRUE(protect_request(*context, request));  // unwrapped it fits
  context->set_rederiving(true);
  EXPECT_FALSE(protect_request(*context, request));
}

}  // namespace
}  // namespace tether::oscore
