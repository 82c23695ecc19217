#pragma once
// Several bootstrap server nodes on one store (docs/redis.md): a node that changes a
// configuration tells the others over the node bus, and they read it again from the store.
// After the bus was away (messages may have been missed) a node reads every configuration
// again.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bootstrap/bootstrap_server.hpp"
#include "server/node_bus.hpp"

namespace tether::bootstrap {

struct ConfigSyncMetrics {
  std::uint64_t reloads = 0;    // configurations read again after another node's word
  std::uint64_t failed = 0;     // reads that failed (the store, or a configuration refused)
  std::uint64_t malformed = 0;  // bus messages that were not ours or not whole
};

class ConfigSync {
 public:
  ConfigSync(server::NodeBus& bus, BootstrapServer& server);
  ~ConfigSync();
  ConfigSync(const ConfigSync&) = delete;
  ConfigSync& operator=(const ConfigSync&) = delete;

  // This node changed or removed the endpoint's configuration (BootstrapServer's change
  // handler, set by the constructor).
  void changed(const std::string& endpoint);
  // Reads every configuration again (the bus is back after an outage).
  void resync();
  // Where a failed read is reported (a log line).
  void set_error_sink(std::function<void(const std::string&)> sink) { on_error_ = std::move(sink); }
  const ConfigSyncMetrics& metrics() const { return metrics_; }
  std::string metrics_text() const;

 private:
  void on_message(std::string_view text);
  void report(const Result<Ok>& outcome);

  server::NodeBus& bus_;
  BootstrapServer& server_;
  std::function<void(const std::string&)> on_error_;
  ConfigSyncMetrics metrics_;
};

}  // namespace tether::bootstrap
