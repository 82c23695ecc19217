#include "bootstrap/config_sync.hpp"

#include <nlohmann/json.hpp>

#include "server/bus_message.hpp"

namespace tether::bootstrap {
namespace {
constexpr const char* kType = "bootstrap-config";
constexpr std::size_t kMaxMessage = 4096;
constexpr std::size_t kMaxName = 256;
}  // namespace

ConfigSync::ConfigSync(server::NodeBus& bus, BootstrapServer& server) : bus_(bus), server_(server) {
  bus_.set_handler([this](std::string_view message) { on_message(message); });
  server_.set_change_handler([this](const std::string& endpoint) { changed(endpoint); });
}

ConfigSync::~ConfigSync() {
  bus_.set_handler(nullptr);
  server_.set_change_handler(nullptr);
}

void ConfigSync::changed(const std::string& endpoint) {
  nlohmann::json message{{"type", kType}, {"from", bus_.node()}, {"endpoint", endpoint}};
  // Lost (the bus is down): the others read everything again once their bus is back.
  (void)bus_.broadcast(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void ConfigSync::resync() {
  report(server_.reload_configs());
}

void ConfigSync::report(const Result<Ok>& outcome) {
  if (outcome) return;
  ++metrics_.failed;
  if (on_error_) on_error_(outcome.error().reason);
}

void ConfigSync::on_message(std::string_view text) {
  auto message = text.size() <= kMaxMessage ? nlohmann::json::parse(text, nullptr, false)
                                            : nlohmann::json(nullptr);
  const auto field = [&message](const char* name) {
    return server::clean_field(message, name, kMaxName);
  };
  const std::string* type = message.is_object() ? field("type") : nullptr;
  const std::string* from = type ? field("from") : nullptr;
  const std::string* endpoint = from ? field("endpoint") : nullptr;
  if (endpoint == nullptr || *type != kType) {
    ++metrics_.malformed;
    return;
  }
  if (*from == bus_.node()) return;  // this node's own change
  ++metrics_.reloads;
  report(server_.reload_config(*endpoint));
}

std::string ConfigSync::metrics_text() const {
  const auto line = [](const char* name, const char* help, std::uint64_t value) {
    return std::string("# HELP ") + name + ' ' + help + "\n# TYPE " + name + " counter\n" + name +
           ' ' + std::to_string(value) + '\n';
  };
  return line("tether_bootstrap_config_reloads_total",
              "configurations read again after another node changed them", metrics_.reloads) +
         line("tether_bootstrap_config_reload_failures_total",
              "configurations that could not be read again", metrics_.failed) +
         line("tether_node_messages_malformed_total", "node bus messages dropped as malformed",
              metrics_.malformed);
}

}  // namespace tether::bootstrap
