#pragma once
// `--mqtt`: a server engine (the LwM2M server, the bootstrap server) serving on an MQTT broker
// as well (Transport TS 8). One broker connection per engine, driven by the engine's loop;
// the link it feeds is the engine's (server/link/mqtt_server_link).
#include <memory>
#include <optional>
#include <string>

#include "binding/mqtt/topic.hpp"
#include "common/random.hpp"
#include "lwm2m/model/object_definition.hpp"
#include "option_table.hpp"
#include "server/link/mqtt_server_link.hpp"
#include "transport/event_loop.hpp"
#include "transport/mqtt/mqtt_connection.hpp"

namespace tether::app {

// Transport TS 8.8: a broker's URI, mqtt://HOST[:PORT] (1883) or mqtts://HOST[:PORT] (8883).
// Throws std::invalid_argument for anything else.
transport::MqttConnectionConfig broker_config(const std::string& url);
// "tether-" and 8 random hex digits: a client id for a broker connection of ours.
std::string random_client_id(Random& random);
// The TLS files and login of `o` into `c` (throws for a password file that cannot be read).
void apply_broker_options(const MqttOptions& o, transport::MqttConnectionConfig& c);

class MqttService {
 public:
  // Throws std::invalid_argument for a bad --mqtt URL, prefix, client id or TLS file.
  MqttService(transport::EventLoop& loop, Random& random, const MqttOptions& o,
              binding::mqtt::Interface interface, const lwm2m::model::Model& model);
  // The link, for the engine to attach (once); it stays owned by the engine.
  std::unique_ptr<server::ServerLink> take_link();
  // Connects; the loop does the rest. Call after the engine has the link.
  void start();
  // "mqtt=127.0.0.1:1883 prefix=t" for the start-up line.
  std::string describe() const;

  std::optional<Instant> next_deadline() const { return link_->next_deadline(); }
  void on_timer(Instant now) { link_->on_timer(now); }
  const server::MqttServerLink& link() const { return *link_; }
  // Transport TS 8.6: the endpoints' COSE keys (the engine's credentials in mode cose).
  void set_cose_keys(server::MqttServerLink::CoseKeysFor keys) {
    link_->set_cose_keys(std::move(keys));
  }

 private:
  transport::EventLoop& loop_;
  transport::MqttConnectionConfig config_;
  std::string prefix_;
  std::unique_ptr<transport::MqttConnection> connection_;
  std::unique_ptr<server::MqttServerLink> owned_;
  server::MqttServerLink* link_ = nullptr;
};

// Runs an engine's timers and its MQTT link's from one loop (for server::run_step).
template <typename Engine>
struct EngineWithMqtt {
  Engine& engine;
  MqttService* mqtt;
  transport::EventLoop& loop;
  std::optional<Instant> next_deadline() {
    auto due = engine.next_deadline();
    if (mqtt != nullptr) {
      if (auto link_due = mqtt->next_deadline(); link_due && (!due || *link_due < *due)) {
        due = link_due;
      }
    }
    return due;
  }
  void on_timer() {
    const Instant now = loop.now();
    if (mqtt != nullptr) {
      if (auto d = mqtt->next_deadline(); d && *d <= now) mqtt->on_timer(now);
    }
    if (auto d = engine.next_deadline(); d && *d <= now) engine.on_timer();
  }
};

}  // namespace tether::app
