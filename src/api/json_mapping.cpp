#include "api/json_mapping.hpp"

#include <algorithm>
#include <ctime>
#include <vector>

#include "common/bytes.hpp"
#include "lwm2m/format/typing.hpp"
#include "lwm2m/json_values.hpp"

namespace tether::api {

namespace {
namespace link_format = lwm2m::format::link_format;

json values_json(const std::vector<lwm2m::Record>& records, const lwm2m::model::Model* model) {
  return json::parse(lwm2m::records_to_json(records, -1, model));
}

// A key of a Write/Create body as an absolute path string. Under an object path a
// relative key names a resource of the instance being created, which holds ID 0 until
// the caller moves it to Path::kUnassigned (paths cannot spell that ID).
Result<std::string> absolute_key(const std::string& key, const lwm2m::Path& target) {
  if (!key.empty() && key.front() == '/') return key;
  auto rel = lwm2m::Path::parse("/" + key);
  if (!rel || rel->is_root()) return fail("bad path key '" + key + "'");
  lwm2m::Path base = target;
  if (base.is_object()) base = base.child(0);
  lwm2m::Path p = base;
  for (int i = 0; i < rel->depth(); ++i) {
    if (p.depth() >= 4)
      return fail("path key '" + key + "' is too deep under " + target.to_string());
    p = p.child((*rel)[i]);
  }
  return p.to_string();
}

// The instances of one resource, from [v0, v1, ...] (IDs 0, 1, ...) or {"<id>": v, ...}.
Result<Ok> add_instances(json& absolute, const lwm2m::Path& resource, const json& list) {
  if (list.is_array()) {
    if (list.size() >= lwm2m::Path::kUnassigned) {
      return fail(resource.to_string() + ": too many instances");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      absolute[resource.child(static_cast<std::uint16_t>(i)).to_string()] = list[i];
    }
    return Ok{};
  }
  for (auto it = list.begin(); it != list.end(); ++it) {
    const std::string& id = it.key();
    const bool digits =
        !id.empty() && id.size() <= 5 && (id == "0" || id.front() != '0') &&
        std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
    // 65535 is no instance ID (Core TS 7.1: reserved); "07" and "7" would be one instance.
    if (!digits || std::stoul(id) >= lwm2m::Path::kUnassigned) {
      return fail(resource.to_string() + ": instance IDs are 0-65534, not '" + id + "'");
    }
    absolute[resource.child(static_cast<std::uint16_t>(std::stoul(id))).to_string()] = it.value();
  }
  return Ok{};
}
}  // namespace

std::string iso8601(server::UnixMillis t) {
  const std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(t % 1000));
  return buf;
}

json registration_json(const server::Registration& r) {
  json objects = json::array();
  for (const auto& o : r.objects->objects) {
    json entry{{"id", o.id}, {"instances", o.instances}};
    if (!o.version.empty()) entry["version"] = o.version;
    objects.push_back(std::move(entry));
  }
  json j{{"endpoint", r.endpoint},
         {"registrationId", r.id},
         {"location", "/rd/" + r.id},
         {"transport", r.transport},
         {"address", r.address},
         {"version", r.version},
         {"binding", r.binding},
         {"queueMode", r.queue_mode},
         {"lifetime", r.lifetime},
         {"alternatePath", r.objects->alternate_path},
         {"contentFormats", r.objects->content_formats},
         {"objectLinks", link_format::serialize_registration(*r.objects)},
         {"objects", objects},
         {"registeredAt", iso8601(r.registered_at)},
         {"lastUpdate", iso8601(r.updated_at)},
         {"expiresAt", iso8601(r.expires_at())}};
  if (r.sms) j["sms"] = *r.sms;
  if (r.profile_id) j["profileId"] = *r.profile_id;
  j["security"] = server::security_of(r);
  return j;
}

json response_json(const lwm2m::DownlinkResponse& r, const lwm2m::model::Model* model) {
  // describe() is "2.05 Content", or just "5.02" for a code without a name.
  const std::string described = r.code.describe();
  json j{{"code", r.code.to_string()},
         {"status", described.size() > 5 ? described.substr(5) : described}};
  if (r.format) j["format"] = std::string(lwm2m::format::name_of(*r.format));
  const bool series = std::any_of(r.records.begin(), r.records.end(),
                                  [](const auto& rec) { return rec.time.has_value(); });
  if (series) {
    j["records"] = values_json(r.records, model);
  } else if (!r.records.empty() || (r.format && r.code.is_success())) {
    j["values"] = values_json(r.records, model);
  }
  if (!r.links.empty()) {
    j["links"] = link_format::serialize_discover(r.links);
    json entries = json::array();
    for (const auto& e : r.links) {
      json entry{{"path", e.path.to_string()}};
      if (!e.version.empty()) entry["version"] = e.version;
      if (e.dim) entry["dim"] = *e.dim;
      const std::string attrs = e.attributes.to_query();
      if (!attrs.empty()) entry["attributes"] = attrs;
      entries.push_back(std::move(entry));
    }
    j["discovered"] = std::move(entries);
  }
  if (r.created) j["location"] = r.created->to_string();
  if (!r.decode_error.empty()) {
    j["decodeError"] = r.decode_error;
    j["payloadHex"] = to_hex(r.payload);
  } else if (!r.code.is_success() && !r.payload.empty()) {
    j["message"] = std::string(r.payload.begin(), r.payload.end());
  }
  return j;
}

