#include "client/data_model.hpp"

#include <algorithm>
#include <cctype>

#include "client/access_control.hpp"
#include "coap/uri.hpp"
#include "lwm2m/execute_arguments.hpp"
#include "lwm2m/format/codec.hpp"
#include "sms/short_message.hpp"

namespace tether::client {

namespace {
using lwm2m::DownlinkRequest;
using lwm2m::DownlinkResponse;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::Status;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
namespace status = lwm2m::status;
namespace fmt = lwm2m::format;
namespace link_format = lwm2m::format::link_format;

DownlinkResponse answer(Status code, std::string reason = {}) {
  DownlinkResponse r;
  r.code = code;
  r.payload = to_bytes(reason);
  return r;
}

DownlinkResponse answer(const Error& e, Status fallback = status::kBadRequest) {
  return answer(lwm2m::status_of(e, fallback), e.reason);
}

std::optional<std::int64_t> integer(const lwm2m::InstanceNode& node, std::uint16_t rid) {
  const auto* r = node.resources.find(rid);
  if (r == nullptr || r->multiple) return std::nullopt;
  auto n = r->value.as_number();
  return n ? std::optional<std::int64_t>(static_cast<std::int64_t>(*n)) : std::nullopt;
}

std::string text(const lwm2m::InstanceNode& node, std::uint16_t rid) {
  const auto* r = node.resources.find(rid);
  const auto* s = r != nullptr ? r->value.get_if<std::string>() : nullptr;
  return s != nullptr ? *s : std::string{};
}

bool flag(const lwm2m::InstanceNode& node, std::uint16_t rid) {
  const auto* r = node.resources.find(rid);
  return r != nullptr && r->value == Value(true);
}

// Objects the client never registers (Core TS 6.2.1: Security and OSCORE).
bool is_hidden(std::uint16_t object) {
  return object == oid::kSecurity || object == oid::kOscore;
}

// The format of a Read answer when the server gave no Accept: plain text for one value,
// opaque for opaque bytes, TLV for anything larger (every LwM2M server reads TLV).
ContentFormat default_read_format(const Path& path, const lwm2m::Tree& tree) {
  if (path.is_resource_instance() || path.is_resource()) {
    const auto* v = tree.find_value(path);
    if (v != nullptr)
      return v->type() == lwm2m::ResourceType::kOpaque ? ContentFormat::kOpaque
                                                       : ContentFormat::kText;
  }
  return ContentFormat::kTlv;
}

bool is_record_format(ContentFormat f) {
  return f == ContentFormat::kSenmlJson || f == ContentFormat::kSenmlCbor ||
         f == ContentFormat::kLwm2mCbor;
}
}  // namespace

Result<Ok> DataModel::add(std::unique_ptr<Object> object) {
  const auto* definition = models_.object(object->id());
  if (definition == nullptr) {
    return fail("object " + std::to_string(object->id()) + " has no definition");
  }
  // Serving it would let servers write read-only resources: its XML must be given.
  if (definition->approximate) {
    return fail("object " + std::to_string(object->id()) +
                " is known only from the registry package, which does not say which "
                "resources are writable or executable: load its XML with --models");
  }
  object->set_change_listener([this](const Path& p) {
    if (listener_) listener_(p);
  });
  objects_[object->id()] = std::move(object);
  return Ok{};
}

Object* DataModel::find(std::uint16_t object_id) const {
  auto it = objects_.find(object_id);
  return it == objects_.end() ? nullptr : it->second.get();
}

void DataModel::set_change_listener(std::function<void(const Path&)> listener) {
  listener_ = std::move(listener);
}

Result<lwm2m::Tree> DataModel::read(const Path& path) const {
  lwm2m::Tree out;
  for (const auto& [id, object] : objects_) {
    if (!path.is_root() && id != path.object_id()) continue;
    auto& node = out.objects[id];
    for (auto iid : object->instances()) {
      if (path.depth() >= 2 && iid != path.instance_id()) continue;
      auto instance = object->read(iid);
      if (!instance) return instance.error();
      if (path.depth() >= 3) {
        const auto* r = instance->resources.find(path.resource_id());
        if (r == nullptr) return lwm2m::reject(status::kNotFound, path.to_string());
        lwm2m::InstanceNode only;
        if (path.is_resource_instance()) {
          const auto* v = r->instances.find(path.resource_instance_id());
          if (!r->multiple || v == nullptr) {
            return lwm2m::reject(status::kNotFound, path.to_string());
          }
          only.resources[path.resource_id()].multiple = true;
          only.resources[path.resource_id()].instances[path.resource_instance_id()] = *v;
        } else {
          only.resources[path.resource_id()] = *r;
        }
        node.instances[iid] = std::move(only);
      } else {
        node.instances[iid] = std::move(*instance);
      }
    }
  }
  if (!exists(path)) return lwm2m::reject(status::kNotFound, path.to_string());
  return out;
}

bool DataModel::exists(const Path& path) const {
  if (path.is_root()) return true;
  const Object* object = find(path.object_id());
  if (object == nullptr) return false;
  if (path.is_object()) return true;
  auto ids = object->instances();
  if (std::find(ids.begin(), ids.end(), path.instance_id()) == ids.end()) return false;
  if (path.is_instance()) return true;
  auto instance = object->read(path.instance_id());
  if (!instance) return false;
  const auto* r = instance->resources.find(path.resource_id());
  if (r == nullptr) return false;
  return path.is_resource() || (r->multiple && r->instances.contains(path.resource_instance_id()));
}

std::optional<Value> DataModel::value(const Path& path) const {
  if (path.depth() < 3) return std::nullopt;
  auto tree = read(path);
  if (!tree) return std::nullopt;
  const auto* v = tree->find_value(path);
  return v != nullptr ? std::optional<Value>(*v) : std::nullopt;
}

Result<Ok> DataModel::put(const Path& path, Value value) {
  lwm2m::Tree t;
  if (auto ok = t.set(path, std::move(value)); !ok) return ok.error();
  return store(t, WriteMode::kUpdate, true);
}

Result<Ok> DataModel::put(const lwm2m::Tree& tree) {
  return store(tree, WriteMode::kUpdate, true);
}

Result<Ok> DataModel::store(const lwm2m::Tree& tree, WriteMode mode, bool create) {
  for (const auto& [id, node] : tree.objects) {
    Object* object = find(id);
    if (object == nullptr)
      return lwm2m::reject(status::kNotFound, "no object " + std::to_string(id));
    const auto* def = models_.object(id);
    auto writable = [def, create](std::uint16_t rid) {
      const auto* r = def != nullptr ? def->resource(rid) : nullptr;
      return create || (r != nullptr && r->writable());
    };
    const auto existing = object->instances();
    for (const auto& [iid, instance] : node.instances) {
      const bool present = std::find(existing.begin(), existing.end(), iid) != existing.end();
      auto done = present ? object->write(iid, instance, mode, writable)
                          : (create ? object->create(iid, instance)
                                    : Result<Ok>(lwm2m::reject(status::kNotFound, "no instance")));
      if (!done) return done.error();
    }
  }
  return Ok{};
}

bool DataModel::is_bootstrap_account(std::uint16_t security_instance) const {
  return value(Path{oid::kSecurity, security_instance, security::kBootstrap}) == Value(true);
}

std::vector<ServerAccount> DataModel::server_accounts() const {
  std::vector<ServerAccount> out;
  auto security = read(Path{oid::kSecurity});
  auto servers = read(Path{oid::kServer});
  if (!security || !servers) return out;
  const auto* sec = security->objects.find(oid::kSecurity);
  const auto* srv = servers->objects.find(oid::kServer);
  if (sec == nullptr || srv == nullptr) return out;
  for (const auto& [siid, s] : sec->instances) {
    const auto ssid = integer(s, security::kShortServerId);
    if (flag(s, security::kBootstrap) || !ssid) continue;
    for (const auto& [viid, v] : srv->instances) {
      if (integer(v, server_res::kShortServerId) != ssid) continue;
      out.push_back({static_cast<std::uint16_t>(*ssid), siid, viid, text(s, security::kUri)});
    }
  }
  return out;
}

std::optional<std::uint16_t> DataModel::security_instance_of_sms_number(
    std::string_view number) const {
  auto matches = [&](const std::string& uri, std::uint16_t security) {
    if (auto n = sms::msisdn_of_uri(uri); n && sms::same_msisdn(*n, number)) return true;
    auto v = value(Path{oid::kSecurity, security, 9});
    const auto* text = v ? v->get_if<std::string>() : nullptr;
    return text != nullptr && sms::same_msisdn(*text, number);
  };
  for (const auto& a : server_accounts()) {
    if (matches(a.uri, a.security_instance)) return a.security_instance;
  }
  const auto bs = bootstrap_account();
  if (bs && matches(bs->uri, bs->security_instance)) return bs->security_instance;
  return std::nullopt;
}

std::optional<BootstrapAccount> DataModel::bootstrap_account() const {
  auto security = read(Path{oid::kSecurity});
  const auto* sec = security ? security->objects.find(oid::kSecurity) : nullptr;
  if (sec == nullptr) return std::nullopt;
  for (const auto& [siid, s] : sec->instances) {
    if (flag(s, security::kBootstrap)) return BootstrapAccount{siid, text(s, security::kUri)};
  }
  return std::nullopt;
}

std::optional<std::uint16_t> DataModel::security_instance_for(const std::string& uri) const {
  auto target = coap::parse_uri(uri);
  auto security = read(Path{oid::kSecurity});
  const auto* sec = security ? security->objects.find(oid::kSecurity) : nullptr;
  if (!target || sec == nullptr) return std::nullopt;
  auto same_host = [](const std::string& a, const std::string& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    });
  };
  for (const auto& [siid, s] : sec->instances) {
    if (flag(s, security::kBootstrap)) continue;
    auto candidate = coap::parse_uri(text(s, security::kUri));
    if (candidate && candidate->scheme == target->scheme && candidate->port == target->port &&
        same_host(candidate->host, target->host)) {
      return siid;
    }
  }
  return std::nullopt;
}

