// Transport TS 6.8.3: CoAP messages longer than one SMS as concatenated SMS.
#include "sms/concatenation.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "sms/user_data_header.hpp"

namespace tether::sms {
namespace {

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7);
  return b;
}

const Instant t0{};

TEST(SmsConcatenation, OneSmsUpTo140OctetsThenPartsOf134) {
  auto one = split(pattern(140), 1);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_TRUE((*one)[0].udh.empty());
  auto three = split(pattern(300), 9);
  ASSERT_TRUE(three);
  ASSERT_EQ(three->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& seg = (*three)[i];
    EXPECT_LE(seg.udh.size() + seg.data.size(), kMaxUserData);
    auto ies = parse_udh(seg.udh);
    ASSERT_TRUE(ies);
    auto part = concat_part(*ies);
    ASSERT_TRUE(part);
    EXPECT_EQ(part->reference, 9);
    EXPECT_EQ(part->total, 3);
    EXPECT_EQ(part->sequence, i + 1);
  }
  EXPECT_EQ((*three)[2].data.size(), 300u - 2 * 134);
  EXPECT_FALSE(split(pattern(255 * 134 + 1), 0));
}

TEST(SmsConcatenation, PartsInAnyOrderWithDuplicatesMakeTheMessageOnce) {
  const Bytes message = pattern(500);
  auto parts = split(message, 77);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 4u);
  Reassembler r;
  std::vector<std::size_t> order{3, 0, 0, 2, 1};
  std::optional<Bytes> whole;
  for (std::size_t i : order) {
    auto got = r.add("+4915551", (*parts)[i].udh, (*parts)[i].data, t0);
    if (got) {
      EXPECT_FALSE(whole) << "completed twice";
      whole = got;
    }
  }
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, message);
  EXPECT_EQ(r.counters().duplicates, 1u);
  EXPECT_EQ(r.pending(), 0u);
  // The same reference from another sender is another message.
  EXPECT_FALSE(r.add("+4915552", (*parts)[0].udh, (*parts)[0].data, t0));
  EXPECT_EQ(r.pending(), 1u);
}

TEST(SmsConcatenation, ASingleSmsAndAMalformedHeaderAreWholeAtOnce) {
  Reassembler r;
  EXPECT_EQ(r.add("1", {}, Bytes{1, 2}, t0), (Bytes{1, 2}));
  // A header without concatenation (a port element) or one that does not parse.
  EXPECT_EQ(r.add("1", Bytes{4, 0x05, 2, 0x16, 0x34}, Bytes{3}, t0), Bytes{3});
  EXPECT_EQ(r.add("1", Bytes{9, 0x00}, Bytes{4}, t0), Bytes{4});
  // Sequence 0 or past the total: no concatenation (23.040 says ignore the element).
  EXPECT_EQ(r.add("1", Bytes{5, 0, 3, 1, 2, 3}, Bytes{5}, t0), Bytes{5});
}

TEST(SmsConcatenation, TruncatedMessagesExpireAndLimitsHold) {
  ReassemblyLimits limits;
  limits.max_pending_per_sender = 2;
  limits.part_timeout = Duration{1000};
  limits.max_parts = 4;
  Reassembler r(limits);
  auto part = [](std::uint8_t ref, std::uint8_t total, std::uint8_t seq) {
    return build_udh({concat_element({ref, total, seq})});
  };
  EXPECT_FALSE(r.add("+1", part(1, 2, 1), Bytes{1}, t0));
  EXPECT_FALSE(r.add("+1", part(2, 2, 1), Bytes{1}, t0));
  EXPECT_FALSE(r.add("+1", part(3, 2, 1), Bytes{1}, t0));  // a third per sender: refused
  EXPECT_FALSE(r.add("+1", part(4, 5, 1), Bytes{1}, t0));  // over max_parts
  EXPECT_EQ(r.counters().refused, 2u);
  EXPECT_EQ(r.pending(), 2u);
  EXPECT_EQ(r.next_deadline(), t0 + Duration{1000});
  r.expire(t0 + Duration{999});
  EXPECT_EQ(r.pending(), 2u);
  r.expire(t0 + Duration{1000});
  EXPECT_EQ(r.pending(), 0u);
  EXPECT_EQ(r.counters().expired, 2u);
  EXPECT_FALSE(r.next_deadline());
  // The late second part starts a message that never completes; nothing comes out.
  EXPECT_FALSE(r.add("+1", part(1, 2, 2), Bytes{2}, t0 + Duration{1001}));
}

TEST(SmsConcatenation, MessagesInProgressAreBoundedAcrossSenders) {
  ReassemblyLimits limits;
  limits.max_pending = 3;
  Reassembler r(limits);
  const Bytes header = build_udh({concat_element({1, 2, 1})});
  EXPECT_FALSE(r.add("+1", header, {}, t0));
  EXPECT_FALSE(r.add("+2", header, {}, t0));
  EXPECT_FALSE(r.add("+3", header, {}, t0));
  EXPECT_FALSE(r.add("+4", header, {}, t0));  // a fourth sender: refused
  EXPECT_EQ(r.pending(), 3u);
  EXPECT_EQ(r.counters().refused, 1u);
}

}  // namespace
}  // namespace tether::sms
