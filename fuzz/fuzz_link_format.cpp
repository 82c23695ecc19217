// Fuzzes link-format parsing and the registration and Discover readings of it: whatever is
// accepted must serialise and parse back to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format_fuzz.hpp"
#include "lwm2m/format/link_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace lf = tether::lwm2m::format::link_format;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto links = lf::parse(text); links) {
    auto again = lf::parse(lf::serialize(*links));
    if (!again || *again != *links) fuzz_support::mismatch("links do not round-trip");
  } else {
    fuzz_support::require_reason(links);
  }
  if (auto reg = lf::parse_registration(text); reg) {
    auto again = lf::parse_registration(lf::serialize_registration(*reg));
    if (!again || *again != *reg) fuzz_support::mismatch("registration does not round-trip");
  }
  if (auto entries = lf::parse_discover(text); entries) {
    auto again = lf::parse_discover(lf::serialize_discover(*entries));
    if (!again || *again != *entries) fuzz_support::mismatch("discover does not round-trip");
  }
  return 0;
}