link_format::RegistrationPayload DataModel::registration_payload() const {
  link_format::RegistrationPayload p;
  for (const auto& [id, object] : objects_) {
    if (is_hidden(id)) continue;
    link_format::RegisteredObject o;
    o.id = id;
    if (const auto* def = models_.object(id); def != nullptr && def->version != "1.0") {
      o.version = def->version;
    }
    o.instances = object->instances();
    std::sort(o.instances.begin(), o.instances.end());
    p.objects.push_back(std::move(o));
  }
  return p;
}

Result<Ok> DataModel::check_bootstrap_consistency() const {
  if (server_accounts().empty()) {
    return lwm2m::reject(status::kNotAcceptable, "no usable Server Account");
  }
  // Two Bootstrap-Server Accounts would leave the client unsure whom to ask (seed 001).
  auto security = read(Path{oid::kSecurity});
  std::size_t bootstrap_accounts = 0;
  if (security) {
    if (const auto* sec = security->objects.find(oid::kSecurity)) {
      for (const auto& [siid, s] : sec->instances)
        bootstrap_accounts += flag(s, security::kBootstrap);
    }
  }
  if (bootstrap_accounts > 1) {
    return lwm2m::reject(status::kNotAcceptable, "more than one Bootstrap-Server Account");
  }
  return Ok{};
}

