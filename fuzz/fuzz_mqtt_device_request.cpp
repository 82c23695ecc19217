// Both ends of the MQTT binding's request maps on arbitrary bytes (Transport TS 8.3): as a
// server's request to our client (either interface), and as a client's request to our
// server. Whatever decodes must not crash anything, and a device request that decodes and
// that the server side can encode again decodes to the same operation and path.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "binding/mqtt/device_mapping.hpp"
#include "binding/mqtt/downlink_mapping.hpp"
#include "binding/mqtt/uplink_mapping.hpp"
#include "lwm2m/model/object_registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace mqtt = tether::binding::mqtt;
  static const auto models = tether::lwm2m::model::ObjectRegistry::with_builtin();
  auto p = mqtt::decode(tether::ByteView(data, size));
  if (!p) return 0;
  for (auto interface : {mqtt::Interface::kRegistration, mqtt::Interface::kBootstrap}) {
    const mqtt::Topic topic{"t", interface, "dev1"};
    (void)mqtt::decode_uplink(topic, *p);
    auto request = mqtt::decode_device_request(topic, *p, models);
    if (!request) continue;
    auto again = mqtt::encode_downlink(*request, 1, models);
    if (!again) continue;
    auto back = mqtt::decode_device_request(topic, *again, models);
    if (!back || back->op != request->op || !(back->path == request->path)) {
      std::fprintf(stderr, "fuzz_mqtt_device_request: a request does not survive a round trip\n");
      std::abort();
    }
  }
  return 0;
}
