#include "binding/http/media_type.hpp"

#include <array>
#include <utility>

#include "common/text.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::binding::http_binding {

namespace {

struct Entry {
  std::uint16_t number;
  std::string_view type;
};
// RFC 7252 12.3, RFC 8428 12, RFC 8790, OMA's registrations.
constexpr std::array<Entry, 10> kTypes{{
    {0, "text/plain;charset=utf-8"},
    {40, "application/link-format"},
    {42, "application/octet-stream"},
    {110, "application/senml+json"},
    {112, "application/senml+cbor"},
    {320, "application/senml-etch+json"},
    {322, "application/senml-etch+cbor"},
    {11542, "application/vnd.oma.lwm2m+tlv"},
    {11543, "application/vnd.oma.lwm2m+json"},
    {11544, "application/vnd.oma.lwm2m+cbor"},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The bare type ("text/plain") of a type with parameters.
std::string_view essence(std::string_view type) {
  return trim(type.substr(0, type.find(';')));
}

}  // namespace

std::optional<std::string_view> media_type_of(std::uint16_t content_format) {
  for (const auto& e : kTypes) {
    if (e.number == content_format) return e.type;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> content_format_of(std::string_view media_type) {
  const std::string full = lower(media_type);
  const std::string_view bare = essence(full);
  if (bare == "text/plain") {
    // A charset other than UTF-8 is not LwM2M's plain text (Core TS C.3).
    for (std::size_t at = full.find(';'); at != std::string::npos; at = full.find(';', at + 1)) {
      std::string_view param = trim(std::string_view(full).substr(at + 1));
      param = param.substr(0, param.find(';'));
      if (!param.starts_with("charset=")) continue;
      std::string_view value = trim(param.substr(8));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (value != "utf-8") return std::nullopt;
    }
    return std::uint16_t{0};
  }
  for (const auto& e : kTypes) {
    if (essence(e.type) == bare) return e.number;
  }
  return std::nullopt;
}

Result<std::optional<std::uint16_t>> accepted_format(std::optional<std::string_view> accept) {
  using Out = std::optional<std::uint16_t>;
  if (!accept || trim(*accept).empty()) return Out{};
  bool wildcard = false;
  std::string_view rest = *accept;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (entry.empty()) continue;
    const std::string_view bare = essence(entry);
    if (bare == "*/*" || bare == "application/*" || bare == "text/*") {
      wildcard = true;
      continue;
    }
    if (auto n = content_format_of(entry)) return Out{*n};
  }
  if (wildcard) return Out{};
  return lwm2m::reject(lwm2m::status::kNotAcceptable,
                       "Accept names no LwM2M format: " + printable(*accept, 80));
}

}  // namespace tether::binding::http_binding