lwm2m::Attributes DataModel::effective_attributes(std::uint16_t ssid, const Path& path) const {
  std::vector<const lwm2m::Attributes*> levels;
  auto it = attributes_.find(ssid);
  for (Path p = path;; p = p.parent()) {
    if (it != attributes_.end()) {
      auto found = it->second.find(p);
      if (found != it->second.end()) levels.push_back(&found->second);
    }
    if (p.depth() <= 1) break;
  }
  lwm2m::ServerDefaults defaults;
  for (const auto& account : server_accounts()) {
    if (account.ssid != ssid) continue;
    const Path base{oid::kServer, account.server_instance};
    if (auto v = value(base.child(server_res::kDefaultPmin))) defaults.pmin = v->as_number();
    if (auto v = value(base.child(server_res::kDefaultPmax))) defaults.pmax = v->as_number();
  }
  return lwm2m::effective_attributes(levels, defaults);
}

std::uint8_t DataModel::rights_of(const Requester& who, std::uint16_t object,
                                  std::uint16_t instance) const {
  if (who.bootstrap) return access::kAll | access::kCreate;
  if (object == oid::kSecurity || object == oid::kOscore) return 0;
  auto acl = read(Path{oid::kAccessControl});
  const lwm2m::ObjectNode none;
  const auto* node = acl ? acl->objects.find(oid::kAccessControl) : nullptr;
  return access::rights(node != nullptr ? *node : none, who.ssid, object, instance,
                        server_accounts().size());
}

std::optional<DownlinkResponse> DataModel::refuse(const Path& path, const Requester& who,
                                                  std::uint8_t right) const {
  if (path.is_root()) return std::nullopt;
  if (!who.bootstrap && (path.object_id() == oid::kSecurity || path.object_id() == oid::kOscore)) {
    return answer(status::kUnauthorized, "the Security objects are not for servers");
  }
  if (!exists(path)) return answer(status::kNotFound, path.to_string());
  if (path.depth() >= 2 && (rights_of(who, path.object_id(), path.instance_id()) & right) == 0) {
    return answer(status::kUnauthorized, "access control");
  }
  return std::nullopt;
}

