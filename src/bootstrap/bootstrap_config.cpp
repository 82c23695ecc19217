#include "bootstrap/bootstrap_config.hpp"

#include <set>

namespace tether::bootstrap {

namespace {
using lwm2m::format::ContentFormat;

// Security (0): Bootstrap-Server (1), Short Server ID (10). Server (1): Short Server ID (0).
constexpr std::uint16_t kSecurity = 0, kServer = 1, kAccessControl = 2;
constexpr std::uint16_t kSecurityIsBootstrap = 1, kSecurityShortId = 10, kServerShortId = 0;

std::optional<std::int64_t> integer_at(const lwm2m::InstanceNode& instance, std::uint16_t rid) {
  const auto* r = instance.resources.find(rid);
  if (r == nullptr) return std::nullopt;
  if (const auto* i = r->value.get_if<std::int64_t>()) return *i;
  if (const auto* u = r->value.get_if<std::uint64_t>()) return static_cast<std::int64_t>(*u);
  return std::nullopt;
}

bool is_bootstrap_account(const lwm2m::InstanceNode& instance) {
  const auto* r = instance.resources.find(kSecurityIsBootstrap);
  const bool* b = r == nullptr ? nullptr : r->value.get_if<bool>();
  return b != nullptr && *b;
}
}  // namespace

Result<Ok> validate(const BootstrapConfig& config) {
  for (const auto& p : config.reads) {
    // Transport TS 6.4.2: Bootstrap-Read is limited to the Server and Access Control objects.
    if (p.is_root() || (p.object_id() != kServer && p.object_id() != kAccessControl) ||
        p.depth() > 2) {
      return fail("Bootstrap-Read targets /1 or /2 or one of their instances, not " +
                  p.to_string());
    }
  }
  for (const auto& p : config.deletes) {
    if (p.depth() > 2) return fail("Bootstrap-Delete targets \"/\", an object or an instance");
  }
  int bootstrap_accounts = 0;
  std::set<std::int64_t> security_ids;
  if (const auto* security = config.writes.objects.find(kSecurity)) {
    for (const auto& [iid, instance] : security->instances) {
      if (iid == lwm2m::Path::kUnassigned) return fail("every written instance needs an ID");
      if (is_bootstrap_account(instance)) {
        ++bootstrap_accounts;
      } else if (auto id = integer_at(instance, kSecurityShortId)) {
        security_ids.insert(*id);
      }
    }
  }
  if (config.replace_account) {
    if (!is_bootstrap_account(config.replace_account->security)) {
      return fail("the replacement account must have its Bootstrap-Server resource (/0/x/1) true");
    }
    ++bootstrap_accounts;
  }
  // Seed 001: a client holds at most one Bootstrap-Server Account.
  if (bootstrap_accounts > 1) return fail("more than one Bootstrap-Server Account");
  if (const auto* servers = config.writes.objects.find(kServer)) {
    for (const auto& [iid, instance] : servers->instances) {
      auto id = integer_at(instance, kServerShortId);
      if (!id) return fail("Server instance /1/" + std::to_string(iid) + " has no Short Server ID");
      // Core TS 6.1.7.6: without it the client's Bootstrap-Finish check fails (4.06).
      if (security_ids.count(*id) == 0) {
        return fail("no Security instance for Short Server ID " + std::to_string(*id));
      }
    }
  }
  for (const auto& [oid, object] : config.writes.objects) {
    if (object.instances.empty()) {
      return fail("/" + std::to_string(oid) + " is written without instances");
    }
    for (const auto& [iid, instance] : object.instances) {
      if (iid == lwm2m::Path::kUnassigned) return fail("every written instance needs an ID");
    }
  }
  return Ok{};
}

bool is_bootstrap_write_format(ContentFormat f) {
  return f == ContentFormat::kTlv || f == ContentFormat::kSenmlCbor ||
         f == ContentFormat::kSenmlJson || f == ContentFormat::kLwm2mCbor;
}

bool is_bootstrap_pack_format(ContentFormat f) {
  return f == ContentFormat::kSenmlCbor || f == ContentFormat::kSenmlJson ||
         f == ContentFormat::kLwm2mCbor;
}

}  // namespace tether::bootstrap
