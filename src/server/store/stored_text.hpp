#pragma once
// How stores write an observation's paths and attributes as text, and a credential's parts
// that only JSON holds. Shared by the SQLite and Redis stores, so a record reads the same
// in either.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/path.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

// Space-separated: "/3/0/1 /3/0/2".
std::string join_paths(const std::vector<lwm2m::Path>& paths);
Result<std::vector<lwm2m::Path>> split_paths(std::string_view text);

// '&'-separated with '%' and '&' escaped as %25 and %26; nullopt for none keeps an empty
// list apart from a list of one empty attribute.
std::optional<std::string> join_attributes(const std::vector<std::string>& attributes);
Result<std::vector<std::string>> split_attributes(const std::optional<std::string>& text);

// A credential's PSK identity and key, public key and common name are stored as they are;
// an OSCORE context and modes cose and digest as JSON beside them ("" when there is none).
std::string credentials_json_part(const Credentials& c);
// Completes `c`, read from those stored fields, with its JSON part.
Result<Ok> merge_credentials_json_part(Credentials& c, const std::string& json_part);

}  // namespace tether::server