DownlinkResponse DataModel::handle(const DownlinkRequest& r, const Requester& who) {
  if (lwm2m::is_bootstrap_operation(r.op) != who.bootstrap) {
    return answer(status::kMethodNotAllowed, "not on this interface");
  }
  switch (r.op) {
    case Operation::kRead:
    case Operation::kObserve:
      return read_op(r, who);
    case Operation::kReadComposite:
    case Operation::kObserveComposite:
      return read_composite(r, who);
    case Operation::kDiscover:
      return discover(r, who);
    case Operation::kWrite:
      return write(r, who);
    case Operation::kWriteComposite:
      return write_composite(r, who);
    case Operation::kWriteAttributes:
      return write_attributes(r, who);
    case Operation::kExecute:
      return execute(r, who);
    case Operation::kCreate:
      return create(r, who);
    case Operation::kDelete:
      return remove(r, who);
    case Operation::kBootstrapWrite:
      return bootstrap_write(r);
    case Operation::kBootstrapRead:
      return bootstrap_read(r);
    case Operation::kBootstrapDiscover:
      return bootstrap_discover(r);
    case Operation::kBootstrapDelete:
      return bootstrap_delete(r);
    case Operation::kBootstrapFinish: {
      auto ok = check_bootstrap_consistency();
      return ok ? answer(status::kChanged) : answer(ok.error());
    }
  }
  return answer(status::kMethodNotAllowed);
}

DownlinkResponse DataModel::read_op(const DownlinkRequest& r, const Requester& who) const {
  if (r.path.is_root()) return answer(status::kMethodNotAllowed, "Read of /");
  if (r.path.depth() >= 3 && exists(r.path.parent())) {
    const auto* def = models_.resource(r.path.object_id(), r.path.resource_id());
    if (def != nullptr && !def->readable()) {
      return answer(status::kMethodNotAllowed, "not readable");
    }
  }
  if (auto no = refuse(r.path, who, access::kRead)) return *no;
  auto tree = read(r.path);
  if (!tree) return answer(tree.error(), status::kNotFound);
  // Drop what this server may not read (object-level reads) and what is not readable.
  for (auto& [id, object] : tree->objects) {
    std::vector<std::uint16_t> hidden;
    for (auto& [iid, instance] : object.instances) {
      if ((rights_of(who, id, iid) & access::kRead) == 0) hidden.push_back(iid);
      std::vector<std::uint16_t> unreadable;
      for (const auto& [rid, resource] : instance.resources) {
        const auto* def = models_.resource(id, rid);
        if ((def != nullptr && !def->readable()) ||
            (!resource.multiple && resource.value.is_none())) {
          unreadable.push_back(rid);
        }
      }
      for (auto rid : unreadable) instance.resources.erase(rid);
    }
    for (auto iid : hidden) object.instances.erase(iid);
  }
  DownlinkResponse out = answer(status::kContent);
  out.format = r.format ? *r.format : default_read_format(r.path, *tree);
  out.content = std::move(*tree);
  return out;
}

DownlinkResponse DataModel::read_composite(const DownlinkRequest& r, const Requester& who) const {
  const ContentFormat f = r.format.value_or(ContentFormat::kSenmlCbor);
  if (!is_record_format(f))
    return answer(status::kNotAcceptable, "composite answers are SenML or LwM2M CBOR");
  DownlinkResponse out = answer(status::kContent);
  out.format = f;
  for (const auto& p : r.paths) {
    DownlinkRequest one;
    one.path = p;
    one.format = f;
    auto part = read_op(one, who);
    if (part.code == status::kNotFound) continue;  // absent paths are left out
    if (!part.code.is_success()) return part;
    for (auto& rec : part.content.records()) out.records.push_back(std::move(rec));
  }
  return out;
}

// Executable resources hold no value, so Read leaves them out; Discover lists those the
// definition makes mandatory and those the object implements.
void DataModel::add_executables(lwm2m::Tree& tree) const {
  for (auto& [id, object] : tree.objects) {
    const auto* definition = models_.object(id);
    const Object* implementation = find(id);
    if (definition == nullptr || implementation == nullptr) continue;
    for (auto& [iid, instance] : object.instances) {
      const auto hooked = implementation->executables(iid);
      for (const auto& r : definition->resources) {
        const bool present =
            r.mandatory || std::find(hooked.begin(), hooked.end(), r.id) != hooked.end();
        if (r.executable() && present) instance.resources[r.id];  // no-op when there
      }
    }
  }
}

