// The client's answer path without sockets: a server's CoAP request decoded into an
// operation, answered by the data model and encoded back (Read /3/0 in TLV and SenML CBOR,
// a single-resource Read, Write of a resource, Discover), and the heap one client's data
// model costs with the standard objects.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include "binding/coap/device_mapping.hpp"
#include "client/data_model.hpp"
#include "client/objects/account_objects.hpp"
#include "client/objects/temperature_object.hpp"

namespace {
using namespace tether;
using coap::Message;
namespace codes = coap::codes;

class FixedClock final : public Clock {
 public:
  Instant now() const override { return Instant{}; }
  UnixMillis unix_now() const override { return 1'790'000'000'000; }
};

const lwm2m::model::ObjectRegistry& models() {
  static const auto r = lwm2m::model::ObjectRegistry::with_builtin();
  return r;
}

std::unique_ptr<client::DataModel> make_model(const Clock& clock) {
  auto data = std::make_unique<client::DataModel>(models());
  client::add_standard_objects(*data, client::DeviceInfo{}, clock);
  (void)data->add(std::make_unique<client::TemperatureObject>());
  (void)data->put(lwm2m::Path{0, 0, 0}, lwm2m::Value("coap://127.0.0.1:5683"));
  (void)data->put(lwm2m::Path{0, 0, 10}, lwm2m::Value(std::int64_t{1}));
  (void)data->put(lwm2m::Path{1, 0, 0}, lwm2m::Value(std::int64_t{1}));
  (void)data->put(lwm2m::Path{1, 0, 1}, lwm2m::Value(std::int64_t{300}));
  return data;
}

void answer(benchmark::State& state, const Message& request) {
  FixedClock clock;
  auto data = make_model(clock);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto op = binding::coap_binding::decode_device_request(request, false, models());
    auto answered = data->handle(*op, client::Requester{1, false});
    auto response = binding::coap_binding::encode_device_response(*op, answered, models());
    bytes += response.payload.size();
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["payload_bytes"] =
      static_cast<double>(bytes) /
      static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}

Message get(const std::string& path, std::optional<std::uint16_t> accept = std::nullopt) {
  Message m = coap::make_request(codes::kGet, path);
  if (accept) m.options.set_uint(coap::option::kAccept, *accept);
  return m;
}

void BM_ReadDeviceTlv(benchmark::State& state) {
  answer(state, get("/3/0", 11542));
}
void BM_ReadDeviceSenmlCbor(benchmark::State& state) {
  answer(state, get("/3/0", 112));
}
void BM_ReadTemperatureText(benchmark::State& state) {
  answer(state, get("/3303/0/5700"));
}
void BM_DiscoverDevice(benchmark::State& state) {
  answer(state, get("/3", 40));
}
void BM_WriteUtcOffset(benchmark::State& state) {
  Message m = coap::make_request(codes::kPut, "/3/0/14");
  m.set_content_format(0);
  m.payload = to_bytes("+01:00");
  answer(state, m);
}

// Heap per client data model (standard objects, one server account, a temperature sensor),
// averaged over 100 models held at once.
void BM_DataModelMemory(benchmark::State& state) {
  FixedClock clock;
  for (auto _ : state) {
    std::vector<std::unique_ptr<client::DataModel>> held;
    const auto before = mallinfo2().uordblks;
    for (int i = 0; i < 100; ++i) held.push_back(make_model(clock));
    const auto after = mallinfo2().uordblks;
    state.counters["heap_bytes"] = static_cast<double>(after - before) / 100;
    benchmark::DoNotOptimize(held);
  }
}

BENCHMARK(BM_ReadDeviceTlv);
BENCHMARK(BM_ReadDeviceSenmlCbor);
BENCHMARK(BM_ReadTemperatureText);
BENCHMARK(BM_DiscoverDevice);
BENCHMARK(BM_WriteUtcOffset);
BENCHMARK(BM_DataModelMemory)->Iterations(10);
}  // namespace
