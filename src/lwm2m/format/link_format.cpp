#include "lwm2m/format/link_format.hpp"

#include <algorithm>
#include <charconv>

#include "common/text.hpp"
#include "lwm2m/value.hpp"

namespace tether::lwm2m::format::link_format {
namespace {

constexpr std::string_view kRegistrationType = "oma.lwm2m";

Error bad(const std::string& why) {
  return fail("link-format: " + why);
}

// RFC 6690 parmname / ptoken characters.
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' ||
         c == '#' || c == '$' || c == '&' || c == '+' || c == '-' || c == '.' || c == '^' ||
         c == '_' || c == '`' || c == '|' || c == '~' || c == '*';
}
bool is_token_char(char c) {
  return is_name_char(c) || c == '%' || c == '\'' || c == '(' || c == ')' || c == '/' || c == ':' ||
         c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == ']' ||
         c == '{' || c == '}';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<std::vector<Link>> run() {
    std::vector<Link> links;
    if (s_.empty()) return links;
    while (true) {
      if (links.size() >= kMaxLinks) return bad("too many links");
      auto link = parse_link();
      if (!link) return link.error();
      links.push_back(std::move(*link));
      if (at_ == s_.size()) return links;
      if (s_[at_] != ',') return bad("expected ',' at offset " + std::to_string(at_));
      ++at_;
    }
  }

 private:
  Result<Link> parse_link() {
    if (at_ >= s_.size() || s_[at_] != '<') return bad("a link starts with '<'");
    const auto close = s_.find('>', at_);
    if (close == std::string_view::npos) return bad("unterminated '<'");
    Link link;
    link.target = std::string(s_.substr(at_ + 1, close - at_ - 1));
    at_ = close + 1;
    while (at_ < s_.size() && s_[at_] == ';') {
      ++at_;
      auto param = parse_param();
      if (!param) return param.error();
      link.params.push_back(std::move(*param));
    }
    return link;
  }

  Result<Param> parse_param() {
    Param p;
    const std::size_t start = at_;
    while (at_ < s_.size() && is_name_char(s_[at_])) ++at_;
    if (at_ == start) return bad("empty parameter name at offset " + std::to_string(start));
    p.name = std::string(s_.substr(start, at_ - start));
    if (at_ >= s_.size() || s_[at_] != '=') return p;
    ++at_;
    if (at_ < s_.size() && s_[at_] == '"') return quoted(std::move(p));
    const std::size_t value_start = at_;
    while (at_ < s_.size() && is_token_char(s_[at_])) ++at_;
    if (at_ == value_start) return bad(p.name + "= has no value");
    p.value = std::string(s_.substr(value_start, at_ - value_start));
    return p;
  }

  Result<Param> quoted(Param p) {
    ++at_;
    std::string value;
    while (at_ < s_.size() && s_[at_] != '"') {
      if (s_[at_] == '\\') {
        if (++at_ >= s_.size()) break;
      }
      value += s_[at_++];
    }
    if (at_ >= s_.size()) return bad("unterminated quoted string");
    ++at_;
    p.value = std::move(value);
    p.quoted = true;
    return p;
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

Result<std::uint32_t> parse_u32(std::string_view text, const char* what) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return bad(std::string(what) + " '" + std::string(text) + "' is not a number");
  return v;
}

bool valid_version(std::string_view v) {
  const auto dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return false;
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return c == '.' || (c >= '0' && c <= '9'); }) &&
         v.find('.', dot + 1) == std::string_view::npos;
}

Result<Ok> add_formats(RegistrationPayload& out, std::string_view list) {
  // ct="60 110 112" or ct=110.
  while (!list.empty()) {
    const auto space = list.find(' ');
    auto n = parse_u32(list.substr(0, space), "ct");
    if (!n || *n > 0xffff) return bad("ct lists content formats 0..65535");
    out.content_formats.push_back(static_cast<std::uint16_t>(*n));
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
  return Ok{};
}

std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The alternate path as a prefix for object links: "" for "/", "/lwm2m" for "/lwm2m/".
std::string link_prefix(std::string_view alternate_path) {
  while (!alternate_path.empty() && alternate_path.back() == '/') alternate_path.remove_suffix(1);
  return std::string(alternate_path);
}

RegisteredObject& object_entry(RegistrationPayload& p, std::uint16_t id) {
  auto it = std::lower_bound(p.objects.begin(), p.objects.end(), id,
                             [](const RegisteredObject& o, std::uint16_t k) { return o.id < k; });
  if (it == p.objects.end() || it->id != id)
    it = p.objects.insert(it, RegisteredObject{id, {}, {}});
  return *it;
}

}  // namespace

