#pragma once
// One MQTT client connection to a broker (Transport TS 8: the MQTT server), over
// libmosquitto, driven by our EventLoop: the library's socket is watched by the loop and
// its read, write and keep-alive steps run from the loop's callbacks; the library starts no
// thread. The LwM2M side (binding/mqtt) hands it topics and bytes; the connection keeps its
// subscriptions, and after a lost connection reconnects with back-off and subscribes again.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "transport/event_loop.hpp"

struct mosquitto;
struct mosquitto_message;

namespace tether::transport {

struct MqttConnectionConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  // MQTT 3.1.3.1: 1-23 characters are what every broker must take; empty lets the broker
  // choose (which needs a clean session).
  std::string client_id;
  bool clean_session = true;
  // MQTT 5: how long the broker keeps a session that is not clean once we are gone, with our
  // subscriptions and the QoS 1 messages for them (0: it ends with the connection). MQTT
  // 3.1.1 has no such field: the broker's own policy decides.
  std::uint32_t session_expiry_s = 0;
  // The Will the broker publishes when we vanish without a DISCONNECT (MQTT Server object
  // 24, resources 0-2 and 4).
  struct Will {
    std::string topic;
    std::string message;
    int qos = 0;
    bool retain = false;
  };
  std::optional<Will> will;
  int keepalive_s = 60;
  // 5 (MQTT 5) or 4 (MQTT 3.1.1). LwM2M uses nothing of MQTT 5 (8.0); we use its No Local
  // subscription option, when the broker speaks it, to not hear our own messages.
  int protocol_version = 5;
  // TLS (mqtts://): the CA that signs the broker's certificate, and our certificate and key
  // when the broker asks for one.
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string username;
  std::string password;
  Duration reconnect_min{500};
  Duration reconnect_max{30'000};
};

class MqttConnection {
 public:
  using MessageHandler = std::function<void(std::string_view topic, ByteView payload)>;
  using StateHandler = std::function<void(bool connected, const std::string& why)>;

  MqttConnection(EventLoop& loop, MqttConnectionConfig config);
  ~MqttConnection();
  MqttConnection(const MqttConnection&) = delete;
  MqttConnection& operator=(const MqttConnection&) = delete;

  // Starts connecting (the loop does the rest). Fails on a configuration the library
  // refuses (a TLS file that does not load, an unknown protocol version).
  Result<Ok> start();

  // Remembered, and sent again after every reconnect. `no_local`: with MQTT 5, the broker
  // does not send this connection's own publications back.
  void subscribe(std::string filter, int qos, bool no_local);
  // Fails when not connected (the caller's exchange layer retries or times out); while
  // asleep it wakes the connection and holds the message until the broker takes us back.
  Result<Ok> publish(std::string_view topic, ByteView payload, int qos);

  // Queue mode (Transport TS 6.5): leaves the broker with a DISCONNECT and stays away until
  // wake() or the next publish. With a persistent session the broker keeps what is
  // published for us meanwhile and hands it over when we are back.
  void sleep();
  void wake();
  bool asleep() const { return asleep_; }

  void set_message_handler(MessageHandler h) { on_message_ = std::move(h); }
  void set_state_handler(StateHandler h) { on_state_ = std::move(h); }
  bool connected() const { return connected_; }
  // True once connected with MQTT 5: subscriptions then carry No Local.
  bool speaks_mqtt5() const { return config_.protocol_version == 5; }
  std::uint64_t reconnects() const { return reconnects_; }

 private:
  struct Subscription {
    std::string filter;
    int qos = 0;
    bool no_local = false;
  };
  static void on_connect(mosquitto* m, void* self, int rc);
  static void on_disconnect(mosquitto* m, void* self, int rc);
  static void on_library_message(mosquitto* m, void* self, const mosquitto_message* msg);

  void send_subscription(const Subscription& s);
  // Watches the library's current socket (it changes on reconnect) for reading, and for
  // writing while the library has bytes queued.
  void sync_watch();
  void on_io(std::uint32_t events);
  void on_tick();
  void lost(const std::string& why);
  void schedule_reconnect();
  void reconnect_now();
  Result<Ok> send_publish(const std::string& topic, ByteView payload, int qos);

  struct Held {
    std::string topic;
    Bytes payload;
    int qos = 0;
  };
  // Bounds what is held for the broker while waking from sleep.
  static constexpr std::size_t kMaxHeld = 256;

  EventLoop& loop_;
  MqttConnectionConfig config_;
  mosquitto* mosq_ = nullptr;
  int watched_fd_ = -1;
  bool watching_write_ = false;
  bool connected_ = false;
  bool reported_up_ = false;
  bool reported_failure_ = false;  // a failure to connect since the last connection
  bool stopping_ = false;
  bool asleep_ = false;
  bool waking_ = false;  // from sleep, until the broker takes us back
  std::deque<Held> held_;
  Duration backoff_{0};
  std::uint64_t reconnects_ = 0;
  EventLoop::TimerId tick_ = 0;
  EventLoop::TimerId retry_ = 0;
  std::vector<Subscription> subscriptions_;
  MessageHandler on_message_;
  StateHandler on_state_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::transport
