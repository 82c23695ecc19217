#pragma once
// The argument list of Execute (Core TS 5.4.5): `0,1='on',5='a&b'` — one digit per argument,
// each with an optional single-quoted value of printable ASCII without quotes or backslash.
// A client checks it before acting: a malformed list executes nothing (4.00).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tether::lwm2m {

struct ExecuteArgument {
  int digit = 0;
  std::optional<std::string> value;
  friend bool operator==(const ExecuteArgument&, const ExecuteArgument&) = default;
};

// An empty text is an empty list.
Result<std::vector<ExecuteArgument>> parse_execute_arguments(std::string_view text);

}  // namespace tether::lwm2m
