#pragma once
// A JSON number as an LwM2M value in its natural type, shared by the JSON formats.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "lwm2m/value.hpp"

namespace tether::lwm2m::format {

// Integers stay Integer (Unsigned only above INT64_MAX); anything with a fraction or an
// exponent is Float. Non-numbers fail.
inline Result<Value> json_number(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      return Value(static_cast<std::int64_t>(u));
    return Value(u);
  }
  if (j.is_number_integer()) return Value(j.get<std::int64_t>());
  if (j.is_number_float()) return Value(j.get<double>());
  return fail("not a number");
}

}  // namespace tether::lwm2m::format
