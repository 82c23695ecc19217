// Routing by segments: names are percent-decoded after the split (so "a%2Fb" is one name),
// captures that are not clean text are refused, LwM2M paths are runs of numbers.
#include <gtest/gtest.h>

#include "http/router.hpp"
#include "http/uri.hpp"

namespace tether::http {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    clients = router.add("GET", "/api/clients");
    client = router.add("GET", "/api/clients/{ep}");
    read = router.add("GET", "/api/clients/{ep}/{path:ids}");
    observe = router.add("POST", "/api/clients/{ep}/{path:ids}/observe");
    observations = router.add("GET", "/api/clients/{ep}/observations");
  }
  Router router;
  std::size_t clients = 0, client = 0, read = 0, observe = 0, observations = 0;
};

TEST_F(RouterTest, MatchesLiteralsNamesAndPaths) {
  auto r = router.find("GET", "/api/clients");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.index, clients);
  r = router.find("GET", "/api/clients/dev1/3/0/1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.index, read);
  EXPECT_EQ(r.captures, (std::vector<std::string>{"dev1", "/3/0/1"}));
  r = router.find("POST", "/api/clients/dev1/3303/0/5700/observe");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.index, observe);
  EXPECT_EQ(r.captures[1], "/3303/0/5700");
  r = router.find("GET", "/api/clients/dev1/observations");
  EXPECT_EQ(r.index, observations);
  EXPECT_EQ(router.find("HEAD", "/api/clients").status, 200);
}

TEST_F(RouterTest, ANameWithASlashIsOneEncodedSegment) {
  auto r = router.find("GET", "/api/clients/a%2Fb");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.index, client);
  EXPECT_EQ(r.captures[0], "a/b");
  r = router.find("GET", "/api/clients/urn%3Aimei%3A35/3/0");
  EXPECT_EQ(r.captures[0], "urn:imei:35");
}

TEST_F(RouterTest, NamesThatAreNotCleanTextAreBadRequests) {
  EXPECT_EQ(router.find("GET", "/api/clients/%FF").status, 400);    // not UTF-8
  EXPECT_EQ(router.find("GET", "/api/clients/a%0Ab").status, 400);  // a newline
  EXPECT_EQ(router.find("GET", "/api/clients/a%00b").status, 400);  // a NUL
  EXPECT_EQ(router.find("GET", "/api/clients/a%zz").status, 400);   // a broken escape
  EXPECT_EQ(router.find("GET", "/api/clients/caf%C3%A9").status, 200);
}

TEST_F(RouterTest, UnknownPathsAre404AndOtherMethods405) {
  EXPECT_EQ(router.find("GET", "/api/nothing").status, 404);
  EXPECT_EQ(router.find("GET", "/api/clients/dev1/3/0/1/2/3").status, 404);  // 5 levels
  EXPECT_EQ(router.find("GET", "/api/clients/dev1/x/0").status, 404);
  EXPECT_EQ(router.find("DELETE", "/api/clients").status, 405);
  // A long hostile path is just not found (no regex, no recursion per character).
  std::string deep = "/api/clients/dev1";
  for (int i = 0; i < 5000; ++i) deep += "/1";
  EXPECT_EQ(router.find("GET", deep).status, 404);
}

TEST(UriTest, QueryParametersAreDecoded) {
  auto q = parse_query("timeout=5&pmin&gt=%2B1.5&x=a+b&&");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[0].name, "timeout");
  EXPECT_EQ((*q)[0].value, "5");
  EXPECT_FALSE((*q)[1].has_value);
  EXPECT_EQ((*q)[2].value, "+1.5");
  EXPECT_EQ((*q)[3].value, "a b");
  EXPECT_FALSE(parse_query("a=%G0"));
  EXPECT_FALSE(parse_query("a=%4"));
}

}  // namespace
}  // namespace tether::http
