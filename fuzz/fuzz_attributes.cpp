// Fuzzes Write-Attributes queries: an accepted update applied anywhere gives consistent
// attributes that serialise and parse back to the same set, and the notification rule
// answers for any pair of values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format_fuzz.hpp"
#include "lwm2m/attributes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tether::lwm2m;
  if (size == 0) return 0;
  const Path target = fuzz_support::pick_path(data[0]);
  const std::string_view query(reinterpret_cast<const char*>(data + 1), size - 1);
  auto update = parse_update(query);
  fuzz_support::require_reason(update);
  if (!update) return 0;
  auto applied = apply_update(Attributes{}, *update, target, ResourceType::kInteger);
  if (!applied) return 0;
  if (!check_consistent(*applied)) fuzz_support::mismatch("accepted inconsistent attributes");
  auto reparsed = parse_update(applied->to_query());
  if (!applied->empty()) {
    if (!reparsed) fuzz_support::mismatch("serialised attributes do not parse");
    auto again = apply_update(Attributes{}, *reparsed, target, ResourceType::kInteger);
    if (!again || *again != *applied) fuzz_support::mismatch("attributes do not round-trip");
  }
  const Value before(std::int64_t{static_cast<std::int8_t>(data[0])});
  const Value after(std::int64_t{static_cast<std::int8_t>(data[size - 1])});
  (void)notification_due(*applied, &before, after, static_cast<double>(size));
  return 0;
}
