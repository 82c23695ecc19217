// Paging of the API's long lists (api/page_query): cursors, filters, and the scan budget
// that keeps a rare filter from reading a whole large collection on the event loop.
#include "api/page_query.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::api {
namespace {

using nlohmann::json;

// Names n00..n29 in order; walks them as the registry does (after the cursor, within the
// prefix) and answers one page.
json page(const PageQuery& q, std::size_t budget = Pager::kScanBudget) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 30; ++i) v.push_back((i < 10 ? "n0" : "n") + std::to_string(i));
    return v;
  }();
  Pager pager(q, names.size(), budget);
  const std::string_view after = pager.start_after();
  for (const auto& n : names) {
    if (!n.starts_with(q.prefix) || (!after.empty() && n <= after)) continue;
    if (!pager.offer(n, true, [&] { return json(n); })) break;
  }
  return std::move(pager).result("names");
}

PageQuery query(std::size_t limit, std::string q_text, std::string after = "") {
  PageQuery q;
  q.limit = limit;
  q.q = std::move(q_text);
  q.after = std::move(after);
  return q;
}

TEST(Pager, ASmallCollectionCountsEveryMatchOnEveryPage) {
  auto first = page(query(2, "2"));  // n02, n12, n20..n29: 12 matches
  EXPECT_EQ(first["names"], json({"n02", "n12"}));
  EXPECT_EQ(first["next"], "n12");
  EXPECT_EQ(first["matched"], 12);
  EXPECT_FALSE(first.contains("scanned"));
  auto second = page(query(2, "2", "n12"));
  EXPECT_EQ(second["names"], json({"n20", "n21"}));
  EXPECT_EQ(second["matched"], 12);
}

TEST(Pager, ARareFilterInALargeCollectionStopsAtTheBudgetAndGoesOnFromThere) {
  // Budget 8 of 30 names: "29" is the last name; the walk needs four calls to reach it.
  auto q = query(5, "29");
  auto answer = page(q, 8);
  EXPECT_EQ(answer["names"], json::array());
  EXPECT_EQ(answer["next"], "n07");
  EXPECT_EQ(answer["scanned"], 8);
  EXPECT_FALSE(answer.contains("matched")) << "a count of part of the collection is no count";
  std::vector<json> found;
  for (int call = 0; call < 10 && answer.contains("next"); ++call) {
    q.after = answer["next"].get<std::string>();
    answer = page(q, 8);
    for (const auto& n : answer["names"]) found.push_back(n);
  }
  EXPECT_EQ(found, std::vector<json>{"n29"});
  EXPECT_FALSE(answer.contains("next")) << "the walk reached the end";
}

TEST(Pager, ABoundedFirstPageThatReachesTheEndCountsItsMatches) {
  auto q = query(1, "1");
  q.prefix = "n1";  // n10..n19: 10 names, within a budget of 12
  auto answer = page(q, 12);
  EXPECT_EQ(answer["names"], json({"n10"}));
  EXPECT_EQ(answer["next"], "n10");
  EXPECT_EQ(answer["matched"], 10);
  EXPECT_EQ(answer["scanned"], 10);
  // A later page starts at its cursor and does not count what it did not read.
  auto later = page(query(1, "1", "n10"), 12);
  EXPECT_EQ(later["names"], json({"n11"}));
  EXPECT_FALSE(later.contains("matched"));
}

TEST(Pager, ABoundedCountOnlyPageStillHandsOutACursor) {
  // limit=0 with a cursor: no row can be the cursor, so the last name read is.
  auto answer = page(query(0, "1", "n05"), 8);
  EXPECT_EQ(answer["names"], json::array());
  EXPECT_EQ(answer["next"], "n13");
  EXPECT_FALSE(answer.contains("matched"));
  auto last = page(query(0, "1", "n21"), 8);  // n22..n29: 8 names, the end
  EXPECT_FALSE(last.contains("next"));
}

TEST(Pager, WithoutAFilterAPageReadsOnlyItsRows) {
  auto answer = page(query(3, ""), 4);  // unfiltered: the budget does not apply
  EXPECT_EQ(answer["names"], json({"n00", "n01", "n02"}));
  EXPECT_EQ(answer["next"], "n02");
  EXPECT_FALSE(answer.contains("matched"));
  EXPECT_FALSE(answer.contains("scanned"));
}

}  // namespace
}  // namespace tether::api
