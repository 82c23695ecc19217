#include "transport/mqtt/mqtt_connection.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/epoll.h>

#include <algorithm>
#include <mutex>

namespace tether::transport {

namespace {

std::string library_error(int rc) {
  return rc == MOSQ_ERR_ERRNO ? std::string("connection error") : mosquitto_strerror(rc);
}

const char* or_null(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}

}  // namespace

MqttConnection::MqttConnection(EventLoop& loop, MqttConnectionConfig config)
    : loop_(loop), config_(std::move(config)) {}

MqttConnection::~MqttConnection() {
  stopping_ = true;
  *alive_ = false;
  if (tick_ != 0) loop_.cancel(tick_);
  if (retry_ != 0) loop_.cancel(retry_);
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  if (mosq_ != nullptr) {
    if (connected_) {
      mosquitto_disconnect(mosq_);  // best effort: a DISCONNECT so the broker drops us at once
      mosquitto_loop_write(mosq_, 1);
    }
    mosquitto_destroy(mosq_);
  }
}

Result<Ok> MqttConnection::start() {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  if (config_.protocol_version != 4 && config_.protocol_version != 5) {
    return fail("MQTT protocol version " + std::to_string(config_.protocol_version) +
                " (4 for 3.1.1 or 5)");
  }
  mosq_ = mosquitto_new(or_null(config_.client_id), config_.clean_session, this);
  if (mosq_ == nullptr) return fail("mosquitto_new failed (a client ID without a clean session?)");
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
                       config_.protocol_version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  // LwM2M over MQTT is request and answer: a small publication must not wait for Nagle and
  // the peer's delayed ACK (about 40 ms each way).
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(mosq_, &MqttConnection::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &MqttConnection::on_disconnect);
  mosquitto_message_callback_set(mosq_, &MqttConnection::on_library_message);
  if (config_.tls) {
    const int rc =
        mosquitto_tls_set(mosq_, or_null(config_.ca_file), nullptr, or_null(config_.cert_file),
                          or_null(config_.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return fail("MQTT TLS files: " + library_error(rc));
  }
  if (!config_.username.empty()) {
    const int rc =
        mosquitto_username_pw_set(mosq_, config_.username.c_str(), or_null(config_.password));
    if (rc != MOSQ_ERR_SUCCESS) return fail("MQTT username: " + library_error(rc));
  }
  // A broker that is not there yet is not a configuration error: we keep trying.
  const int rc =
      mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, config_.keepalive_s);
  if (rc == MOSQ_ERR_SUCCESS) {
    sync_watch();
  } else {
    lost("connect: " + library_error(rc));
  }
  on_tick();
  return Ok{};
}

void MqttConnection::subscribe(std::string filter, int qos, bool no_local) {
  subscriptions_.push_back(Subscription{std::move(filter), qos, no_local});
  if (connected_) {
    send_subscription(subscriptions_.back());
    sync_watch();
  }
}

void MqttConnection::send_subscription(const Subscription& s) {
  if (config_.protocol_version == 5) {
    const int options = s.no_local ? MQTT_SUB_OPT_NO_LOCAL : 0;
    mosquitto_subscribe_v5(mosq_, nullptr, s.filter.c_str(), s.qos, options, nullptr);
  } else {
    mosquitto_subscribe(mosq_, nullptr, s.filter.c_str(), s.qos);
  }
}

Result<Ok> MqttConnection::publish(std::string_view topic, ByteView payload, int qos) {
  if (!connected_) return fail("not connected to the MQTT broker");
  if (payload.size() > 268'435'455) return fail("an MQTT payload over 256 MiB");
  const std::string t(topic);
  const int rc = mosquitto_publish(mosq_, nullptr, t.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, false);
  if (rc != MOSQ_ERR_SUCCESS) return fail("MQTT publish: " + library_error(rc));
  sync_watch();
  return Ok{};
}

void MqttConnection::on_connect(mosquitto*, void* self, int rc) {
  auto* c = static_cast<MqttConnection*>(self);
  if (rc != 0) {
    // Refused by the broker (bad credentials, a client ID it will not take): the library
    // closes the socket; we try again later, slowly.
    if (!c->reported_failure_ && c->on_state_) {
      c->on_state_(false, std::string("refused: ") + mosquitto_connack_string(rc));
    }
    c->reported_failure_ = true;
    return;
  }
  c->connected_ = true;
  c->reported_up_ = true;
  c->reported_failure_ = false;
  c->backoff_ = Duration{0};
  for (const auto& s : c->subscriptions_) c->send_subscription(s);
  if (c->on_state_) c->on_state_(true, "connected");
}

void MqttConnection::on_disconnect(mosquitto*, void* self, int) {
  static_cast<MqttConnection*>(self)->connected_ = false;
}

void MqttConnection::on_library_message(mosquitto*, void* self, const mosquitto_message* msg) {
  auto* c = static_cast<MqttConnection*>(self);
  if (!c->on_message_ || msg == nullptr || msg->topic == nullptr || msg->payloadlen < 0) return;
  c->on_message_(msg->topic, ByteView(static_cast<const std::uint8_t*>(msg->payload),
                                      static_cast<std::size_t>(msg->payloadlen)));
}

void MqttConnection::sync_watch() {
  const int fd = mosquitto_socket(mosq_);
  const bool want_write = fd >= 0 && mosquitto_want_write(mosq_);
  if (fd != watched_fd_) {
    if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
    watched_fd_ = fd;
    watching_write_ = want_write;
    if (fd >= 0) {
      loop_.watch(fd, EPOLLIN | (want_write ? EPOLLOUT : 0u),
                  [this, alive = alive_](std::uint32_t events) {
                    if (*alive) on_io(events);
                  });
    }
    return;
  }
  if (fd >= 0 && want_write != watching_write_) {
    watching_write_ = want_write;
    loop_.modify(fd, EPOLLIN | (want_write ? EPOLLOUT : 0u));
  }
}

void MqttConnection::on_io(std::uint32_t events) {
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    const int rc = mosquitto_loop_read(mosq_, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      lost("read: " + library_error(rc));
      return;
    }
  }
  if ((events & EPOLLOUT) != 0) {
    const int rc = mosquitto_loop_write(mosq_, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      lost("write: " + library_error(rc));
      return;
    }
  }
  sync_watch();
}

void MqttConnection::on_tick() {
  // Keep-alive pings and the library's own timeouts; a second is finer than any keep-alive.
  if (mosquitto_socket(mosq_) >= 0) {
    const int rc = mosquitto_loop_misc(mosq_);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
      lost("keep-alive: " + library_error(rc));
    } else {
      sync_watch();
    }
  }
  tick_ = loop_.schedule(loop_.now() + Duration{1000}, [this, alive = alive_] {
    if (*alive) on_tick();
  });
}

void MqttConnection::lost(const std::string& why) {
  // The library's disconnect callback may have cleared connected_ already; the handler
  // hears of each loss once.
  const bool was = reported_up_;
  reported_up_ = false;
  connected_ = false;
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  watched_fd_ = -1;
  watching_write_ = false;
  // A broker that was never reached (refused, a certificate that does not verify) is
  // reported once too, not at every retry.
  if ((was || !reported_failure_) && on_state_) {
    on_state_(false, was ? why : "cannot connect: " + why);
  }
  if (!was) reported_failure_ = true;
  schedule_reconnect();
}

void MqttConnection::schedule_reconnect() {
  if (stopping_ || retry_ != 0) return;
  backoff_ =
      backoff_.count() == 0 ? config_.reconnect_min : std::min(backoff_ * 2, config_.reconnect_max);
  retry_ = loop_.schedule(loop_.now() + backoff_, [this, alive = alive_] {
    if (!*alive) return;
    retry_ = 0;
    ++reconnects_;
    const int rc = mosquitto_reconnect_async(mosq_);
    if (rc != MOSQ_ERR_SUCCESS) {
      lost("reconnect: " + library_error(rc));
      return;
    }
    sync_watch();
  });
}

}  // namespace tether::transport
