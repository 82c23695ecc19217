#pragma once
// logfmt (key=value, one event per line) with values escaped so that nothing a peer sends
// can end a line, forge a field or cut the line short: controls, invalid UTF-8, quotes and
// backslashes are escaped, and a value with a space or '=' is quoted.
#include <string>
#include <string_view>

namespace tether {

// `value` as a logfmt value: as it is when it is plain, else "quoted" with \" \\ and \xNN.
std::string logfmt_value(std::string_view value);
// " key=value" (with the leading space), for appending to a line.
std::string logfmt_field(std::string_view key, std::string_view value);

}  // namespace tether
