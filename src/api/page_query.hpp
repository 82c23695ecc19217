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

// A list asked for without paging parameters is answered whole only up to this many
// entries: beyond, building it would hold the event loop for seconds (about 0.9 s for
// 20,000 registrations) and answer hundreds of megabytes. Larger ones are read by page.
constexpr std::size_t kWholeListMax = 10'000;
std::string whole_list_refusal(std::size_t count);

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
//
// A filter (q, or a route's own) may match rarely, so finding a page can mean reading the
// whole collection on the event loop. In a collection larger than the scan budget a
// filtered call reads at most that many names from the cursor; when it stops short it
// answers the rows it found with `next` at the last name it read, so the caller goes on
// from there. `matched` is then counted only by a first page whose walk reached the end.
class Pager {
 public:
  static constexpr std::size_t kScanBudget = 100'000;
  Pager(const PageQuery& query, std::size_t total, std::size_t budget = kScanBudget)
      : query_(query),
        total_(total),
        bounded_(query.filtered() && total > budget),
        budget_(budget) {}
  // Where the walk starts: the cursor, unless matches before it must be counted.
  std::string_view start_after() const {
    if (query_.filtered() && !bounded_) return {};
    return query_.after;
  }
  // Offers the next row in name order; `matches` says whether the route's filters accept
  // it. Returns false once the page is full and nothing more needs counting, or the scan
  // budget is spent. The names offered must outlive result().
  bool offer(std::string_view name, bool matches, const std::function<nlohmann::json()>& row);
  nlohmann::json result(const char* list_name) &&;

 private:
  const PageQuery& query_;
  std::size_t total_;
  bool bounded_;
  std::size_t budget_;
  nlohmann::json rows_ = nlohmann::json::array();
  std::string last_;
  std::string_view read_;  // the last name read (bounded walks)
  bool more_ = false;
  bool cut_ = false;
  std::size_t matched_ = 0;
  std::size_t scanned_ = 0;
};

}  // namespace tether::api
