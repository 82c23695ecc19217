#pragma once
// Walks an ordered map keyed by name from just after a cursor, within a prefix: what the
// API's paged lists are made of (a page costs O(log n + what it visits)).
#include <string>
#include <string_view>

namespace tether {

// Visits the values whose keys start with `prefix` and come after `after` ("" for the
// start), in key order, while `visit` returns true.
template <typename Map, typename Visit>
void walk_ordered(const Map& map, std::string_view after, std::string_view prefix, Visit&& visit) {
  using Key = typename Map::key_type;
  auto it =
      after.empty() || after < prefix ? map.lower_bound(Key(prefix)) : map.upper_bound(Key(after));
  for (; it != map.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    if (!visit(it->second)) return;
  }
}

}  // namespace tether
