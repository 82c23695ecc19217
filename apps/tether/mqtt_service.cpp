#include "mqtt_service.hpp"

#include <stdexcept>

#include "common/bytes.hpp"
#include "common/logfmt.hpp"
#include "service_runtime.hpp"
#include "transport/socket_address.hpp"

namespace tether::app {

namespace mq = binding::mqtt;

std::string random_client_id(Random& random) {
  Bytes b(4);
  random.fill(b);
  return "tether-" + to_hex(b);
}

transport::MqttConnectionConfig broker_config(const std::string& url) {
  transport::MqttConnectionConfig c;
  std::string rest;
  if (url.rfind("mqtt://", 0) == 0) {
    rest = url.substr(7);
    c.port = 1883;
  } else if (url.rfind("mqtts://", 0) == 0) {
    rest = url.substr(8);
    c.port = 8883;
    c.tls = true;
  } else {
    throw std::invalid_argument(url +
                                ": an MQTT broker is mqtt://HOST[:PORT] or mqtts://HOST[:PORT]");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) throw std::invalid_argument(url + " names no broker host");
  if (auto hp = transport::split_host_port(rest)) {
    c.host = hp->first;
    c.port = hp->second;
  } else if (rest.find(':') == std::string::npos || rest.front() == '[') {
    c.host = rest.front() == '[' && rest.back() == ']' ? rest.substr(1, rest.size() - 2) : rest;
  } else {
    throw std::invalid_argument("bad host or port in " + url);
  }
  return c;
}

void apply_broker_options(const MqttOptions& o, transport::MqttConnectionConfig& c) {
  c.ca_file = o.ca;
  c.cert_file = o.cert;
  c.key_file = o.key;
  if (!c.tls && (!o.ca.empty() || !o.cert.empty())) {
    throw std::invalid_argument("--mqtt-ca and --mqtt-cert need an mqtts:// broker");
  }
  c.username = o.username;
  if (!o.password_file.empty()) {
    c.password = read_secret_file(o.password_file, "password");
  }
  if (o.session_expiry_s > 0) {
    c.clean_session = false;
    c.session_expiry_s = o.session_expiry_s;
  }
}

MqttService::MqttService(transport::EventLoop& loop, Random& random, const MqttOptions& o,
                         mq::Interface interface, const lwm2m::model::Model& model)
    : loop_(loop), config_(broker_config(o.url)), prefix_(o.prefix) {
  if (!prefix_.empty()) {
    if (auto ok = mq::check_prefix(prefix_); !ok) {
      throw std::invalid_argument("--mqtt-prefix: " + ok.error().reason);
    }
  }
  config_.client_id = o.client_id.empty() ? random_client_id(random) : o.client_id;
  // MQTT 3.1.3.1: every broker takes 1-23 characters of [0-9a-zA-Z]; more is the broker's call.
  for (char ch : config_.client_id) {
    if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7f) {
      throw std::invalid_argument("--mqtt-client-id takes printable ASCII");
    }
  }
  apply_broker_options(o, config_);
  if (!config_.clean_session && o.client_id.empty()) {
    // The broker finds a kept session by the client identifier: a random one finds nothing.
    throw std::invalid_argument("--mqtt-session-expiry needs --mqtt-client-id");
  }
  connection_ = std::make_unique<transport::MqttConnection>(loop, config_);

  server::MqttLinkConfig link;
  link.name = config_.tls ? "mqtts" : "mqtt";
  link.prefix = prefix_;
  link.interface = interface;
  Bytes start(6);
  random.fill(start);
  for (auto b : start) link.first_token = (link.first_token << 8) | b;
  link.first_token |= 1;
  owned_ = std::make_unique<server::MqttServerLink>(
      link, model, [this](const std::string& topic, const Bytes& bytes) {
        // Not connected: the request's exchange times out, the answer is lost like a datagram.
        (void)connection_->publish(topic, bytes, 1);
      });
  link_ = owned_.get();
  connection_->set_message_handler([this](std::string_view topic, ByteView payload) {
    link_->on_message(topic, payload, loop_.now());
  });
  connection_->set_state_handler([this](bool connected, const std::string& why) {
    log_line(std::string(connected ? "event=mqtt-connected" : "event=mqtt-disconnected") +
                 logfmt_field("broker", config_.host + ":" + std::to_string(config_.port)) +
                 logfmt_field("detail", why),
             connected ? "info" : "warn");
  });
  // QoS 1 (8.1 leaves it to the MQTT Server object; at-least-once, with the exchange layer's
  // answer cache for repeats). No Local keeps our own publications from coming back.
  connection_->subscribe(link_->subscription(), 1, true);
}

std::unique_ptr<server::ServerLink> MqttService::take_link() {
  if (!owned_) throw std::logic_error("the MQTT link was taken already");
  return std::move(owned_);
}

void MqttService::start() {
  if (auto started = connection_->start(); !started) {
    throw std::invalid_argument("--mqtt: " + started.error().reason);
  }
}

std::string MqttService::describe() const {
  return logfmt_field(link_->name(), config_.host + ":" + std::to_string(config_.port)) +
         (prefix_.empty() ? std::string{} : logfmt_field("prefix", prefix_));
}

}  // namespace tether::app
