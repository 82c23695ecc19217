#include "api/list_merge.hpp"

#include <algorithm>

namespace tether::api {
namespace {

using nlohmann::json;

// Counts nested in objects (the fleet counts): summed key by key.
void add_counts(json& into, const json& more) {
  if (more.is_number_unsigned() || more.is_number_integer()) {
    into = (into.is_number() ? into.get<std::uint64_t>() : 0) + more.get<std::uint64_t>();
    return;
  }
  if (!more.is_object()) return;
  if (!into.is_object()) into = json::object();
  for (const auto& [name, value] : more.items()) add_counts(into[name], value);
}

std::string key_of(const json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

MergedList merge_lists(const std::vector<http::Response>& parts,
                       const std::optional<PageQuery>& query, const char* list_name,
                       const char* key) {
  MergedList out;
  std::vector<json> bodies;
  for (const auto& part : parts) {
    if (part.status != 200) {
      out.failed = part;
      return out;
    }
    json body = json::parse(part.body, nullptr, false);
    const bool whole_ok = !query && body.is_array();
    const bool page_ok = query && body.is_object() && body.contains(list_name) &&
                         body[list_name].is_array() && body.contains("total");
    if (!whole_ok && !page_ok) {
      http::Response bad;
      bad.status = 500;
      bad.body = "a worker answered a list that is not one";
      out.failed = std::move(bad);
      return out;
    }
    bodies.push_back(std::move(body));
  }
  auto by_key = [key](const json& a, const json& b) { return key_of(a, key) < key_of(b, key); };
  auto same_key = [key](const json& a, const json& b) { return key_of(a, key) == key_of(b, key); };
  // A device moving between workers is listed by both until the one it left lets it go
  // (a post away): listed once, and counted once.
  auto sorted_once = [&](std::vector<json>& rows) {
    std::stable_sort(rows.begin(), rows.end(), by_key);
    const auto end = std::unique(rows.begin(), rows.end(), same_key);
    const auto twice = static_cast<std::size_t>(rows.end() - end);
    rows.erase(end, rows.end());
    return twice;
  };

  if (!query) {
    std::vector<json> rows;
    for (auto& b : bodies) {
      for (auto& row : b) rows.push_back(std::move(row));
    }
    sorted_once(rows);
    if (rows.size() > kWholeListMax) {
      out.refusal = whole_list_refusal(rows.size());
      return out;
    }
    out.body = json::array();
    for (auto& row : rows) out.body.push_back(std::move(row));
    return out;
  }

  // Each worker's page ends at its cursor (the last row, or the last name a bounded scan
  // read); past the smallest of those, another worker has rows this call did not read.
  std::optional<std::string> cut;
  std::uint64_t total = 0, matched = 0, scanned = 0;
  bool all_matched = true, any_scanned = false;
  json counts;
  std::vector<json> rows;
  for (auto& b : bodies) {
    total += b["total"].get<std::uint64_t>();
    if (b.contains("next") && b["next"].is_string()) {
      std::string next = b["next"].get<std::string>();
      if (!cut || next < *cut) cut = std::move(next);
    }
    if (b.contains("matched") && b["matched"].is_number()) {
      matched += b["matched"].get<std::uint64_t>();
    } else {
      all_matched = false;
    }
    if (b.contains("scanned") && b["scanned"].is_number()) {
      any_scanned = true;
      scanned += b["scanned"].get<std::uint64_t>();
    }
    if (b.contains("counts")) add_counts(counts, b["counts"]);
    for (auto& row : b[list_name]) rows.push_back(std::move(row));
  }
  if (cut) {
    std::erase_if(rows, [&](const json& row) { return key_of(row, key) > *cut; });
  }
  total -= std::min<std::uint64_t>(total, sorted_once(rows));
  std::optional<std::string> next = cut;
  if (rows.size() > query->limit) {
    rows.resize(query->limit);
    next = rows.empty() ? query->after : key_of(rows.back(), key);
  }
  out.body = json{{"total", total}};
  out.body[list_name] = std::move(rows);
  if (next) out.body["next"] = *next;
  if (query->filtered() && all_matched) out.body["matched"] = matched;
  if (any_scanned) out.body["scanned"] = scanned;
  if (!counts.is_null()) out.body["counts"] = std::move(counts);
  return out;
}

}  // namespace tether::api
