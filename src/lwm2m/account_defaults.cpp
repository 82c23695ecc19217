#include "lwm2m/account_defaults.hpp"

#include <string>

namespace tether::lwm2m {

namespace {
constexpr std::uint16_t kSecurity = 0, kServer = 1;
// Security object resources and modes (Core TS E.1, Transport TS 5.2.5).
constexpr std::uint16_t kUri = 0, kIsBootstrap = 1, kMode = 2, kIdentity = 3, kServerKey = 4,
                        kSecret = 5;
constexpr std::int64_t kPsk = 0, kRpk = 1, kNoSec = 3;
// Server object resources (Core TS E.2).
constexpr std::uint16_t kShortId = 0, kLifetime = 1, kNotificationStoring = 6, kBinding = 7;
constexpr std::int64_t kDefaultLifetime = 86400;

void fill(InstanceNode& instance, std::uint16_t rid, Value value) {
  if (instance.resources.find(rid) == nullptr) instance.resources[rid].value = std::move(value);
}

// Present and not empty: an empty URI or key is as good as none.
bool has(const InstanceNode& instance, std::uint16_t rid) {
  const auto* r = instance.resources.find(rid);
  if (r == nullptr || r->value.is_none()) return false;
  const auto* bytes = r->value.get_if<Bytes>();
  const auto* text = r->value.get_if<std::string>();
  return (bytes == nullptr || !bytes->empty()) && (text == nullptr || !text->empty());
}

std::int64_t mode_of(const InstanceNode& instance) {
  const auto* r = instance.resources.find(kMode);
  if (r == nullptr) return kNoSec;
  if (const auto* i = r->value.get_if<std::int64_t>()) return *i;
  if (const auto* u = r->value.get_if<std::uint64_t>()) return static_cast<std::int64_t>(*u);
  return -1;
}
}  // namespace

Result<Ok> complete_account_instance(std::uint16_t object, std::uint16_t iid,
                                     InstanceNode& instance) {
  const std::string where = "/" + std::to_string(object) + "/" + std::to_string(iid);
  if (object == kSecurity) {
    if (!has(instance, kUri)) return fail(where + " has no LwM2M Server URI (resource 0)");
    const std::int64_t mode = mode_of(instance);
    // A secure mode without its keys cannot work: say so rather than send empty keys.
    if ((mode == kPsk || mode == kRpk) && (!has(instance, kIdentity) || !has(instance, kSecret))) {
      return fail(where + ": the security mode needs publicKeyOrIdentity and secretKey");
    }
    if (mode == kRpk && !has(instance, kServerKey)) {
      return fail(where + ": raw public key mode needs serverPublicKey");
    }
    fill(instance, kIsBootstrap, Value(false));
    fill(instance, kMode, Value(kNoSec));
    fill(instance, kIdentity, Value(Bytes{}));
    fill(instance, kServerKey, Value(Bytes{}));
    fill(instance, kSecret, Value(Bytes{}));
  } else if (object == kServer) {
    if (!has(instance, kShortId)) return fail(where + " has no Short Server ID (resource 0)");
    fill(instance, kLifetime, Value(kDefaultLifetime));
    fill(instance, kNotificationStoring, Value(true));
    fill(instance, kBinding, Value(std::string("U")));
  }
  return Ok{};
}

Result<Ok> complete_account_instances(Tree& tree) {
  for (const std::uint16_t object : {kSecurity, kServer}) {
    auto* node = tree.objects.find(object);
    if (node == nullptr) continue;
    for (auto& [iid, instance] : node->instances) {
      if (auto ok = complete_account_instance(object, iid, instance); !ok) return ok.error();
    }
  }
  return Ok{};
}

}  // namespace tether::lwm2m
