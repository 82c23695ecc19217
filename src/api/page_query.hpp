#pragma once
// Paging for the API's long lists (registrations, credentials, bootstrap configurations):
// ?limit=50&after=<last name seen>&prefix=&q= and a route's own exact filters. The cursor is
// a name, not an offset, so rows that come and go between two pages shift nothing, and a
// page costs what it reads, not the size of the fleet.
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "http/uri.hpp"

namespace tether::api {

struct PageQuery {
  static constexpr std::size_t kMaxLimit = 1000;
  std::size_t limit = 50;  // 0: no rows (counts only)
  std::string after;       // the last name of the previous page
  std::string prefix;      // names that start with this
  std::string q;           // names that contain this, ignoring ASCII case
  std::map<std::string, std::string, std::less<>> filters;  // the route's own, exact
  bool counts = false;
  // Whether anything beyond the cursor and prefix narrows the list (then `matched` is
  // counted, which reads the whole prefix range).
  bool filtered() const { return !q.empty() || !filters.empty(); }
  std::string filter(std::string_view name) const;  // "" when not given
};

// Reads the paging parameters and the `filters` this route takes; any other parameter is
// refused, so a misspelt one does not silently list everything.
Result<PageQuery> parse_page_query(const std::vector<http::QueryParam>& params,
                                   std::initializer_list<std::string_view> filters);

// Whether `name` contains `q`, ignoring ASCII case.
bool contains_text(std::string_view name, std::string_view q);

// Builds one page from names offered in order from the start of the prefix range (or from
// the cursor when nothing is filtered): {"total", <list>: [...], "next", "matched"}.
class Pager {
 public:
  explicit Pager(const PageQuery& query) : query_(query) {}
  // Where the walk starts: the cursor, unless matches before it must be counted.
  std::string_view start_after() const {
    if (query_.filtered()) return {};
    return query_.after;
  }
  // Offers the next row in name order; `matches` says whether the route's filters accept
  // it. Returns false once the page is full and nothing more needs counting.
  bool offer(std::string_view name, bool matches, const std::function<nlohmann::json()>& row);
  nlohmann::json result(std::size_t total, const char* list_name) &&;

 private:
  const PageQuery& query_;
  nlohmann::json rows_ = nlohmann::json::array();
  std::string last_;
  bool more_ = false;
  std::size_t matched_ = 0;
};

}  // namespace tether::api