DownlinkResponse DataModel::discover(const DownlinkRequest& r, const Requester& who) const {
  if (r.path.is_root()) return answer(status::kMethodNotAllowed, "Discover of /");
  if (auto no = refuse(r.path, who, access::kRead)) return *no;
  auto tree = read(r.path);
  if (!tree) return answer(tree.error(), status::kNotFound);
  // Core TS 1.2 5.4.2: an object lists its instances and their resources; an instance its
  // resources; a resource itself and its instances. `depth` overrides how deep.
  const int deepest =
      r.path.depth() +
      static_cast<int>(r.depth.value_or(r.path.is_object() ? 2 : (r.path.is_instance() ? 1 : 1)));
  auto it = attributes_.find(who.ssid);
  auto attached = [&](const Path& p) {
    if (it == attributes_.end()) return lwm2m::Attributes{};
    auto found = it->second.find(p);
    return found == it->second.end() ? lwm2m::Attributes{} : found->second;
  };
  DownlinkResponse out = answer(status::kContent);
  auto add = [&](const Path& p, std::optional<std::uint32_t> dim) {
    link_format::DiscoverEntry e{p, {}, dim, attached(p)};
    if (p.is_object()) {
      if (const auto* def = models_.object(p.object_id());
          def != nullptr && def->version != "1.0") {
        e.version = def->version;
      }
    }
    out.links.push_back(std::move(e));
  };
  if (r.path.is_object()) add(r.path, std::nullopt);
  add_executables(*tree);
  for (const auto& [id, object] : tree->objects) {
    for (const auto& [iid, instance] : object.instances) {
      const Path ip{id, iid};
      if (r.path.depth() <= 2 && deepest >= 2) add(ip, std::nullopt);
      for (const auto& [rid, resource] : instance.resources) {
        const Path rp = ip.child(rid);
        if (deepest < 3 || !r.path.covers(rp)) continue;
        add(rp, resource.multiple ? std::optional<std::uint32_t>(resource.instances.size())
                                  : std::nullopt);
        if (!resource.multiple || deepest < 4 || !r.path.is_resource()) continue;
        for (const auto& [riid, v] : resource.instances) add(rp.child(riid), std::nullopt);
      }
    }
  }
  return out;
}

DownlinkResponse DataModel::write(const DownlinkRequest& r, const Requester& who) {
  if (r.path.depth() < 2)
    return answer(status::kMethodNotAllowed, "Write targets an instance or a resource");
  // The instance must exist; an optional resource it lacks yet may be written.
  if (auto no = refuse(Path{r.path.object_id(), r.path.instance_id()}, who, access::kWrite)) {
    return *no;
  }
  for (const auto& rec : r.content.records()) {
    if (!r.path.covers(rec.path))
      return answer(status::kBadRequest, rec.path.to_string() + " is outside the target");
    const auto* def = models_.resource(rec.path.object_id(), rec.path.resource_id());
    if (def == nullptr) return answer(status::kNotFound, rec.path.to_string());
    if (!def->writable())
      return answer(status::kMethodNotAllowed, rec.path.to_string() + " is not writable");
  }
  const WriteMode mode = r.partial ? WriteMode::kUpdate
                                   : (r.path.is_instance() ? WriteMode::kReplaceInstance
                                                           : WriteMode::kReplaceResources);
  lwm2m::Tree content = r.content;
  if (mode == WriteMode::kReplaceInstance) (void)content.add_node(r.path);
  auto done = store(content, r.path.is_resource_instance() ? WriteMode::kUpdate : mode, false);
  return done ? answer(status::kChanged) : answer(done.error());
}

DownlinkResponse DataModel::write_composite(const DownlinkRequest& r, const Requester& who) {
  for (const auto& rec : r.records) {
    const Path target = rec.path.is_resource_instance() ? rec.path.parent() : rec.path;
    if (auto no = refuse(target, who, access::kWrite)) return *no;
    const auto* def = models_.resource(rec.path.object_id(), rec.path.resource_id());
    if (def == nullptr || !def->writable()) {
      return answer(status::kMethodNotAllowed, rec.path.to_string() + " is not writable");
    }
  }
  auto tree = lwm2m::Tree::from_records(r.records);
  if (!tree) return answer(status::kBadRequest, tree.error().reason);
  auto done = store(*tree, WriteMode::kUpdate, false);
  return done ? answer(status::kChanged) : answer(done.error());
}

