// Fuzzes text/plain and octet-stream at resource paths of every type; see format_fuzz.hpp.
#include "format_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto format = (data[0] & 0x80) ? tether::lwm2m::format::ContentFormat::kOpaque
                                       : tether::lwm2m::format::ContentFormat::kText;
  static const tether::lwm2m::Path kPaths[] = {
      tether::lwm2m::Path{3, 0, 0},       tether::lwm2m::Path{3, 0, 9},      // String, Integer
      tether::lwm2m::Path{3, 0, 13},      tether::lwm2m::Path{3, 0, 22, 0},  // Time, Objlnk
      tether::lwm2m::Path{5, 0, 0},       tether::lwm2m::Path{1, 0, 6},      // Opaque, Boolean
      tether::lwm2m::Path{3303, 0, 5700}, tether::lwm2m::Path{1, 0, 1}};     // Float, lifetime
  fuzz_support::check_tree(format, kPaths[data[0] & 7], tether::ByteView(data + 1, size - 1), true);
  return 0;
}
