#pragma once
// logfmt (key=value, one event per line) with values escaped so that nothing a peer sends
// can end a line, forge a field or cut the line short: controls, invalid UTF-8, quotes and
// backslashes are escaped, and a value with a space or '=' is quoted.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tether {

// `value` as a logfmt value: as it is when it is plain, else "quoted" with \" \\ and \xNN.
std::string logfmt_value(std::string_view value);
// " key=value" (with the leading space), for appending to a line.
std::string logfmt_field(std::string_view key, std::string_view value);

// The fields of a line written with the two above, in order: quoted values unescaped (\" and
// \\; \xNN stays as text, the bytes it stands for may not be UTF-8), a bare word ("Q") has
// no value. For writing the same event in another format (--log-format json).
using LogfmtField = std::pair<std::string, std::optional<std::string>>;
std::vector<LogfmtField> parse_logfmt(std::string_view line);

}  // namespace tether