DownlinkResponse DataModel::write_attributes(const DownlinkRequest& r, const Requester& who) {
  if (r.path.is_root()) return answer(status::kMethodNotAllowed, "attributes of /");
  if (auto no = refuse(r.path, who, access::kRead)) return *no;
  auto update = lwm2m::parse_update(r.attributes);
  if (!update) return answer(status::kBadRequest, update.error().reason);
  std::optional<lwm2m::ResourceType> type;
  if (r.path.depth() >= 3) {
    if (const auto* def = models_.resource(r.path.object_id(), r.path.resource_id()))
      type = def->type;
  }
  auto& stored = attributes_[who.ssid][r.path];
  auto applied = lwm2m::apply_update(stored, *update, r.path, type);
  if (!applied) return answer(status::kBadRequest, applied.error().reason);
  stored = *applied;
  if (stored.empty()) attributes_[who.ssid].erase(r.path);
  if (listener_) listener_(r.path);  // observations re-evaluate with the new attributes
  return answer(status::kChanged);
}

DownlinkResponse DataModel::execute(const DownlinkRequest& r, const Requester& who) {
  if (!r.path.is_resource()) return answer(status::kMethodNotAllowed, "Execute targets a resource");
  const auto* def = models_.resource(r.path.object_id(), r.path.resource_id());
  if (!exists(r.path.parent()) || def == nullptr)
    return answer(status::kNotFound, r.path.to_string());
  if (auto no = refuse(r.path.parent(), who, access::kExecute)) return *no;
  if (!def->executable()) return answer(status::kMethodNotAllowed, "not executable");
  // Core TS 5.4.5: a malformed argument list executes nothing.
  if (auto args = lwm2m::parse_execute_arguments(r.arguments); !args) {
    return answer(status::kBadRequest, args.error().reason);
  }
  Object* object = find(r.path.object_id());
  if (object == nullptr) return answer(status::kNotFound, r.path.to_string());
  auto done = object->execute(r.path.instance_id(), r.path.resource_id(), r.arguments);
  return done ? answer(status::kChanged) : answer(done.error());
}

DownlinkResponse DataModel::create(const DownlinkRequest& r, const Requester& who) {
  if (!r.path.is_object()) return answer(status::kMethodNotAllowed, "Create targets an object");
  if (auto no = refuse(r.path, who, access::kRead)) {
    if (no->code != status::kUnauthorized || r.path.object_id() == oid::kSecurity) return *no;
  }
  if ((rights_of(who, r.path.object_id(), Path::kUnassigned) & access::kCreate) == 0) {
    return answer(status::kUnauthorized, "no Create right");
  }
  Object* object = find(r.path.object_id());
  const auto* odef = models_.object(r.path.object_id());
  const auto* node = r.content.objects.find(r.path.object_id());
  if (node == nullptr || node->instances.size() != 1) {
    return answer(status::kBadRequest, "Create carries one instance");
  }
  auto [iid, instance] = *node->instances.begin();
  const auto taken = object->instances();
  auto is_taken = [&](std::uint16_t id) {
    return std::find(taken.begin(), taken.end(), id) != taken.end();
  };
  if (iid == Path::kUnassigned) {
    iid = 0;
    while (is_taken(iid) && iid < Path::kMaxId) ++iid;
  } else if (is_taken(iid)) {
    return answer(status::kBadRequest, "instance exists");
  }
  for (const auto& [rid, resource] : instance.resources) {
    const auto* def = odef->resource(rid);
    if (def == nullptr) return answer(status::kNotFound, "no resource " + std::to_string(rid));
    if (!def->writable())
      return answer(status::kMethodNotAllowed,
                    "resource " + std::to_string(rid) + " is not writable");
  }
  for (const auto& def : odef->resources) {
    if (def.mandatory && def.writable() && !instance.resources.contains(def.id)) {
      return answer(status::kBadRequest,
                    "mandatory resource " + std::to_string(def.id) + " missing");
    }
  }
  auto done = object->create(iid, instance);
  if (!done) return answer(done.error());
  // Core TS E.1.3: with several servers, the creator owns the new instance's ACL.
  if (!who.bootstrap && server_accounts().size() > 1 && find(oid::kAccessControl) != nullptr) {
    auto acl = read(Path{oid::kAccessControl});
    std::uint16_t aid = 0;
    const auto* an = acl ? acl->objects.find(oid::kAccessControl) : nullptr;
    while (an != nullptr && an->instances.contains(aid)) ++aid;
    lwm2m::Tree t;
    (void)t.set(Path{oid::kAccessControl, aid, access::kObjectId},
                Value(std::int64_t{r.path.object_id()}));
    (void)t.set(Path{oid::kAccessControl, aid, access::kInstanceId}, Value(std::int64_t{iid}));
    (void)t.set(Path{oid::kAccessControl, aid, access::kOwner}, Value(std::int64_t{who.ssid}));
    (void)t.add_node(Path{oid::kAccessControl, aid, access::kAcl});
    (void)store(t, WriteMode::kUpdate, true);
  }
  DownlinkResponse out = answer(status::kCreated);
  out.created = Path{r.path.object_id(), iid};
  return out;
}

