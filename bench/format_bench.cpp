// Encode and decode of a 20-resource Device object instance (/3/0) in each content format:
// ns per operation, and bytes on the wire as the "bytes" counter.
#include <benchmark/benchmark.h>

#include "../tests/support/device_object.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/model/object_registry.hpp"

namespace {

using tether::lwm2m::Path;
using tether::lwm2m::format::ContentFormat;

const tether::lwm2m::model::ObjectRegistry& registry() {
  static const auto r = tether::lwm2m::model::ObjectRegistry::with_builtin();
  return r;
}

void encode(benchmark::State& state, ContentFormat format) {
  const auto tree = tether::test_support::device_instance();
  const Path path{3, 0};
  std::size_t size = 0;
  for (auto _ : state) {
    auto bytes = tether::lwm2m::format::encode(format, path, tree, registry());
    if (!bytes) {
      state.SkipWithError(bytes.error().reason.c_str());
      return;
    }
    size = bytes->size();
    benchmark::DoNotOptimize(bytes->data());
  }
  state.counters["bytes"] = static_cast<double>(size);
}

// Checks once that `payload` decodes to the Device instance, then times decoding alone.
void time_decode(benchmark::State& state, ContentFormat format, const tether::Bytes& payload) {
  const Path path{3, 0};
  auto first = tether::lwm2m::format::decode(format, path, payload, registry());
  if (!first || !(*first == tether::test_support::device_instance())) {
    state.SkipWithError(first ? "decode did not give the tree back" : first.error().reason.c_str());
    return;
  }
  for (auto _ : state) {
    auto back = tether::lwm2m::format::decode(format, path, payload, registry());
    benchmark::DoNotOptimize(back.ok());
  }
  state.counters["bytes"] = static_cast<double>(payload.size());
}

void decode(benchmark::State& state, ContentFormat format) {
  auto payload = tether::lwm2m::format::encode(format, Path{3, 0},
                                               tether::test_support::device_instance(), registry());
  if (!payload) {
    state.SkipWithError(payload.error().reason.c_str());
    return;
  }
  time_decode(state, format, *payload);
}

// The LwM2M 1.0 JSON format is decode-only: decode a hand-written payload of the same tree.
void decode_old_json(benchmark::State& state) {
  const std::string payload =
      R"({"bn":"/3/0/","e":[{"n":"0","sv":"Tether Devices"},{"n":"1","sv":"TD-100 Gateway"},)"
      R"({"n":"2","sv":"345000123"},{"n":"3","sv":"1.0.4"},{"n":"6/0","v":1},{"n":"6/1","v":5},)"
      R"({"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},)"
      R"({"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1763880000},)"
      R"({"n":"14","sv":"+02:00"},{"n":"15","sv":"Europe/Berlin"},{"n":"16","sv":"UQ"},)"
      R"({"n":"17","sv":"gateway"},{"n":"18","sv":"1.2"},{"n":"19","sv":"2.0.1"},)"
      R"({"n":"20","v":0},{"n":"21","v":512},{"n":"22/0","ov":"3303:0"}]})";
  time_decode(state, ContentFormat::kOldJson, tether::Bytes(payload.begin(), payload.end()));
}

BENCHMARK_CAPTURE(encode, tlv, ContentFormat::kTlv);
BENCHMARK_CAPTURE(decode, tlv, ContentFormat::kTlv);
BENCHMARK_CAPTURE(encode, senml_json, ContentFormat::kSenmlJson);
BENCHMARK_CAPTURE(decode, senml_json, ContentFormat::kSenmlJson);
BENCHMARK_CAPTURE(encode, senml_cbor, ContentFormat::kSenmlCbor);
BENCHMARK_CAPTURE(decode, senml_cbor, ContentFormat::kSenmlCbor);
BENCHMARK_CAPTURE(encode, lwm2m_cbor, ContentFormat::kLwm2mCbor);
BENCHMARK_CAPTURE(decode, lwm2m_cbor, ContentFormat::kLwm2mCbor);
BENCHMARK(decode_old_json);

}  // namespace
