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
  if (mosq_ != nullptr) return fail("the MQTT connection is started already");
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
  if (config_.will) {
    const auto& w = *config_.will;
    // The library checks the topic (UTF-8, no wildcards) and the QoS.
    const int rc = mosquitto_will_set(mosq_, w.topic.c_str(), static_cast<int>(w.message.size()),
                                      w.message.data(), w.qos, w.retain);
    if (rc != MOSQ_ERR_SUCCESS) return fail("MQTT Will: " + library_error(rc));
  }
  if (!config_.clean_session && config_.session_expiry_s > 0 && config_.protocol_version == 5) {
    // libmosquitto takes CONNECT properties only in mosquitto_connect_bind_v5, which
    // connects blocking, and keeps them for every later connect. Given no host it keeps them
    // and stops before connecting (MOSQ_ERR_INVAL), so the loop's non-blocking connects
    // below send them. interop.mqtt.queue-mode shows the broker keeping the session.
    mosquitto_property* props = nullptr;
    if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     config_.session_expiry_s) != MOSQ_ERR_SUCCESS) {
      return fail("MQTT session expiry: out of memory");
    }
    (void)mosquitto_connect_bind_v5(mosq_, nullptr, config_.port, config_.keepalive_s, nullptr,
                                    props);
    mosquitto_property_free_all(&props);
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
  if (payload.size() > 268'435'455) return fail("an MQTT payload over 256 MiB");
  if (asleep_ || (waking_ && !connected_)) {
    if (held_.size() >= kMaxHeld) return fail("too many MQTT messages held while waking");
    held_.push_back(Held{std::string(topic), Bytes(payload.begin(), payload.end()), qos});
    wake();
    return Ok{};
  }
  if (!connected_) return fail("not connected to the MQTT broker");
  auto sent = send_publish(std::string(topic), payload, qos);
  if (sent) sync_watch();
  return sent;
}

Result<Ok> MqttConnection::send_publish(const std::string& topic, ByteView payload, int qos) {
  const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, false);
  if (rc != MOSQ_ERR_SUCCESS) return fail("MQTT publish: " + library_error(rc));
  return Ok{};
}

void MqttConnection::sleep() {
  if (asleep_ || mosq_ == nullptr) return;
  asleep_ = true;
  waking_ = false;
  if (retry_ != 0) loop_.cancel(retry_);
  retry_ = 0;
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  watched_fd_ = -1;
  watching_write_ = false;
  const bool was = connected_;
  if (connected_) {
    // The DISCONNECT tells the broker we left on purpose: no Will, the session is kept.
    mosquitto_disconnect(mosq_);
    mosquitto_loop_write(mosq_, 1);
  }
  connected_ = false;
  reported_up_ = false;
  if (was && on_state_) on_state_(false, "asleep");
}

void MqttConnection::wake() {
  if (!asleep_) return;
  asleep_ = false;
  waking_ = true;
  backoff_ = Duration{0};
  reconnect_now();
}

void MqttConnection::reconnect_now() {
  const int rc = mosquitto_reconnect_async(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) {
    lost("reconnect: " + library_error(rc));
    return;
  }
  sync_watch();
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
  // Back from sleep: what was published meanwhile goes out now (the loop writes it).
  c->waking_ = false;
  while (!c->held_.empty()) {
    (void)c->send_publish(c->held_.front().topic, c->held_.front().payload, c->held_.front().qos);
    c->held_.pop_front();
  }
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
  if (asleep_) {
    // The socket closing after our DISCONNECT: nothing to report or retry.
    if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
    watched_fd_ = -1;
    watching_write_ = false;
    return;
  }
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
  if (stopping_ || asleep_ || retry_ != 0) return;
  backoff_ =
      backoff_.count() == 0 ? config_.reconnect_min : std::min(backoff_ * 2, config_.reconnect_max);
  retry_ = loop_.schedule(loop_.now() + backoff_, [this, alive = alive_] {
    if (!*alive) return;
    retry_ = 0;
    ++reconnects_;
    reconnect_now();
  });
}

}  // namespace tether::transport
