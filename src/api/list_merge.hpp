#pragma once
// `tether server --workers N`: a list call answered by every worker, merged into the answer
// one server holding all the rows would give (the same rows, order, cursor and totals).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/page_query.hpp"
#include "transport/http/http_server.hpp"

namespace tether::api {

struct MergedList {
  std::optional<http::Response> failed;  // a worker's error, answered as it is
  std::optional<std::string> refusal;    // 400: the whole list is too long to answer at once
  nlohmann::json body;                   // otherwise, the merged list or page
};

// `parts`: each worker's answer to the same call. `query`: the page asked for, nullopt for
// the whole list (an array of rows). Rows are ordered by their `key` field; a page's rows
// are in `list_name`.
MergedList merge_lists(const std::vector<http::Response>& parts,
                       const std::optional<PageQuery>& query, const char* list_name,
                       const char* key);

}  // namespace tether::api