DownlinkResponse DataModel::remove(const DownlinkRequest& r, const Requester& who) {
  if (!r.path.is_instance()) return answer(status::kMethodNotAllowed, "Delete targets an instance");
  if (auto no = refuse(r.path, who, access::kDelete)) return *no;
  if (r.path.object_id() == oid::kDevice)
    return answer(status::kMethodNotAllowed, "the Device object stays");
  Object* object = find(r.path.object_id());
  if (object == nullptr) return answer(status::kNotFound, r.path.to_string());
  auto done = object->remove(r.path.instance_id());
  if (!done) return answer(done.error());
  if (Object* acl = find(oid::kAccessControl)) {
    auto all = read(Path{oid::kAccessControl});
    const auto* an = all ? all->objects.find(oid::kAccessControl) : nullptr;
    if (an != nullptr) {
      if (auto aid = access::find_acl(*an, r.path.object_id(), r.path.instance_id()))
        (void)acl->remove(*aid);
    }
  }
  return answer(status::kDeleted);
}

DownlinkResponse DataModel::bootstrap_write(const DownlinkRequest& r) {
  if (r.path.is_root() || r.path.is_resource_instance()) {
    return answer(status::kBadRequest, "Bootstrap-Write targets an object, instance or resource");
  }
  if (find(r.path.object_id()) == nullptr) return answer(status::kBadRequest, "no such object");
  for (const auto& rec : r.content.records()) {
    if (!r.path.covers(rec.path))
      return answer(status::kBadRequest, rec.path.to_string() + " is outside the target");
  }
  // Core TS 6.1.7.5: written whether or not the target exists; an instance is replaced.
  lwm2m::Tree content = r.content;
  if (r.path.depth() >= 2) (void)content.add_node(Path{r.path.object_id(), r.path.instance_id()});
  auto done = store(
      content, r.path.is_instance() ? WriteMode::kReplaceInstance : WriteMode::kReplaceResources,
      true);
  return done ? answer(status::kChanged) : answer(done.error());
}

DownlinkResponse DataModel::bootstrap_read(const DownlinkRequest& r) const {
  if (r.path.is_root() || r.path.depth() > 2 ||
      (r.path.object_id() != oid::kServer && r.path.object_id() != oid::kAccessControl)) {
    return answer(status::kMethodNotAllowed, "Bootstrap-Read covers /1 and /2");
  }
  if (!exists(r.path)) return answer(status::kNotFound, r.path.to_string());
  auto tree = read(r.path);
  if (!tree) return answer(tree.error(), status::kNotFound);
  DownlinkResponse out = answer(status::kContent);
  out.format = r.format.value_or(ContentFormat::kTlv);
  if (!is_record_format(*out.format) && *out.format != ContentFormat::kTlv) {
    return answer(status::kNotAcceptable, "Bootstrap-Read answers in TLV, SenML or LwM2M CBOR");
  }
  out.content = std::move(*tree);
  return out;
}

