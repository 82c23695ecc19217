// Write and Create bodies of the REST API (docs/api.md, Values), turned into the tree a
// Write or Create sends: multiple-instance resources given whole inside a body.
#include "api/json_mapping.hpp"

#include <gtest/gtest.h>

#include "lwm2m/model/object_registry.hpp"

namespace tether::api {
namespace {

using lwm2m::Path;

const lwm2m::model::ObjectRegistry& models() {
  static const auto registry = lwm2m::model::ObjectRegistry::with_builtin();
  return registry;
}

lwm2m::Tree parse(const std::string& body, const std::string& target) {
  auto tree = tree_from_json(body, *Path::parse(target), models());
  EXPECT_TRUE(tree) << (tree ? "" : tree.error().reason);
  return tree ? *tree : lwm2m::Tree{};
}

TEST(TreeFromJson, CreateTakesAListOfInstancesForAMultipleResource) {
  // Access Control (2): resource 2 (ACL) is multiple; the device picks the instance ID.
  auto tree = parse(R"({"0": 3, "1": 0, "2": {"1": 15, "7": 1}})", "/2");
  ASSERT_NE(tree.objects.find(2), nullptr);
  const auto* created = tree.objects.find(2)->instances.find(Path::kUnassigned);
  ASSERT_NE(created, nullptr);
  const auto* acl = created->resources.find(2);
  ASSERT_NE(acl, nullptr);
  EXPECT_TRUE(acl->multiple);
  ASSERT_EQ(acl->instances.size(), 2u);
  EXPECT_EQ(*acl->instances.find(7), lwm2m::Value(std::int64_t{1}));
  EXPECT_EQ(*acl->instances.find(1), lwm2m::Value(std::int64_t{15}));
}

TEST(TreeFromJson, AnArrayNumbersInstancesFromZeroAndAnEmptyOneClearsTheResource) {
  auto tree = parse(R"({"/2/0/2": [15, 1], "/2/1/2": []})", "/2");
  const auto* full = tree.find_resource(*Path::parse("/2/0/2"));
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(*full->instances.find(1), lwm2m::Value(std::int64_t{1}));
  const auto* empty = tree.find_resource(*Path::parse("/2/1/2"));
  ASSERT_NE(empty, nullptr);
  EXPECT_TRUE(empty->multiple);
  EXPECT_EQ(empty->instances.size(), 0u);
}

TEST(TreeFromJson, ListsOfInstancesAreRefusedWhereTheyCannotBe) {
  const auto target = *Path::parse("/2/0");
  // Not a resource, an instance ID out of range or not a number, values that nest again.
  for (const char* body :
       {R"({"/2/0": [1]})", R"({"2": {"65536": 1}})", R"({"2": {"65535": 1}})",
        R"({"2": {"x": 1}})", R"({"2": {"-1": 1}})", R"({"2": {"07": 1, "7": 2}})",
        R"({"2": [[1]]})", R"({"2": {"1": {"2": 3}}})",
        // Outside the target, even when empty; a list for a single-instance resource.
        R"({"/2/1/2": []})", R"({"/3/0/7": {}})", R"({"0": [3]})"}) {
    auto tree = tree_from_json(body, target, models());
    EXPECT_FALSE(tree) << body;
  }
}

TEST(TreeFromJson, AnEmptyObjectAtAMultipleResourceLeavesItWithNoInstances) {
  auto tree = parse("{}", "/3/0/7");
  const auto* voltages = tree.find_resource(*Path::parse("/3/0/7"));
  ASSERT_NE(voltages, nullptr);
  EXPECT_TRUE(voltages->multiple);
  EXPECT_EQ(voltages->instances.size(), 0u);
}

}  // namespace
}  // namespace tether::api
