// The REST API's users (seed 004 on our own HTTP interface): the users file as an operator
// writes it, and what it refuses at start-up (unknown roles, duplicate names or tokens,
// control bytes that would reach logs and headers).
#include <gtest/gtest.h>

#include "api/api_users.hpp"

namespace tether::api {
namespace {

using nlohmann::json;

TEST(ApiUsers, ReadsUsersWithRolesTokensAndPasswords) {
  auto users = ApiUsers::from_json(json::parse(R"({"users": [
      {"name": "ops", "role": "operator", "token": "tok-1"},
      {"name": "viewer", "role": "read", "password": "pw"},
      {"name": "console.example", "role": "read"}]})"));
  ASSERT_TRUE(users) << users.error().reason;
  ASSERT_NE(users->find("ops"), nullptr);
  EXPECT_EQ(users->find("ops")->role, Role::kOperator);
  EXPECT_EQ(users->find("viewer")->role, Role::kRead);
  EXPECT_EQ(users->user_of_token("tok-1"), "ops");
  EXPECT_EQ(users->user_of_token("tok-2"), std::nullopt);
  EXPECT_EQ(users->user_of_token(""), std::nullopt);  // users without a token have none
  EXPECT_EQ(users->password_of("viewer"), "pw");
  EXPECT_EQ(users->password_of("ops"), std::nullopt);
  EXPECT_EQ(users->password_of("nobody"), std::nullopt);
  EXPECT_EQ(users->find("nobody"), nullptr);
  EXPECT_TRUE(users->has_passwords());
  ApiUsers tokens_only;
  ASSERT_TRUE(tokens_only.add(ApiUser{"token", Role::kOperator, "t", {}}));
  EXPECT_FALSE(tokens_only.has_passwords());  // no Digest challenge nobody could answer
}

TEST(ApiUsers, RefusesFilesThatDoNotFit) {
  for (const char* text : {
           R"([])",
           R"({"users": {}})",
           R"({"users": [{"name": "a", "role": "admin"}]})",
           R"({"users": [{"role": "read"}]})",
           R"({"users": [{"name": "a", "role": "read"}, {"name": "a", "role": "read"}]})",
           R"({"users": [{"name": "a", "role": "read", "token": "t"},
                         {"name": "b", "role": "read", "token": "t"}]})",
           R"({"users": [{"name": "a", "role": "read", "token": "with space"}]})",
           R"({"users": [{"name": "a\u001b[31m", "role": "read"}]})",
           R"({"users": [{"name": "a", "role": "read", "password": 5}]})",
       }) {
    EXPECT_FALSE(ApiUsers::from_json(json::parse(text))) << text;
  }
}

}  // namespace
}  // namespace tether::api