const Param* Link::param(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

Result<std::vector<Link>> parse(std::string_view text) {
  // RFC 6690 is UTF-8; targets and values end up in JSON and logs. The whole text is
  // checked, so an escape cannot join two invalid bytes into a valid-looking value.
  if (!is_utf8(text)) return fail("link-format: not valid UTF-8");
  if (has_control(text)) return fail("link-format: holds a control character");
  return Parser(text).run();
}

std::string serialize(std::span<const Link> links) {
  std::string out;
  for (const auto& link : links) {
    if (!out.empty()) out += ',';
    out += '<';
    out += link.target;
    out += '>';
    for (const auto& p : link.params) {
      out += ';';
      out += p.name;
      if (!p.value) continue;
      out += '=';
      out += p.quoted ? quote(*p.value) : *p.value;
    }
  }
  return out;
}

Result<RegistrationPayload> parse_registration(std::string_view text) {
  auto links = parse(text);
  if (!links) return links.error();
  RegistrationPayload out;
  // Transport TS 6.4.1: the link with rt="oma.lwm2m" names the alternate path; all other
  // links lie under it.
  for (const auto& link : *links) {
    const auto* rt = link.param("rt");
    if (!rt || rt->value != kRegistrationType) continue;
    if (out.alternate_path_link) return bad("two links carry rt=\"oma.lwm2m\"");
    if (link.target.empty() || link.target[0] != '/')
      return bad("alternate path must start with /");
    out.alternate_path_link = true;
    out.alternate_path = link_prefix(link.target);
    if (out.alternate_path.empty()) out.alternate_path = "/";
    if (const auto* ct = link.param("ct"); ct && ct->value) {
      if (auto ok = add_formats(out, *ct->value); !ok) return ok.error();
    }
  }
  const std::string prefix = link_prefix(out.alternate_path);
  for (const auto& link : *links) {
    if (const auto* rt = link.param("rt"); rt && rt->value == kRegistrationType) continue;
    std::string_view target = link.target;
    if (target.substr(0, prefix.size()) != prefix)
      return bad("<" + link.target + "> lies outside the alternate path");
    target.remove_prefix(prefix.size());
    auto path = Path::parse(target);
    if (!path || path->depth() < 1 || path->depth() > 2)
      return bad("<" + link.target + "> is not an object or object instance");
    auto& object = object_entry(out, path->object_id());
    if (const auto* ver = link.param("ver"); ver) {
      if (!ver->value || !valid_version(*ver->value))
        return bad("<" + link.target + ">: ver must look like 1.1");
      object.version = *ver->value;
    }
    if (path->is_instance()) {
      auto& ids = object.instances;
      auto it = std::lower_bound(ids.begin(), ids.end(), path->instance_id());
      if (it != ids.end() && *it == path->instance_id())
        return bad("<" + link.target + "> appears twice");
      ids.insert(it, path->instance_id());
    }
  }
  return out;
}

std::string serialize_registration(const RegistrationPayload& payload) {
  std::vector<Link> links;
  const std::string prefix = link_prefix(payload.alternate_path);
  if (payload.alternate_path_link || !payload.content_formats.empty() || !prefix.empty()) {
    Link root{prefix.empty() ? "/" : prefix, {Param{"rt", std::string(kRegistrationType), true}}};
    if (!payload.content_formats.empty()) {
      std::string list;
      for (auto ct : payload.content_formats)
        list += (list.empty() ? "" : " ") + std::to_string(ct);
      root.params.push_back(Param{"ct", list, payload.content_formats.size() > 1});
    }
    links.push_back(std::move(root));
  }
  for (const auto& object : payload.objects) {
    const std::string base = prefix + "/" + std::to_string(object.id);
    // The version rides on the object link; an object without instances still gets one.
    if (!object.version.empty() || object.instances.empty()) {
      Link link{base, {}};
      if (!object.version.empty()) link.params.push_back(Param{"ver", object.version, false});
      links.push_back(std::move(link));
    }
    for (auto iid : object.instances) links.push_back(Link{base + "/" + std::to_string(iid), {}});
  }
  return serialize(links);
}

Result<std::vector<DiscoverEntry>> parse_discover(std::string_view text) {
  auto links = parse(text);
  if (!links) return links.error();
  std::vector<DiscoverEntry> out;
  out.reserve(links->size());
  for (const auto& link : *links) {
    auto path = Path::parse(link.target);
    if (!path || path->is_root()) return bad("<" + link.target + "> is not an LwM2M path");
    DiscoverEntry entry{*path, {}, std::nullopt, {}};
    std::vector<std::string> query;
    for (const auto& p : link.params) {
      if (p.name == "ver" && p.value && valid_version(*p.value)) {
        entry.version = *p.value;
      } else if (p.name == "dim" && p.value) {
        auto dim = parse_u32(*p.value, "dim");
        if (!dim) return dim.error();
        entry.dim = *dim;
      } else if (parse_attribute(p.name) && p.value) {
        query.push_back(p.name + "=" + *p.value);
      } else {
        return bad("<" + link.target + ">: unexpected parameter '" + p.name + "'");
      }
    }
    auto update = parse_update(std::span<const std::string>(query));
    if (!update) return bad("<" + link.target + ">: " + update.error().reason);
    entry.attributes = update->set;
    out.push_back(std::move(entry));
  }
  return out;
}

std::string serialize_discover(std::span<const DiscoverEntry> entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ',';
    out += '<' + e.path.to_string() + '>';
    if (!e.version.empty()) out += ";ver=" + e.version;
    if (e.dim) out += ";dim=" + std::to_string(*e.dim);
    out += e.attributes.to_link_params();
  }
  return out;
}

