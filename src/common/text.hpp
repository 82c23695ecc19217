#pragma once
// Checks for text that arrives from the network or the API before it reaches JSON, logs or a
// store: JSON needs valid UTF-8, a log line must not be split or cut by what it quotes, and
// a name must not be long enough to be a memory lever.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tether {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s);
// Whether `s` holds a control character: C0 (U+0000-U+001F), DEL or C1 (U+0080-U+009F).
// Call on valid UTF-8 only.
bool has_control(std::string_view s);

// Ok when `s` is valid UTF-8 without control characters and at most `max_bytes` long;
// otherwise an error that names `what` and says what is wrong (it never repeats the bytes).
Result<Ok> check_text(std::string_view s, std::string_view what, std::size_t max_bytes);

// `s` for quoting in a message or a log: printable UTF-8 as it is, backslash as \\, and every
// other byte (controls, invalid UTF-8, line separators and bidirectional controls) as \xNN.
// At most `max_bytes` of `s` are shown, then "...".
std::string printable(std::string_view s, std::size_t max_bytes = 200);

// RFC 3986 2.1: decodes %XX escapes; a '%' not followed by two hex digits fails. With
// `plus_is_space` (HTTP query strings, as HTML forms write them) '+' becomes ' '. The result
// is bytes: check it (check_text) before it is used as a name.
Result<std::string> percent_decode(std::string_view text, bool plus_is_space = false);
// RFC 3986 2.1: every byte but the unreserved ones (letters, digits, "-._~") as %XX.
std::string percent_encode(std::string_view text);

}  // namespace tether
