#pragma once
// Configurations in one JSON file ({"endpoint": {config}, ...}, the format of docs/
// bootstrap.md), rewritten whole on each change through a temporary file and a rename, so a
// crash leaves the old file or the new one, never half of either. Changes are operator
// actions, a few per minute at most, which a whole-file rewrite serves well.
#include <map>
#include <memory>
#include <string>

#include "bootstrap/store/bootstrap_store.hpp"
#include "lwm2m/model/object_definition.hpp"

namespace tether::bootstrap {

class FileBootstrapStore final : public BootstrapStore {
 public:
  // Reads the file if it exists (a missing file is an empty store); a file that does not
  // parse is refused rather than overwritten.
  static Result<std::unique_ptr<FileBootstrapStore>> open(const std::string& file,
                                                          const lwm2m::model::Model& model);

  Result<std::vector<BootstrapConfig>> load_configs() override;
  Result<Ok> save_config(const BootstrapConfig& config) override;
  Result<Ok> remove_config(const std::string& endpoint) override;

 private:
  explicit FileBootstrapStore(std::string file) : file_(std::move(file)) {}
  Result<Ok> write();

  std::string file_;
  std::map<std::string, BootstrapConfig> configs_;
};

// Reads a file of configurations ({"endpoint": {config}, ...}).
Result<std::vector<BootstrapConfig>> read_config_file(const std::string& file,
                                                      const lwm2m::model::Model& model);

}  // namespace tether::bootstrap
