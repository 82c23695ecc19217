// Fuzzes SenML JSON trees, records and ETCH path lists; see format_fuzz.hpp for what is checked.
#include "format_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz_support::run(tether::lwm2m::format::ContentFormat::kSenmlJson, data, size, true, true,
                           true);
}