DownlinkResponse DataModel::bootstrap_discover(const DownlinkRequest& r) const {
  if (r.path.depth() > 1)
    return answer(status::kBadRequest, "Bootstrap-Discover targets / or an object");
  if (!exists(r.path)) return answer(status::kNotFound, r.path.to_string());
  link_format::BootstrapDiscovery d;
  d.version = models_.lwm2m_version();
  for (const auto& [id, object] : objects_) {
    if (!r.path.is_root() && id != r.path.object_id()) continue;
    const auto ids = object->instances();
    if (ids.empty()) d.links.push_back({Path{id}, std::nullopt, {}});
    for (auto iid : ids) {
      link_format::BootstrapLink link{Path{id, iid}, std::nullopt, {}};
      if (id == oid::kSecurity || id == oid::kServer) {
        const std::uint16_t rid =
            id == oid::kSecurity ? security::kShortServerId : server_res::kShortServerId;
        auto ssid = value(Path{id, iid, rid});
        if (ssid && ssid->as_number() && !(id == oid::kSecurity && is_bootstrap_account(iid))) {
          link.ssid = static_cast<std::uint16_t>(*ssid->as_number());
        }
        if (id == oid::kSecurity) {
          if (auto uri = value(Path{id, iid, security::kUri}); uri && uri->get_if<std::string>()) {
            link.uri = *uri->get_if<std::string>();
          }
        }
      }
      d.links.push_back(std::move(link));
    }
  }
  DownlinkResponse out = answer(status::kContent);
  out.bootstrap_links = std::move(d);
  return out;
}

DownlinkResponse DataModel::bootstrap_delete(const DownlinkRequest& r) {
  if (r.path.depth() > 2)
    return answer(status::kBadRequest, "Bootstrap-Delete targets /, an object or an instance");
  // Core TS 6.1.7.6: "/" and /0 keep the Bootstrap-Server Account; the Device object stays.
  for (const auto& [id, object] : objects_) {
    if (!r.path.is_root() && id != r.path.object_id()) continue;
    if (id == oid::kDevice) continue;
    for (auto iid : object->instances()) {
      if (r.path.is_instance() && iid != r.path.instance_id()) continue;
      if (id == oid::kSecurity && is_bootstrap_account(iid)) continue;
      (void)object->remove(iid);
    }
  }
  for (auto& [ssid, attrs] : attributes_) {
    std::erase_if(attrs, [&](const auto& e) { return r.path.covers(e.first); });
  }
  return answer(status::kDeleted);
}

void DataModel::unbootstrap(std::uint16_t ssid) {
  if (Object* servers = find(oid::kServer)) {
    for (auto iid : servers->instances()) {
      auto id = value(Path{oid::kServer, iid, server_res::kShortServerId});
      if (id && id->as_number() == static_cast<double>(ssid)) (void)servers->remove(iid);
    }
  }
  forget_attributes(ssid);
  Object* acl = find(oid::kAccessControl);
  if (acl == nullptr) return;
  auto all = read(Path{oid::kAccessControl});
  const auto* node = all ? all->objects.find(oid::kAccessControl) : nullptr;
  if (node == nullptr) return;
  for (const auto& [aid, instance] : node->instances) {
    const auto* entries = instance.resources.find(access::kAcl);
    if (entries != nullptr && entries->instances.contains(ssid)) {
      (void)acl->remove_resource_instance(aid, access::kAcl, ssid);
    }
    const auto* owner = instance.resources.find(access::kOwner);
    if (owner == nullptr || owner->value.as_number() != static_cast<double>(ssid)) continue;
    // The heir: the other server whose entry grants the most of Write (2) and Delete (8).
    std::optional<std::uint16_t> heir;
    std::int64_t best = -1;
    if (entries != nullptr) {
      for (const auto& [server, rights] : entries->instances) {
        if (server == ssid || server == 0) continue;
        const auto bits = static_cast<std::int64_t>(rights.as_number().value_or(0));
        const std::int64_t score = (bits & access::kWrite) + (bits & access::kDelete);
        if (score > best) {
          best = score;
          heir = server;
        }
      }
    }
    if (heir) {
      lwm2m::InstanceNode update;
      update.resources[access::kOwner].value = Value(std::int64_t{*heir});
      (void)acl->write(aid, update, WriteMode::kUpdate, [](std::uint16_t) { return true; });
      continue;
    }
    const auto object_id = instance.resources.find(access::kObjectId);
    const auto instance_id = instance.resources.find(access::kInstanceId);
    if (object_id != nullptr && instance_id != nullptr) {
      const auto oid_value = static_cast<std::uint16_t>(object_id->value.as_number().value_or(0));
      const auto iid_value = static_cast<std::uint16_t>(instance_id->value.as_number().value_or(0));
      Object* target = find(oid_value);
      if (target != nullptr && oid_value != oid::kDevice && iid_value != Path::kUnassigned) {
        (void)target->remove(iid_value);
      }
    }
    (void)acl->remove(aid);
  }
}

}  // namespace tether::client
