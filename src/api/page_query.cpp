#include "api/page_query.hpp"

#include <algorithm>
#include <cctype>

namespace tether::api {

std::string PageQuery::filter(std::string_view name) const {
  auto it = filters.find(name);
  return it == filters.end() ? std::string{} : it->second;
}

std::string whole_list_refusal(std::size_t count) {
  return std::to_string(count) + " entries are more than " + std::to_string(kWholeListMax) +
         " to answer at once: ask for pages (limit, after)";
}

Result<PageQuery> parse_page_query(const std::vector<http::QueryParam>& params,
                                   std::initializer_list<std::string_view> filters) {
  PageQuery out;
  for (const auto& p : params) {
    if (p.name == "limit") {
      const std::string& v = p.value;
      if (v.empty() || v.size() > 4 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoul(v) > PageQuery::kMaxLimit) {
        return fail("limit is a number from 0 to " + std::to_string(PageQuery::kMaxLimit));
      }
      out.limit = std::stoul(v);
    } else if (p.name == "after") {
      out.after = p.value;
    } else if (p.name == "prefix") {
      out.prefix = p.value;
    } else if (p.name == "q") {
      out.q = p.value;
    } else if (p.name == "counts") {
      out.counts = p.value != "false";
    } else if (std::find(filters.begin(), filters.end(), p.name) != filters.end()) {
      if (!p.value.empty()) out.filters[p.name] = p.value;
    } else {
      return fail("unknown parameter " + p.name);
    }
  }
  return out;
}

bool contains_text(std::string_view name, std::string_view q) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  return std::search(name.begin(), name.end(), q.begin(), q.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != name.end();
}

bool Pager::offer(std::string_view name, bool matches, const std::function<nlohmann::json()>& row) {
  if (bounded_) {
    if (scanned_ == budget_) {
      cut_ = true;
      return false;
    }
    ++scanned_;
    read_ = name;
  }
  if (!matches || !contains_text(name, query_.q)) return true;
  ++matched_;
  if (!query_.after.empty() && name <= query_.after) return true;  // counted, before the page
  if (rows_.size() < query_.limit) {
    rows_.push_back(row());
    last_ = name;
    return true;
  }
  more_ = true;
  // Keep counting matches, unless the count could not be whole anyway (a later page of a
  // bounded walk). A bounded page of no rows (limit=0) has no row to be the cursor: it
  // reads on until the budget hands out one.
  if (query_.limit == 0 && bounded_) return true;
  return query_.filtered() && !(bounded_ && !query_.after.empty());
}

nlohmann::json Pager::result(const char* list_name) && {
  nlohmann::json out{{"total", total_}};
  out[list_name] = std::move(rows_);
  if (cut_ && (!more_ || last_.empty())) {
    out["next"] = std::string(read_);  // go on from the last name read
  } else if (more_ && !last_.empty()) {
    out["next"] = last_;
  }
  if (query_.filtered() && (!bounded_ || (query_.after.empty() && !cut_))) {
    out["matched"] = matched_;
  }
  if (bounded_) out["scanned"] = scanned_;
  return out;
}

}  // namespace tether::api
