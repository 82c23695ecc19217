#include "bootstrap/store/file/file_bootstrap_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bootstrap/bootstrap_config_json.hpp"
#include "common/text.hpp"

namespace tether::bootstrap {

namespace {
using nlohmann::json;

// Writes, syncs, then renames over the target: the file is either the old or the new one.
Result<Ok> replace_file(const std::string& file, const std::string& text) {
  const std::string temp = file + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot write " + temp);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return fail("cannot write " + temp);
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(temp.c_str(), file.c_str()) != 0) {
    return fail("cannot replace " + file);
  }
  return Ok{};
}
}  // namespace

Result<std::vector<BootstrapConfig>> read_config_file(const std::string& file,
                                                      const lwm2m::model::Model& model) {
  std::ifstream in(file);
  if (!in) return fail("cannot read " + file);
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(file + ": expected a JSON object of endpoint names and configurations");
  }
  std::vector<BootstrapConfig> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto c = config_from_json(it.key(), it.value(), model);
    if (!c) return fail(file + ": " + printable(it.key(), 64) + ": " + c.error().reason);
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::unique_ptr<FileBootstrapStore>> FileBootstrapStore::open(
    const std::string& file, const lwm2m::model::Model& model) {
  std::unique_ptr<FileBootstrapStore> store(new FileBootstrapStore(file));
  if (std::filesystem::exists(file)) {
    auto configs = read_config_file(file, model);
    if (!configs) return configs.error();
    for (auto& c : *configs) store->configs_[c.endpoint] = std::move(c);
  }
  return store;
}

Result<std::vector<BootstrapConfig>> FileBootstrapStore::load_configs() {
  std::vector<BootstrapConfig> out;
  for (const auto& [ep, c] : configs_) out.push_back(c);
  return out;
}

Result<Ok> FileBootstrapStore::save_config(const BootstrapConfig& config) {
  auto previous = configs_.find(config.endpoint);
  std::optional<BootstrapConfig> old;
  if (previous != configs_.end()) old = previous->second;
  configs_[config.endpoint] = config;
  auto written = write();
  if (!written) {
    // What is stored stays what the file holds.
    if (old) {
      configs_[config.endpoint] = std::move(*old);
    } else {
      configs_.erase(config.endpoint);
    }
  }
  return written;
}

Result<Ok> FileBootstrapStore::remove_config(const std::string& endpoint) {
  auto it = configs_.find(endpoint);
  if (it == configs_.end()) return Ok{};
  BootstrapConfig old = it->second;
  configs_.erase(it);
  auto written = write();
  if (!written) configs_[endpoint] = std::move(old);
  return written;
}

Result<Ok> FileBootstrapStore::write() {
  json j = json::object();
  for (const auto& [ep, c] : configs_) j[ep] = config_to_json(c, server::Secrets::kInclude);
  return replace_file(file_, j.dump(2) + "\n");
}

}  // namespace tether::bootstrap
