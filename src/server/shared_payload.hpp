#pragma once
// A registration's object list (Core TS 6.2.1's links), shared: a fleet registers few
// distinct lists, so a million registrations hold a handful of them (issue 22: ~790 B each
// before, kept twice with the memory store). Immutable once made; a change is a new list.
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lwm2m/format/link_format.hpp"

namespace tether::server {

class SharedPayload {
 public:
  using Payload = lwm2m::format::link_format::RegistrationPayload;

  SharedPayload();
  // Implicit: a registration is still made from a parsed list; PayloadPool shares them.
  SharedPayload(Payload payload);  // NOLINT(google-explicit-constructor)
  explicit SharedPayload(std::shared_ptr<const Payload> shared) : p_(std::move(shared)) {}

  const Payload& operator*() const { return *p_; }
  const Payload* operator->() const { return p_.get(); }
  const std::shared_ptr<const Payload>& shared() const { return p_; }

  friend bool operator==(const SharedPayload& a, const SharedPayload& b) {
    return a.p_ == b.p_ || *a.p_ == *b.p_;
  }

 private:
  std::shared_ptr<const Payload> p_;
};

// Hands out one shared copy per distinct list. Lists no registration uses any more are
// dropped as the pool grows (amortised: a sweep when it has doubled since the last).
class PayloadPool {
 public:
  SharedPayload intern(const SharedPayload& payload);
  std::size_t size() const { return by_hash_.size(); }

 private:
  static std::size_t hash_of(const SharedPayload::Payload& p);
  void sweep();

  std::unordered_multimap<std::size_t, std::weak_ptr<const SharedPayload::Payload>> by_hash_;
  std::size_t sweep_at_ = 64;
};

}  // namespace tether::server
