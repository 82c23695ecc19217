#include "server/store/stored_text.hpp"

#include "server/store/credentials_json.hpp"

namespace tether::server {

std::string join_paths(const std::vector<lwm2m::Path>& paths) {
  std::string out;
  for (const auto& path : paths) {
    if (!out.empty()) out += ' ';
    out += path.to_string();
  }
  return out;
}

Result<std::vector<lwm2m::Path>> split_paths(std::string_view text) {
  std::vector<lwm2m::Path> out;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const auto one = text.substr(0, space);
    auto path = lwm2m::Path::parse(one);
    if (!path) return fail("path '" + std::string(one) + "': " + path.error().reason);
    out.push_back(*path);
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
    if (text.empty()) return fail("paths end in a space");
  }
  return out;
}

std::optional<std::string> join_attributes(const std::vector<std::string>& attributes) {
  if (attributes.empty()) return std::nullopt;
  std::string out;
  for (const auto& attribute : attributes) {
    if (&attribute != &attributes.front()) out += '&';
    for (char c : attribute) {
      if (c == '%') {
        out += "%25";
      } else if (c == '&') {
        out += "%26";
      } else {
        out += c;
      }
    }
  }
  return out;
}

Result<std::vector<std::string>> split_attributes(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  if (!text) return out;
  out.emplace_back();
  const std::string_view s = *text;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      out.emplace_back();
    } else if (s[i] != '%') {
      out.back() += s[i];
    } else if (s.substr(i, 3) == "%25") {
      out.back() += '%';
      i += 2;
    } else if (s.substr(i, 3) == "%26") {
      out.back() += '&';
      i += 2;
    } else {
      return fail("attributes: unknown escape at offset " + std::to_string(i));
    }
  }
  return out;
}

std::string credentials_json_part(const Credentials& c) {
  // Modes oscore, cose and digest live in the JSON (no new stored fields for them).
  const bool in_json =
      c.has_oscore() || c.kind == Credentials::Kind::kCose || c.kind == Credentials::Kind::kDigest;
  return in_json ? credentials_json(c, Secrets::kInclude).dump() : "";
}

Result<Ok> merge_credentials_json_part(Credentials& c, const std::string& json_part) {
  if (json_part.empty()) return Ok{};
  auto parsed = credentials_from_json(
      c.endpoint, nlohmann::json::parse(json_part, nullptr, false, /*ignore_comments=*/false));
  if (!parsed) return parsed.error();
  // Mode oscore is all in the JSON; beside a PSK, RPK or certificate only the OSCORE keys
  // are taken from it (the stored fields hold the rest, as written).
  if (c.kind == Credentials::Kind::kOscore || c.kind == Credentials::Kind::kCose ||
      c.kind == Credentials::Kind::kDigest) {
    c = std::move(*parsed);
  } else {
    c.oscore = std::move(parsed->oscore);
  }
  return Ok{};
}

}  // namespace tether::server
