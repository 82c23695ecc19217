// Fuzzes the client's side of Device Management: a datagram that decodes as CoAP becomes a
// DownlinkRequest (or a refusal code), the data model answers it as a server or as the
// Bootstrap-Server would, and the answer encodes. Nothing may crash, refusals carry a
// reason, and every answer is a response code.
#include <cstddef>
#include <cstdint>

#include "binding/coap/device_mapping.hpp"
#include "client/data_model.hpp"
#include "client/objects/account_objects.hpp"
#include "client/objects/temperature_object.hpp"
#include "coap/udp_codec.hpp"
#include "format_fuzz.hpp"

namespace {
class FixedClock final : public tether::Clock {
 public:
  tether::Instant now() const override { return tether::Instant{}; }
  tether::UnixMillis unix_now() const override { return 1'790'000'000'000; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tether;
  if (size < 1) return 0;
  const bool bootstrap = (data[0] & 1) != 0;
  auto message = coap::decode_udp(ByteView(data + 1, size - 1));
  if (!message || !message->code.is_request()) return 0;
  static const auto models = lwm2m::model::ObjectRegistry::with_builtin();
  static const FixedClock clock;
  client::DataModel model(models);
  client::add_standard_objects(model, client::DeviceInfo{}, clock);
  (void)model.add(std::make_unique<client::TemperatureObject>());
  (void)model.add(std::make_unique<client::DataObject>(3311));
  (void)model.put(lwm2m::Path{1, 0, 0}, lwm2m::Value(std::int64_t{1}));
  auto request = binding::coap_binding::decode_device_request(*message, bootstrap, models);
  if (!request) {
    fuzz_support::require_reason(request);
    return 0;
  }
  const auto answer = model.handle(*request, client::Requester{1, bootstrap});
  const auto response = binding::coap_binding::encode_device_response(*request, answer, models);
  if (response.code.is_request()) fuzz_support::mismatch("an answer that is a request");
  return 0;
}
