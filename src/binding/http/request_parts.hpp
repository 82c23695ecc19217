#pragma once
// The pieces of an HTTP request every direction of the binding reads and writes: the decoded
// path segments, the query as the "name=value" strings the LwM2M parameter readers take, and
// requests built in origin form.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "http/message.hpp"

namespace tether::binding::http_binding {

// Percent-decoded path segments; fails (4.00) for an encoding that does not decode.
Result<std::vector<std::string>> path_segments(std::string_view encoded_path);
// "ep=a%20b&Q" -> "ep=a b", "Q"; fails (4.00) for a malformed query or a name holding '='.
Result<std::vector<std::string>> query_strings(const http::Request& request);
// The inverse: "ep=a b", "Q" -> "ep=a%20b&Q".
std::string query_of(const std::vector<std::string>& queries);
// A request with `path` (already encoded) and `query`.
http::Request make_request(std::string method, std::string path, std::string query = {});
// The content format its Content-Type names, none without one; fails (4.15) for a media type
// that is no LwM2M format.
Result<std::optional<std::uint16_t>> body_format(const http::Headers& headers);
// Sets Content-Type (when the number has a media type) and the body.
void set_body(http::Headers& headers, std::string& body, std::uint16_t content_format,
              std::string_view bytes);

}  // namespace tether::binding::http_binding
