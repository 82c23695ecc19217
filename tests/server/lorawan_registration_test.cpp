// Transport TS 6.8.4, Table 6.8.4-1: a Register over LoRaWAN may leave out what the network
// knows; the server fills it in, refuses one without objects (4.09) and one naming another
// device (4.03).
#include "binding/coap/lorawan_registration.hpp"

#include <gtest/gtest.h>

#include "lwm2m/operation/status.hpp"

namespace tether::binding::coap_binding {
namespace {

const std::string kEui = "70b3d57ed0000001";

lwm2m::RegisterRequest with_objects() {
  lwm2m::RegisterRequest r;
  auto objects = lwm2m::format::link_format::parse_registration("</1/0>,</3/0>");
  EXPECT_TRUE(objects);
  r.objects = *objects;
  return r;
}

TEST(LorawanRegistration, FillsInWhatTheClientLeftOut) {
  auto r = with_objects();
  ASSERT_TRUE(complete_lorawan_register(r, kEui, false));
  EXPECT_EQ(r.params.endpoint, kEui);
  EXPECT_EQ(r.params.lifetime, kLorawanDefaultLifetime);
  EXPECT_EQ(r.params.binding, "N");
  EXPECT_EQ(r.params.version, "1.1");
  EXPECT_TRUE(r.params.queue_mode);
}

TEST(LorawanRegistration, RefusesNoObjectsAndAnotherDevicesName) {
  lwm2m::RegisterRequest empty;
  auto no_objects = complete_lorawan_register(empty, kEui, false);
  ASSERT_FALSE(no_objects);
  EXPECT_EQ(lwm2m::status_of(no_objects.error()), lwm2m::status::kConflict);

  auto r = with_objects();
  r.params.endpoint = "70b3d57ed0000002";
  auto other = complete_lorawan_register(r, kEui, false);
  ASSERT_FALSE(other);
  EXPECT_EQ(lwm2m::status_of(other.error()), lwm2m::status::kForbidden);
  r.params.endpoint = "my-meter";
  EXPECT_TRUE(complete_lorawan_register(r, kEui, true));  // --lorawan-any-name
}

TEST(LorawanRegistration, TheClientLeavesOutOnlyWhatTheServerRestoresExactly) {
  auto r = with_objects();
  r.params.endpoint = kEui;
  r.params.lifetime = kLorawanDefaultLifetime;
  r.params.binding = "N";
  r.params.queue_mode = true;
  r.params.version = "1.2";
  compact_lorawan_register(r, kEui);
  EXPECT_FALSE(r.params.endpoint);
  EXPECT_FALSE(r.params.lifetime);
  EXPECT_FALSE(r.params.binding);
  EXPECT_FALSE(r.params.queue_mode);
  EXPECT_EQ(r.params.version, "1.2");  // 1.2 must be said
  auto upper = with_objects();
  upper.params.endpoint = "70B3D57ED0000001";  // a different name: kept
  compact_lorawan_register(upper, kEui);
  EXPECT_EQ(upper.params.endpoint, "70B3D57ED0000001");
}

}  // namespace
}  // namespace tether::binding::coap_binding
