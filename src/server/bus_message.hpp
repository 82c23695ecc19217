#pragma once
// Reading a node bus message (JSON from another node, or from anyone who reaches Redis):
// each field is checked before it is used.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "common/text.hpp"

namespace tether::server {

// A string field of `message` (an object) that is clean text within `max` bytes; null when
// absent, of another type, or not clean.
inline const std::string* clean_field(const nlohmann::json& message, const char* name,
                                      std::size_t max) {
  const auto it = message.find(name);
  if (it == message.end() || !it->is_string()) return nullptr;
  const auto& s = it->get_ref<const std::string&>();
  return check_text(s, name, max) ? &s : nullptr;
}

}  // namespace tether::server
