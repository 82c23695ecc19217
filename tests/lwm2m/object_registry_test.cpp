// Object definitions: every object the stack needs ships in each version, users add their
// own folder of XML, and bad definitions are refused whole.
#include "lwm2m/model/object_registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/builtin_registry.hpp"

namespace tether::lwm2m::model {
namespace {

using test_support::builtin_registry;

std::string object_xml(int id, const std::string& version, const std::string& resources) {
  return "<LWM2M><Object ObjectType=\"MODefinition\"><Name>Custom</Name><ObjectID>" +
         std::to_string(id) + "</ObjectID><ObjectURN>urn:oma:lwm2m:x:" + std::to_string(id) +
         "</ObjectURN><LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>" + version +
         "</ObjectVersion><MultipleInstances>Multiple</MultipleInstances>"
         "<Mandatory>Optional</Mandatory><Resources>" +
         resources + "</Resources></Object></LWM2M>";
}

std::string item(int id, const char* ops, const char* multiple, const char* type) {
  return "<Item ID=\"" + std::to_string(id) + "\"><Name>R" + std::to_string(id) +
         "</Name><Operations>" + ops + "</Operations><MultipleInstances>" + multiple +
         "</MultipleInstances><Mandatory>Optional</Mandatory><Type>" + type +
         "</Type><RangeEnumeration>0..100</RangeEnumeration><Units>%</Units></Item>";
}

TEST(ObjectRegistry, ShipsEveryObjectTheStackNeeds) {
  const auto& r = builtin_registry();
  for (int id : {0, 1, 2, 3, 4, 5, 6, 7, 21, 23, 24, 3303, 3311}) {
    EXPECT_NE(r.object(static_cast<std::uint16_t>(id)), nullptr) << id;
  }
  for (const char* v : {"1.0", "1.1", "1.2"}) {
    EXPECT_NE(r.find(0, v), nullptr) << "Security " << v;
    EXPECT_NE(r.find(1, v), nullptr) << "Server " << v;
    EXPECT_NE(r.find(3, v), nullptr) << "Device " << v;
  }
  EXPECT_EQ(r.object(3)->version, "1.2");  // the newest by default
  const auto* time = r.resource(3, 13);
  ASSERT_NE(time, nullptr);
  EXPECT_EQ(time->type, ResourceType::kTime);
  EXPECT_TRUE(time->readable() && time->writable());
  const auto* reboot = r.resource(3, 4);
  ASSERT_NE(reboot, nullptr);
  EXPECT_TRUE(reboot->executable());
  EXPECT_EQ(reboot->type, ResourceType::kNone);
  EXPECT_TRUE(r.resource(3, 6)->multiple);
  EXPECT_EQ(r.resource(3303, 5700)->type, ResourceType::kFloat);
  EXPECT_EQ(r.find(1, "1.0")->resource(23), nullptr);  // 1.1 added resources
  EXPECT_NE(r.find(1, "1.1")->resource(23), nullptr);
}

// The OMA registry comes from tools/registry's npm package: IPSO and vendor objects are
// known with their names and types; the hand-checked definitions win for their objects.
TEST(ObjectRegistry, ShipsTheOmaRegistry) {
  const auto& r = builtin_registry();
  EXPECT_GE(r.all().size(), 300u);
  for (int id : {3300, 3301, 3304, 3323, 3342, 3442, 10241, 10374}) {
    const auto* o = r.object(static_cast<std::uint16_t>(id));
    ASSERT_NE(o, nullptr) << id;
    EXPECT_FALSE(o->name.empty()) << id;
    EXPECT_TRUE(o->approximate) << id;
  }
  EXPECT_EQ(r.object(3304)->name, "Humidity");
  EXPECT_EQ(r.object(3304)->urn, "urn:oma:lwm2m:ext:3304:1.1");
  EXPECT_EQ(r.resource(3304, 5700)->type, ResourceType::kFloat);
  EXPECT_TRUE(r.resource(3304, 5700)->mandatory);
  EXPECT_EQ(r.resource(3304, 5518)->type, ResourceType::kTime);
  EXPECT_EQ(r.resource(3342, 5500)->type, ResourceType::kBoolean);
  EXPECT_EQ(r.resource(1, 1)->units, "s");
  EXPECT_EQ(r.resource(2049, 0)->type, ResourceType::kObjlnk);
  // Objects models/ defines keep only their exact definitions, even where the registry has
  // a newer version.
  for (int id : {0, 1, 2, 3, 4, 5, 6, 7, 3303, 3311}) {
    for (const auto* d : r.all()) {
      if (d->id == id) {
        EXPECT_FALSE(d->approximate) << id << " " << d->version;
      }
    }
  }
  EXPECT_EQ(r.object(5)->version, "1.1");
}

TEST(ObjectRegistry, LoadsAFolderOfUserDefinitions) {
  const auto dir = std::filesystem::temp_directory_path() / "tether_models_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.xml") << object_xml(
      33000, "1.0", item(0, "RW", "Single", "Float") + item(1, "E", "Single", ""));
  std::ofstream(dir / "b.xml") << object_xml(33000, "2.0", item(0, "R", "Multiple", "String"));
  std::ofstream(dir / "notes.txt") << "ignored";
  auto r = ObjectRegistry::with_builtin();
  auto loaded = r.load_directory(dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(loaded) << loaded.error().reason;
  EXPECT_EQ(*loaded, 2U);
  EXPECT_EQ(r.object(33000)->version, "2.0");
  EXPECT_EQ(r.find(33000, "1.0")->resource(0)->type, ResourceType::kFloat);
  EXPECT_EQ(r.find(33000, "1.0")->resource(0)->units, "%");
  EXPECT_TRUE(r.resource(33000, 0)->multiple);
  // A copy answers from its own definitions, not the original's.
  const ObjectRegistry copy = r;
  r = ObjectRegistry();
  ASSERT_NE(copy.object(33000), nullptr);
  EXPECT_EQ(copy.object(33000)->version, "2.0");
  EXPECT_EQ(r.object(33000), nullptr);
}

TEST(ObjectRegistry, RefusesBadDefinitionsWhole) {
  const std::string bad[] = {
      "<LWM2M><Object>",                                               // not well-formed
      "<Other/>",                                                      // wrong root
      "<LWM2M/>",                                                      // no objects
      object_xml(70000, "1.0", ""),                                    // ID too large
      object_xml(33001, "1.0", item(0, "RX", "Single", "Integer")),    // operations
      object_xml(33001, "1.0", item(0, "R", "Sometimes", "Integer")),  // multiplicity
      object_xml(33001, "1.0", item(0, "R", "Single", "Decimal")),     // type
      object_xml(33001, "1.0", item(0, "R", "Single", "")),            // readable, no type
      object_xml(33001, "1.0",
                 item(0, "R", "Single", "Integer") + item(0, "R", "Single", "Integer")),
  };
  for (const auto& xml : bad) {
    ObjectRegistry r;
    EXPECT_FALSE(r.load_xml(xml).ok()) << xml;
    EXPECT_EQ(r.object(33001), nullptr);
  }
  ObjectRegistry r;
  EXPECT_FALSE(r.load_directory("/nonexistent/tether").ok());
}

// A client speaking 1.1 uses the newest definition made for 1.1 or older, and sees a
// definition added to the registry after it first looked.
TEST(VersionedModel, PicksDefinitionsForItsVersionAndFollowsTheRegistry) {
  auto registry = ObjectRegistry::with_builtin();
  VersionedModel v11(registry, "1.1");
  ASSERT_NE(v11.object(1), nullptr);
  EXPECT_EQ(v11.object(1)->version, "1.1");  // 1/1.2 is LwM2M 1.2
  EXPECT_EQ(registry.object(1)->version, "1.2");
  v11.set_lwm2m_version("1.0");
  EXPECT_EQ(v11.object(1)->version, "1.0");
  v11.set_lwm2m_version("1.1");
  ObjectDefinition newer = *v11.object(1);
  newer.version = "1.9";
  newer.lwm2m_version = "1.1";
  registry.add(newer);
  EXPECT_EQ(v11.object(1)->version, "1.9");
}

}  // namespace
}  // namespace tether::lwm2m::model