Result<BootstrapDiscovery> parse_bootstrap_discover(std::string_view text) {
  BootstrapDiscovery out;
  // Core TS 5.2.7.3 writes the version on the root link (</>;lwm2m=1.2), as Leshan, Anjay and
  // Wakaama send it; early 1.1 drafts had a bare lwm2m="1.1" element, still accepted here.
  constexpr std::string_view kVersion = "lwm2m=";
  if (text.starts_with(kVersion)) {
    const auto comma = text.find(',');
    std::string_view value = text.substr(kVersion.size(), comma - kVersion.size());
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!valid_version(std::string(value))) return bad("lwm2m= is not a version");
    out.version = std::string(value);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  if (text.empty()) return out;
  auto links = parse(text);
  if (!links) return links.error();
  bool root_seen = false;
  for (const auto& link : *links) {
    auto path = Path::parse(link.target);
    if (!path) return bad("<" + link.target + "> is not an LwM2M path");
    if (path->is_root()) {
      if (root_seen || !out.links.empty()) return bad("</> must come first, once");
      root_seen = true;
      if (const auto* v = link.param("lwm2m"); v && v->value) {
        if (!valid_version(*v->value)) return bad("lwm2m= is not a version");
        out.version = *v->value;
      }
      continue;
    }
    BootstrapLink entry{*path, std::nullopt, {}};
    if (const auto* ssid = link.param("ssid"); ssid && ssid->value) {
      auto n = parse_u32(*ssid->value, "ssid");
      if (!n) return n.error();
      if (*n > 65534) return bad("ssid out of range");
      entry.ssid = static_cast<std::uint16_t>(*n);
    }
    if (const auto* uri = link.param("uri"); uri && uri->value) entry.uri = *uri->value;
    out.links.push_back(std::move(entry));
  }
  return out;
}

std::string serialize_bootstrap_discover(const BootstrapDiscovery& discovery) {
  std::vector<Link> links;
  if (!discovery.version.empty()) links.push_back(Link{"/", {{"lwm2m", discovery.version, false}}});
  for (const auto& e : discovery.links) {
    Link link{e.path.to_string(), {}};
    if (e.ssid) link.params.push_back({"ssid", std::to_string(*e.ssid), false});
    if (!e.uri.empty()) link.params.push_back({"uri", e.uri, true});
    links.push_back(std::move(link));
  }
  return serialize(links);
}

}  // namespace tether::lwm2m::format::link_format
