// Notification attributes: the Write-Attributes examples and the gt/lt/st examples of
// Transport TS 6.4.4, consistency and level rules, unsetting, and inheritance.
#include "lwm2m/attributes.hpp"

#include <gtest/gtest.h>

namespace tether::lwm2m {
namespace {

Attributes written(std::string_view query, const Path& target,
                   std::optional<ResourceType> type = ResourceType::kInteger,
                   const Attributes& stored = {}) {
  auto update = parse_update(query);
  EXPECT_TRUE(update) << query << ": " << update.error().reason;
  if (!update) return {};
  auto result = apply_update(stored, *update, target, type);
  EXPECT_TRUE(result) << query << ": " << result.error().reason;
  return result ? *result : Attributes{};
}

bool refused(std::string_view query, const Path& target,
             std::optional<ResourceType> type = ResourceType::kInteger,
             const Attributes& stored = {}) {
  auto update = parse_update(query);
  if (!update) return update.error().reason.starts_with("4.00");
  auto result = apply_update(stored, *update, target, type);
  return !result && result.error().reason.starts_with("4.00");
}

bool notifies(const Attributes& a, double before, double after) {
  const Value last(static_cast<std::int64_t>(before));
  const Value now(static_cast<std::int64_t>(after));
  return notification_due(a, &last, now, 1000) == NotifyDecision::kNotify;
}

TEST(NotificationRule, GreaterThanAndStepExampleOfSection644) {
  // Write-Attributes /3/0/9?gt=45&st=10
  const Attributes a = written("gt=45&st=10", Path{3, 0, 9});
  EXPECT_TRUE(notifies(a, 45, 50));   // crosses gt
  EXPECT_TRUE(notifies(a, 38, 49));   // crosses gt, and a step of 11
  EXPECT_TRUE(notifies(a, 48, 42));   // crosses gt downwards
  EXPECT_FALSE(notifies(a, 48, 55));  // above gt both times, a step of 7
}

TEST(NotificationRule, BandAndStepExampleOfSection644) {
  // Write-Attributes /3/0/9?lt=20&gt=85&st=10
  const Attributes a = written("lt=20&gt=85&st=10", Path{3, 0, 9});
  EXPECT_TRUE(notifies(a, 75, 90));   // crosses gt, step 15
  EXPECT_TRUE(notifies(a, 50, 10));   // crosses lt, step 40
  EXPECT_TRUE(notifies(a, 87, 99));   // step 12
  EXPECT_TRUE(notifies(a, 17, 24));   // crosses lt
  EXPECT_FALSE(notifies(a, 17, 12));  // below lt both times, step 5
}

TEST(NotificationRule, PeriodsGateAndForceNotifications) {
  const Attributes a = written("pmin=10&pmax=60", Path{3, 0, 9});
  const Value v1(1), v2(2);
  EXPECT_EQ(notification_due(a, &v1, v2, 5), NotifyDecision::kAfterPmin);
  EXPECT_EQ(notification_due(a, &v1, v2, 10), NotifyDecision::kNotify);
  EXPECT_EQ(notification_due(a, &v1, v1, 30), NotifyDecision::kNotDue);
  EXPECT_EQ(notification_due(a, &v1, v1, 60), NotifyDecision::kNotify);  // pmax
  EXPECT_EQ(notification_due(Attributes{}, nullptr, v1, 0), NotifyDecision::kNotify);
}

TEST(NotificationRule, EdgeWatchesOneDirectionOfABoolean) {
  const Attributes rising = written("edge=1", Path{1, 0, 6}, ResourceType::kBoolean);
  const Value off(false), on(true);
  EXPECT_EQ(notification_due(rising, &off, on, 100), NotifyDecision::kNotify);
  EXPECT_EQ(notification_due(rising, &on, off, 100), NotifyDecision::kNotDue);
  const Attributes falling = written("edge=0", Path{1, 0, 6}, ResourceType::kBoolean);
  EXPECT_EQ(notification_due(falling, &on, off, 100), NotifyDecision::kNotify);
}

TEST(WriteAttributes, ExamplesOfSection644SetAndUnsetPerLevel) {
  // /3/0/9?pmin=1 sets at resource level; /3/0/9?pmin unsets it again.
  Attributes resource = written("pmin=1", Path{3, 0, 9});
  EXPECT_EQ(resource.get(Attribute::kPmin), 1.0);
  resource = written("pmin", Path{3, 0, 9}, ResourceType::kInteger, resource);
  EXPECT_FALSE(resource.has(Attribute::kPmin));
  // /3/0?pmin=10 sets at instance level, which the resource then inherits.
  const Attributes instance = written("pmin=10", Path{3, 0}, std::nullopt);
  const Attributes* levels[] = {&resource, &instance};
  const auto effective = effective_attributes(levels, ServerDefaults{5, 300});
  EXPECT_EQ(effective.get(Attribute::kPmin), 10.0);
  EXPECT_EQ(effective.get(Attribute::kPmax), 300.0);  // the Server object's default
}

TEST(WriteAttributes, MostSpecificLevelWins) {
  Attributes object, instance, resource, resource_instance;
  object.set(Attribute::kPmin, 1);
  object.set(Attribute::kPmax, 100);
  object.set(Attribute::kCon, 1);
  instance.set(Attribute::kPmin, 2);
  resource.set(Attribute::kPmin, 3);
  resource.set(Attribute::kGt, 50);
  resource_instance.set(Attribute::kPmin, 4);
  const Attributes* levels[] = {&resource_instance, &resource, &instance, &object};
  const auto a = effective_attributes(levels, ServerDefaults{0, 60});
  EXPECT_EQ(a.get(Attribute::kPmin), 4.0);
  EXPECT_EQ(a.get(Attribute::kPmax), 100.0);
  EXPECT_EQ(a.get(Attribute::kGt), 50.0);
  EXPECT_EQ(a.get(Attribute::kCon), 1.0);
}

TEST(WriteAttributes, InconsistentCombinationsAre400) {
  EXPECT_TRUE(refused("pmin=60&pmax=10", Path{3, 0, 9}));
  EXPECT_TRUE(refused("epmin=5&epmax=1", Path{3, 0, 9}));
  EXPECT_TRUE(refused("lt=50&gt=40", Path{3, 0, 9}));
  EXPECT_TRUE(refused("lt=40&gt=40", Path{3, 0, 9}));
  EXPECT_TRUE(refused("lt=20&gt=85&st=40", Path{3, 0, 9}));  // 20 + 80 >= 85
  // Against what is already stored: pmax=10 under a stored pmin=60.
  Attributes stored;
  stored.set(Attribute::kPmin, 60);
  EXPECT_TRUE(refused("pmax=10", Path{3, 0, 9}, ResourceType::kInteger, stored));
  EXPECT_FALSE(refused("pmin=5&pmax=10", Path{3, 0, 9}, ResourceType::kInteger, stored));
}

TEST(WriteAttributes, LevelTypeAndSyntaxRulesAre400) {
  EXPECT_TRUE(refused("gt=5", Path{3, 0}, std::nullopt));  // value rules need a resource
  EXPECT_TRUE(refused("st=1", Path{3}, std::nullopt));
  EXPECT_TRUE(refused("gt=5", Path{3, 0, 0}, ResourceType::kString));
  EXPECT_TRUE(refused("edge=1", Path{3, 0, 9}, ResourceType::kInteger));
  EXPECT_TRUE(refused("pmin=1", Path{}, std::nullopt));  // not at the root
  EXPECT_TRUE(refused("pmin=-1", Path{3, 0, 9}));
  EXPECT_TRUE(refused("pmin=1.5", Path{3, 0, 9}));
  EXPECT_TRUE(refused("edge=2", Path{1, 0, 6}, ResourceType::kBoolean));
  EXPECT_TRUE(refused("st=-1", Path{3, 0, 9}));
  EXPECT_TRUE(refused("gt=abc", Path{3, 0, 9}));
  EXPECT_TRUE(refused("dim=2", Path{3, 0, 9}));  // read-only
  EXPECT_TRUE(refused("foo=1", Path{3, 0, 9}));
  EXPECT_TRUE(refused("pmin=1&pmin=2", Path{3, 0, 9}));
  EXPECT_TRUE(refused("pmin=1&", Path{3, 0, 9}));
  EXPECT_FALSE(refused("pmin=1&pmax=2&epmin=0&epmax=5&con=1&hqmax=10", Path{3}, std::nullopt));
}

TEST(WriteAttributes, SerialisesInTheQueryAndLinkForms) {
  const Attributes a = written("st=0.5&pmax=60&gt=45.5&pmin=10", Path{3, 0, 9});
  EXPECT_EQ(a.to_query(), "pmin=10&pmax=60&gt=45.5&st=0.5");
  EXPECT_EQ(a.to_link_params(), ";pmin=10;pmax=60;gt=45.5;st=0.5");
  EXPECT_EQ(written(a.to_query(), Path{3, 0, 9}), a);
  // Large periods stay in integer form (found by fuzz_attributes).
  EXPECT_EQ(written("pmax=77000000", Path{3}, std::nullopt).to_query(), "pmax=77000000");
}

}  // namespace
}  // namespace tether::lwm2m
