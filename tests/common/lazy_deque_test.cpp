// LazyDeque: a queue that allocates nothing until used and then behaves as a deque.
#include "common/lazy_deque.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether {
namespace {

std::vector<std::string> contents(const LazyDeque<std::string>& d) {
  return {d.begin(), d.end()};
}

TEST(LazyDeque, AnEmptyOneIteratesNothingAndErasesNothing) {
  LazyDeque<std::string> d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.size(), 0u);
  EXPECT_TRUE(contents(d).empty());
  EXPECT_EQ(erase_if(d, [](const std::string&) { return true; }), 0u);
  LazyDeque<std::string> moved = std::move(d);
  EXPECT_TRUE(moved.empty());
}

TEST(LazyDeque, KeepsFirstInFirstOutOrderThroughPushesPopsAndErasures) {
  LazyDeque<std::string> d;
  for (const char* s : {"a", "b", "c", "d"}) d.push_back(s);
  EXPECT_EQ(d.front(), "a");
  d.pop_front();
  EXPECT_EQ(erase_if(d, [](const std::string& s) { return s == "c"; }), 1u);
  EXPECT_EQ(contents(d), (std::vector<std::string>{"b", "d"}));
  d.erase(d.begin());
  EXPECT_EQ(contents(d), std::vector<std::string>{"d"});
  d.pop_front();
  EXPECT_TRUE(d.empty());
  d.push_back("e");  // used again after it emptied
  EXPECT_EQ(d.size(), 1u);
  d.clear();
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace tether
