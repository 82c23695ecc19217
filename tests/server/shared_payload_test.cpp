// A fleet registers few distinct object lists: the registry keeps one copy of each.
#include "server/shared_payload.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::server {
namespace {

SharedPayload::Payload list_with(std::uint16_t extra) {
  SharedPayload::Payload p;
  p.content_formats = {60, 112};
  p.objects = {{1, "", {0}}, {3, "1.1", {0}}, {extra, "", {0, 1}}};
  return p;
}

TEST(PayloadPool, EqualListsShareOneCopyAndDifferentOnesDoNot) {
  PayloadPool pool;
  const SharedPayload a = pool.intern(list_with(3303));
  const SharedPayload b = pool.intern(list_with(3303));
  const SharedPayload c = pool.intern(list_with(3304));
  EXPECT_EQ(a.shared(), b.shared());
  EXPECT_NE(a.shared(), c.shared());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  // Only the object version differs: not the same list.
  auto versioned = list_with(3303);
  versioned.objects[0].version = "1.2";
  EXPECT_NE(pool.intern(versioned).shared(), a.shared());
  // Another alternate path: not the same list either.
  auto moved = list_with(3303);
  moved.alternate_path = "/lwm2m";
  EXPECT_NE(pool.intern(moved).shared(), a.shared());
}

TEST(PayloadPool, ListsNoOneHoldsAreDroppedAsThePoolGrows) {
  PayloadPool pool;
  const SharedPayload kept = pool.intern(list_with(1));
  for (std::uint16_t i = 2; i < 1000; ++i) (void)pool.intern(list_with(i));
  EXPECT_LT(pool.size(), 200u) << "the 998 lists nobody holds are swept";
  EXPECT_EQ(pool.intern(list_with(1)).shared(), kept.shared());
}

}  // namespace
}  // namespace tether::server
