#pragma once
// The plug point for the bootstrap server's configurations: in memory (tests), a JSON file
// in the data directory (the embedded default), Redis for several nodes. Calls come
// from the bootstrap server's loop thread; a save is durable when it returns.
#include <optional>
#include <string>
#include <vector>

#include "bootstrap/bootstrap_config.hpp"
#include "common/result.hpp"

namespace tether::bootstrap {

class BootstrapStore {
 public:
  virtual ~BootstrapStore() = default;
  virtual Result<std::vector<BootstrapConfig>> load_configs() = 0;
  // One endpoint's, as stored now (another node may have changed it); nullopt: none.
  virtual Result<std::optional<BootstrapConfig>> load_config(const std::string& endpoint) {
    auto all = load_configs();
    if (!all) return all.error();
    for (auto& c : *all) {
      if (c.endpoint == endpoint) return std::optional<BootstrapConfig>(std::move(c));
    }
    return std::optional<BootstrapConfig>{};
  }
  // Inserts or replaces the configuration of config.endpoint.
  virtual Result<Ok> save_config(const BootstrapConfig& config) = 0;
  virtual Result<Ok> remove_config(const std::string& endpoint) = 0;
};

}  // namespace tether::bootstrap