json event_json(const server::ServerEvent& e, const lwm2m::model::Model* model) {
  json j{{"event", server::event_kind_name(e.kind)}, {"endpoint", e.endpoint}};
  if (e.at != 0) j["time"] = iso8601(e.at);
  if (e.registration) j["registration"] = registration_json(*e.registration);
  if (!e.observation_id.empty()) j["observation"] = e.observation_id;
  if (e.ticket != 0) j["ticket"] = e.ticket;
  if (e.content) j["content"] = response_json(*e.content, model);
  if (!e.detail.empty()) j["detail"] = e.detail;
  if (!e.address.empty()) j["address"] = e.address;
  return j;
}

Result<std::vector<lwm2m::Record>> records_from_body(const json& values,
                                                     const lwm2m::model::Model& model) {
  return lwm2m::records_from_json(values.dump(), model);
}

Result<lwm2m::Tree> tree_from_json(const std::string& body, const lwm2m::Path& target,
                                   const lwm2m::model::Model& model) {
  if (!lwm2m::format::json_nesting_within(body, 8)) return fail("the body nests too deep");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail("the body is not JSON");
  json absolute = json::object();
  std::vector<lwm2m::Path> whole;  // multiple-instance resources given whole (maybe empty)
  bool relative = false;
  bool absolute_keys = false;
  if (j.is_object() && j.empty() && target.is_resource()) {
    whole.push_back(target);  // {} at a multiple-instance resource: no instances left
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      (it.key().starts_with("/") ? absolute_keys : relative) = true;
      auto key = absolute_key(it.key(), target);
      if (!key) return key.error();
      const json& value = it.value();
      if (!value.is_array() && !value.is_object()) {
        absolute[*key] = value;
        continue;
      }
      // A multiple-instance resource inside a body: [v0, v1] or {"<instance>": v}.
      auto resource = lwm2m::Path::parse(*key);
      if (!resource || !resource->is_resource()) {
        return fail(*key + ": only a resource takes a list of instances");
      }
      if (auto ok = add_instances(absolute, *resource, value); !ok) return ok.error();
      whole.push_back(*resource);
    }
  } else if (target.is_resource() || target.is_resource_instance()) {
    if (j.is_array() && target.is_resource_instance()) {
      return fail("a resource instance takes one value, not an array");
    }
    if (j.is_array()) {
      // A multiple-instance resource written whole: [v0, v1, ...].
      if (auto ok = add_instances(absolute, target, j); !ok) return ok.error();
      whole.push_back(target);
    } else {
      absolute[target.to_string()] = j;
    }
  } else {
    return fail("the body must be a JSON object of paths and values");
  }
  auto records = lwm2m::records_from_json(absolute.dump(), model);
  if (!records) return records.error();
  auto outside = [&](const lwm2m::Path& p) {
    return !target.covers(p) && !(target.is_object() && p.object_id() == target.object_id());
  };
  for (const auto& r : *records) {
    if (outside(r.path)) return fail(r.path.to_string() + " is not under " + target.to_string());
  }
  auto tree = lwm2m::Tree::from_records(*records);
  if (!tree) return tree.error();
  for (const auto& resource : whole) {
    // An empty list has no record to check above.
    if (outside(resource)) {
      return fail(resource.to_string() + " is not under " + target.to_string());
    }
    const auto* def = model.resource(resource.object_id(), resource.resource_id());
    if (def != nullptr && !def->multiple) {
      return fail(resource.to_string() + " is a single-instance resource: one value, not a list");
    }
    if (auto added = tree->add_node(resource); !added) return added.error();
  }
  if (target.is_object() && relative) {
    if (absolute_keys) return fail("a Create body uses either relative or absolute keys");
    auto& object = tree->objects[target.object_id()];
    if (auto* created = object.instances.find(0)) {
      lwm2m::InstanceNode node = std::move(*created);
      object.instances.erase(0);
      object.instances[lwm2m::Path::kUnassigned] = std::move(node);
    }
  }
  return tree;
}

}  // namespace tether::api
