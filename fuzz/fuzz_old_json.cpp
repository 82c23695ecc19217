// Fuzzes the LwM2M 1.0 JSON format (decode only); see format_fuzz.hpp for what is checked.
#include "format_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_support::run(tether::lwm2m::format::ContentFormat::kOldJson, data, size, false, true,
                           false);
}
