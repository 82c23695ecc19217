#include "server/shared_payload.hpp"

#include <functional>

namespace tether::server {

namespace {
void mix(std::size_t& h, std::size_t v) {
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
}
}  // namespace

SharedPayload::SharedPayload() {
  static const auto empty = std::make_shared<const Payload>();
  p_ = empty;
}

SharedPayload::SharedPayload(Payload payload)
    : p_(std::make_shared<const Payload>(std::move(payload))) {}

std::size_t PayloadPool::hash_of(const SharedPayload::Payload& p) {
  std::size_t h = std::hash<std::string>{}(p.alternate_path);
  mix(h, p.alternate_path_link ? 1 : 0);
  for (auto f : p.content_formats) mix(h, f);
  for (const auto& o : p.objects) {
    mix(h, o.id);
    mix(h, std::hash<std::string>{}(o.version));
    mix(h, o.instances.size());
    for (auto i : o.instances) mix(h, i);
  }
  return h;
}

SharedPayload PayloadPool::intern(const SharedPayload& payload) {
  const std::size_t h = hash_of(*payload);
  auto [first, last] = by_hash_.equal_range(h);
  for (auto it = first; it != last; ++it) {
    if (auto live = it->second.lock(); live != nullptr && *live == *payload) {
      return SharedPayload(std::move(live));
    }
  }
  by_hash_.emplace(h, payload.shared());
  if (by_hash_.size() >= sweep_at_) sweep();
  return payload;
}

void PayloadPool::sweep() {
  std::erase_if(by_hash_, [](const auto& kv) { return kv.second.expired(); });
  sweep_at_ = std::max<std::size_t>(64, by_hash_.size() * 2);
}

}  // namespace tether::server
