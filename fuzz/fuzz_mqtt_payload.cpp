// The MQTT binding's receiving side on arbitrary bytes (Transport TS 8.6-8.7): a payload
// either fails to decode or decodes to a map that encodes and decodes back to itself; the
// same bytes as a COSE_Encrypt0 either fail to open or open to what sealing them gives back;
// as a topic they either fail to parse or name an endpoint that makes the same topic.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "binding/mqtt/cose_encrypt0.hpp"
#include "binding/mqtt/mqtt_payload.hpp"
#include "binding/mqtt/topic.hpp"

namespace {

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_mqtt_payload: %s\n", what);
  std::abort();
}

bool has_nan(const tether::binding::mqtt::Payload& p) {
  auto nan = [](const std::optional<double>& v) { return v && std::isnan(*v); };
  return nan(p.gt) || nan(p.lt) || nan(p.st);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace mqtt = tether::binding::mqtt;
  const tether::ByteView bytes(data, size);
  if (auto p = mqtt::decode(bytes)) {
    auto again = mqtt::decode(mqtt::encode(*p));
    if (!again) mismatch("our own encoding does not decode");
    if (!has_nan(*p) && !(*again == *p)) mismatch("the round trip changed the map");
  }
  static const mqtt::CoseKey key{tether::Bytes{'k'}, tether::Bytes(16, 0x42), 10};
  if (auto opened = mqtt::open(bytes, [](tether::ByteView) { return &key; })) {
    auto sealed = mqtt::seal(key, *opened);
    if (!sealed) mismatch("what opened does not seal");
    auto back = mqtt::open(*sealed, [](tether::ByteView) { return &key; });
    if (!back || *back != *opened) mismatch("a sealed payload does not open to itself");
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view prefix : {"", "tenant-a"}) {
    if (auto t = mqtt::parse_topic(text, prefix)) {
      if (mqtt::topic_name(*t) != text) mismatch("a parsed topic names another topic");
    }
  }
  return 0;
}
