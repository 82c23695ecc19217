// The API's per-device request log: newest first, a ring per endpoint, and a cap on
// endpoints that lets the least recently asked go first, so it stays bounded.
#include "api/request_log.hpp"

#include <gtest/gtest.h>

namespace tether::api {
namespace {

std::vector<int> ids(const std::vector<nlohmann::json>& entries) {
  std::vector<int> out;
  for (const auto& e : entries) out.push_back(e.at("n").get<int>());
  return out;
}

TEST(RequestLog, KeepsTheLatestPerEndpointNewestFirst) {
  RequestLog log(3, 10);
  for (int n = 1; n <= 5; ++n) log.add("dev1", {{"n", n}});
  log.add("dev2", {{"n", 9}});
  EXPECT_EQ(ids(log.latest("dev1", 10)), (std::vector<int>{5, 4, 3}));
  EXPECT_EQ(ids(log.latest("dev1", 2)), (std::vector<int>{5, 4}));
  EXPECT_EQ(ids(log.latest("dev2", 10)), (std::vector<int>{9}));
  EXPECT_TRUE(log.latest("nobody", 10).empty());
  EXPECT_TRUE(log.latest("dev1", 0).empty());
}

TEST(RequestLog, TheLeastRecentlyAskedEndpointGoesFirst) {
  RequestLog log(2, 2);
  log.add("a", {{"n", 1}});
  log.add("b", {{"n", 2}});
  log.add("a", {{"n", 3}});  // a is now the most recent
  log.add("c", {{"n", 4}});  // b goes
  EXPECT_TRUE(log.has("a"));
  EXPECT_FALSE(log.has("b"));
  EXPECT_TRUE(log.has("c"));
  EXPECT_EQ(log.endpoints(), 2u);
  EXPECT_EQ(ids(log.latest("a", 5)), (std::vector<int>{3, 1}));
}

}  // namespace
}  // namespace tether::api
