// Reading the OMA object-definition XML (LWM2M.xsd) into ObjectDefinitions, with pugixml.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/path.hpp"

namespace tether::lwm2m::model {

// Defined in the generated builtin_models.cpp: (file name, XML) of every models/*.xml.
const std::vector<std::pair<std::string_view, std::string_view>>& builtin_models();
// Defined in the generated registry_models.cpp: one XML document per registry object.
const std::vector<std::string_view>& registry_models();

namespace {

std::string text_of(const pugi::xml_node& parent, const char* name) {
  std::string s = parent.child(name).text().get();
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

Result<bool> multiple(const pugi::xml_node& node, const std::string& where) {
  const std::string v = text_of(node, "MultipleInstances");
  if (v == "Multiple") return true;
  if (v == "Single") return false;
  return fail(where + ": MultipleInstances is '" + v + "', not Single or Multiple");
}

Result<bool> mandatory(const pugi::xml_node& node, const std::string& where) {
  const std::string v = text_of(node, "Mandatory");
  if (v == "Mandatory") return true;
  if (v == "Optional") return false;
  return fail(where + ": Mandatory is '" + v + "', not Mandatory or Optional");
}

Result<std::uint8_t> operations(const std::string& v, const std::string& where) {
  if (v.empty()) return std::uint8_t{kNoOperation};
  if (v == "R") return std::uint8_t{kRead};
  if (v == "W") return std::uint8_t{kWrite};
  if (v == "RW") return static_cast<std::uint8_t>(kRead | kWrite);
  if (v == "E") return std::uint8_t{kExecute};
  return fail(where + ": Operations is '" + v + "', not R, W, RW, E or empty");
}

Result<ResourceDefinition> parse_resource(const pugi::xml_node& item, const std::string& object) {
  ResourceDefinition r;
  auto id = parse_id(item.attribute("ID").value());
  if (!id) return fail(object + ": resource ID '" + item.attribute("ID").value() + "' is invalid");
  r.id = *id;
  const std::string where = object + "/" + std::to_string(r.id);
  r.name = text_of(item, "Name");
  auto ops = operations(text_of(item, "Operations"), where);
  if (!ops) return ops.error();
  r.operations = *ops;
  auto m = multiple(item, where);
  if (!m) return m.error();
  r.multiple = *m;
  auto mand = mandatory(item, where);
  if (!mand) return mand.error();
  r.mandatory = *mand;
  const std::string type = text_of(item, "Type");
  auto t = parse_resource_type(type);
  if (!t) return fail(where + ": unknown Type '" + type + "'");
  r.type = *t;
  if (r.executable() && r.type != ResourceType::kNone)
    return fail(where + ": an executable resource has no Type");
  if (!r.executable() && r.type == ResourceType::kNone)
    return fail(where + ": a readable or writable resource needs a Type");
  r.range_enumeration = text_of(item, "RangeEnumeration");
  r.units = text_of(item, "Units");
  r.description = text_of(item, "Description");
  return r;
}

Result<ObjectDefinition> parse_object(const pugi::xml_node& node, std::string_view origin) {
  ObjectDefinition d;
  const std::string id_text = text_of(node, "ObjectID");
  auto id = parse_id(id_text);
  if (!id) return fail(std::string(origin) + ": ObjectID '" + id_text + "' is invalid");
  d.id = *id;
  const std::string where = std::string(origin) + ": object " + std::to_string(d.id);
  d.name = text_of(node, "Name");
  d.urn = text_of(node, "ObjectURN");
  if (auto v = text_of(node, "ObjectVersion"); !v.empty()) d.version = v;
  if (auto v = text_of(node, "LWM2MVersion"); !v.empty()) d.lwm2m_version = v;
  if (compare_versions(d.version, "0.0") <= 0) return fail(where + ": bad ObjectVersion");
  auto m = multiple(node, where);
  if (!m) return m.error();
  d.multiple = *m;
  auto mand = mandatory(node, where);
  if (!mand) return mand.error();
  d.mandatory = *mand;
  d.description = text_of(node, "Description1");
  for (const auto& item : node.child("Resources").children("Item")) {
    auto r = parse_resource(item, where);
    if (!r) return r.error();
    if (d.resource(r->id)) return fail(where + ": resource " + std::to_string(r->id) + " twice");
    auto at =
        std::lower_bound(d.resources.begin(), d.resources.end(), r->id,
                         [](const ResourceDefinition& a, std::uint16_t key) { return a.id < key; });
    d.resources.insert(at, std::move(*r));
  }
  return d;
}

}  // namespace

Result<std::size_t> ObjectRegistry::load_xml(std::string_view xml, std::string_view origin) {
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!parsed)
    return fail(std::string(origin) + ": not well-formed XML (" + parsed.description() + ")");
  const auto root = doc.child("LWM2M");
  if (!root) return fail(std::string(origin) + ": no <LWM2M> root element");
  std::vector<ObjectDefinition> found;
  for (const auto& node : root.children("Object")) {
    auto d = parse_object(node, origin);
    if (!d) return d.error();
    found.push_back(std::move(*d));
  }
  if (found.empty()) return fail(std::string(origin) + ": no <Object> element");
  // All or nothing: a bad file adds none of its objects.
  for (auto& d : found) add(std::move(d));
  return found.size();
}

Result<std::size_t> ObjectRegistry::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return load_xml(text.str(), path);
}

Result<std::size_t> ObjectRegistry::load_directory(const std::string& path) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml")
      files.push_back(entry.path());
  }
  if (ec) return fail(path + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::size_t count = 0;
  for (const auto& file : files) {
    auto n = load_file(file.string());
    if (!n) return n.error();
    count += *n;
  }
  return count;
}

ObjectRegistry ObjectRegistry::with_builtin() {
  // Parsed once per process; each caller gets its own copy to extend.
  static const ObjectRegistry kBuiltin = [] {
    ObjectRegistry registry;
    // The hand-checked definitions; a shipped file is tested, a bad one a build mistake.
    for (const auto& [name, xml] : builtin_models()) {
      auto loaded = registry.load_xml(xml, name);
      if (!loaded) throw std::logic_error("built-in model " + loaded.error().reason);
    }
    // The registry adds every other object; for those above, even its newer versions would
    // lose their Operations.
    for (const auto& xml : registry_models()) {
      ObjectRegistry one;
      auto loaded = one.load_xml(xml, "object registry");
      if (!loaded) throw std::logic_error("registry model " + loaded.error().reason);
      for (const auto* d : one.all()) {
        if (registry.object(d->id) != nullptr) continue;
        ObjectDefinition approximate = *d;
        approximate.approximate = true;
        registry.add(std::move(approximate));
      }
    }
    return registry;
  }();
  return kBuiltin;
}

}  // namespace tether::lwm2m::model
