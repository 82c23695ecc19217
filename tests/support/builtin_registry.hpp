#pragma once
// The object definitions Tether ships, loaded once per test binary.
#include "lwm2m/model/object_registry.hpp"

namespace tether::test_support {

inline const lwm2m::model::ObjectRegistry& builtin_registry() {
  static const auto registry = lwm2m::model::ObjectRegistry::with_builtin();
  return registry;
}

}  // namespace tether::test_support
