#include "lwm2m/execute_arguments.hpp"

namespace tether::lwm2m {

namespace {
// Core TS 5.4.5: CHAR = %x21 / %x23-26 / %x28-5B / %x5D-7E.
bool is_value_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '"' && c != '\'' && c != '\\';
}
}  // namespace

Result<std::vector<ExecuteArgument>> parse_execute_arguments(std::string_view text) {
  std::vector<ExecuteArgument> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') {
      return fail("Execute arguments are digits with optional quoted values (0,1='x')");
    }
    ExecuteArgument arg;
    arg.digit = text[i] - '0';
    ++i;
    if (i < text.size() && text[i] == '=') {
      if (i + 1 >= text.size() || text[i + 1] != '\'') {
        return fail("an Execute argument's value is in single quotes");
      }
      const std::size_t start = i + 2;
      std::size_t end = start;
      while (end < text.size() && text[end] != '\'') {
        if (!is_value_char(text[end])) {
          return fail("an Execute argument's value holds printable ASCII without quotes");
        }
        ++end;
      }
      if (end >= text.size()) return fail("an Execute argument's value is not closed");
      arg.value = std::string(text.substr(start, end - start));
      i = end + 1;
    }
    for (const auto& seen : out) {
      if (seen.digit == arg.digit) return fail("an Execute argument is given twice");
    }
    out.push_back(std::move(arg));
    if (i == text.size()) break;
    if (text[i] != ',' || i + 1 == text.size()) {
      return fail("Execute arguments are separated by single commas");
    }
    ++i;
  }
  return out;
}

}  // namespace tether::lwm2m
