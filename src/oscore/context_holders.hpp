#pragma once
// The copies of OSCORE contexts that several workers hold (`tether server --workers N`):
// for each context's name, the worker that acted on a request under it last
// (SecurityContext::share_holding). Shared by every worker's keyring; thread-safe.
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

#include "oscore/security_context.hpp"

namespace tether::oscore {

class ContextHolders {
 public:
  // No worker yet: every copy asks for freshness first.
  static constexpr std::uint32_t kNobody = std::numeric_limits<std::uint32_t>::max();

  // The mark every copy of `name`'s context shares; made on first use. Taken when a
  // context is put, never per message.
  SecurityContext::LastHolder of(const std::string& name) {
    std::lock_guard lock(mutex_);
    // Marks no copy holds any longer (credentials removed) go, so that the map stays as
    // large as the contexts held; before this one is made, which nobody holds yet.
    if (marks_.size() > 2 * swept_size_ + 64) {
      std::erase_if(marks_, [](const auto& kv) { return kv.second.use_count() == 1; });
      swept_size_ = marks_.size();
    }
    auto& mark = marks_[name];
    if (mark == nullptr) mark = std::make_shared<std::atomic<std::uint32_t>>(kNobody);
    return mark;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return marks_.size();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, SecurityContext::LastHolder> marks_;
  std::size_t swept_size_ = 0;
};

}  // namespace tether::oscore
