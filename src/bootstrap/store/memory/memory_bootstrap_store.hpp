#pragma once
// Configurations in memory only: for tests, and for a bootstrap server fed from a file at
// each start.
#include <map>

#include "bootstrap/store/bootstrap_store.hpp"

namespace tether::bootstrap {

class MemoryBootstrapStore final : public BootstrapStore {
 public:
  Result<std::vector<BootstrapConfig>> load_configs() override {
    std::vector<BootstrapConfig> out;
    for (const auto& [ep, c] : configs_) out.push_back(c);
    return out;
  }
  Result<Ok> save_config(const BootstrapConfig& config) override {
    configs_[config.endpoint] = config;
    return Ok{};
  }
  Result<Ok> remove_config(const std::string& endpoint) override {
    configs_.erase(endpoint);
    return Ok{};
  }

 private:
  std::map<std::string, BootstrapConfig> configs_;
};

}  // namespace tether::bootstrap
