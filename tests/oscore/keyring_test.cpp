// oscore::Keyring: contexts by name, found by kid and kid context, bound to peers, and their
// Sender Sequence Numbers resumed and persisted (RFC 8613 B.1.1).
#include <gtest/gtest.h>

#include <map>

#include "oscore/keyring.hpp"

namespace tether::oscore {
namespace {

ContextInput input(std::uint8_t sender, std::uint8_t recipient, Bytes secret = {}) {
  if (secret.empty()) secret = Bytes(16, static_cast<std::uint8_t>(0x10 + recipient));
  ContextInput in;
  in.master_secret = std::move(secret);
  in.sender_id = {sender};
  in.recipient_id = {recipient};
  return in;
}

TEST(Keyring, FindsContextsByKidAndBindsTheirPeers) {
  Keyring ring;
  ASSERT_TRUE(ring.put("dev1", input(0x00, 0x01)));
  ASSERT_TRUE(ring.put("dev2", input(0x00, 0x02)));
  OscorePeers udp = ring.peers("udp");
  EXPECT_EQ(udp.lookup(Bytes{0x02}, std::nullopt), ring.find("dev2"));
  EXPECT_EQ(udp.lookup(Bytes{0x03}, std::nullopt), nullptr);
  EXPECT_EQ(udp.lookup(Bytes{0x02}, Bytes{0x77}), nullptr);  // another kid context

  // A verified request binds its peer on that carrier only.
  EXPECT_EQ(udp.context_for_peer(5), nullptr);
  udp.on_verified(5, ring.find("dev1"));
  EXPECT_EQ(udp.context_for_peer(5), ring.find("dev1"));
  ASSERT_NE(ring.bound_name("udp", 5), nullptr);
  EXPECT_EQ(*ring.bound_name("udp", 5), "dev1");
  EXPECT_EQ(ring.peers("tcp").context_for_peer(5), nullptr);

  // Removing the context forgets its peers; an exchange holding it keeps it alive.
  SharedContext held = ring.find("dev1");
  EXPECT_TRUE(ring.remove("dev1"));
  EXPECT_EQ(udp.context_for_peer(5), nullptr);
  EXPECT_EQ(udp.lookup(Bytes{0x01}, std::nullopt), nullptr);
  EXPECT_EQ(Bytes(held->recipient_id().begin(), held->recipient_id().end()), Bytes{0x01});
}

// A client that moves (UDP NAT rebinding) is bound by its last few addresses only.
TEST(Keyring, OnlyTheLastFewPeersOfANameStayBound) {
  Keyring ring;
  ASSERT_TRUE(ring.put("dev1", input(0x00, 0x01)));
  ASSERT_TRUE(ring.put("dev2", input(0x00, 0x02)));
  OscorePeers udp = ring.peers("udp");
  for (coap::PeerId p = 1; p <= 20; ++p) udp.on_verified(p, ring.find("dev1"));
  udp.on_verified(100, ring.find("dev2"));
  int bound = 0;
  for (coap::PeerId p = 1; p <= 20; ++p) bound += ring.bound_name("udp", p) != nullptr ? 1 : 0;
  EXPECT_EQ(bound, 8);
  EXPECT_NE(ring.bound_name("udp", 20), nullptr);  // the latest stay
  EXPECT_EQ(ring.bound_name("udp", 1), nullptr);
  // A peer proving another context moves to that name; removing a name unbinds its peers.
  udp.on_verified(20, ring.find("dev2"));
  EXPECT_EQ(*ring.bound_name("udp", 20), "dev2");
  EXPECT_TRUE(ring.remove("dev2"));
  EXPECT_EQ(ring.bound_name("udp", 20), nullptr);
  EXPECT_EQ(ring.bound_name("udp", 100), nullptr);
  EXPECT_NE(ring.bound_name("udp", 19), nullptr);
}

TEST(Keyring, ARecipientIdBelongsToOneName) {
  Keyring ring;
  ASSERT_TRUE(ring.put("dev1", input(0x00, 0x01)));
  EXPECT_FALSE(ring.check("dev2", input(0x09, 0x01)));
  EXPECT_FALSE(ring.put("dev2", input(0x09, 0x01)));
  EXPECT_TRUE(ring.put("dev1", input(0x09, 0x01, Bytes(16, 0x22))));  // new keys, same name
  ContextInput with_context = input(0x09, 0x01, Bytes(16, 0x33));
  with_context.id_context = Bytes{0x42};
  EXPECT_TRUE(ring.put("dev3", with_context));  // the kid context tells them apart
  // Whoever holds dev1's secret could derive dev4's keys under it: refused.
  EXPECT_FALSE(ring.put("dev4", input(0x07, 0x04, Bytes(16, 0x22))));
  EXPECT_TRUE(ring.put("dev4", input(0x07, 0x04, Bytes(16, 0x44))));
}

TEST(Keyring, SequenceNumbersResumeFromTheStoredBound) {
  std::map<std::string, std::uint64_t> stored;
  bool store_works = true;
  Keyring ring;
  ring.resume_sequences({{"dev1", 100}});
  ring.persist_sequences(10, [&](const std::string& name, std::uint64_t bound) {
    if (store_works) stored[name] = bound;
    return store_works;
  });
  ASSERT_TRUE(ring.put("dev1", input(0x00, 0x01)));
  auto context = ring.find("dev1");
  EXPECT_EQ(*context->next_sequence(), 100u);  // never below what a crashed run may have used
  EXPECT_EQ(stored["dev1"], 110u);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(context->next_sequence());
  EXPECT_EQ(stored["dev1"], 110u);
  store_works = false;
  EXPECT_FALSE(context->next_sequence());  // 110 needs a new bound that cannot be stored
}

// A client stores bounds by its keys: the same keys under another name (a bootstrap server
// writing them to a new Security instance) go on past the numbers already used.
TEST(Keyring, BoundsStoredByKeysFollowTheKeysToAnotherName) {
  std::map<std::string, std::uint64_t> stored;
  auto keep = [&](const std::string& key, std::uint64_t bound) {
    stored[key] = bound;
    return true;
  };
  {
    Keyring ring;
    ring.persist_sequences(10, keep, true);
    ASSERT_TRUE(ring.put("security/1", input(0x00, 0x01)));
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(ring.find("security/1")->next_sequence());
  }
  const std::string key = Keyring::sequence_key(input(0x00, 0x01));
  EXPECT_EQ(key.find(to_hex(input(0x00, 0x01).master_secret)), std::string::npos);
  ASSERT_EQ(stored.count(key), 1u);
  EXPECT_EQ(stored.count("security/1"), 0u);
  Keyring restarted;
  restarted.resume_sequences({stored.begin(), stored.end()});
  restarted.persist_sequences(10, keep, true);
  ASSERT_TRUE(restarted.put("security/7", input(0x00, 0x01)));
  EXPECT_GE(*restarted.find("security/7")->next_sequence(), 25u);
  // Other keys start afresh.
  ASSERT_TRUE(restarted.put("security/8", input(0x00, 0x02)));
  EXPECT_EQ(*restarted.find("security/8")->next_sequence(), 0u);
}

}  // namespace
}  // namespace tether::oscore
