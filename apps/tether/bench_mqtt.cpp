// `tether bench mqtt`: a load generator for an LwM2M server behind an MQTT broker (Transport
// TS 8). N simulated clients, all over one broker connection (as a gateway would carry them),
// register and then send Updates in a closed loop with W in flight; it reports the rate,
// latency percentiles and, with --pid, the server's resident memory per registration.
// `--bare` runs the same loop against `tether bench mqtt-echo`, which publishes each message
// straight back: the broker's own round trip, the baseline an LwM2M server is measured
// against.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "binding/mqtt/mqtt_payload.hpp"
#include "binding/mqtt/uplink_mapping.hpp"
#include "cli_options.hpp"
#include "closed_loop.hpp"
#include "commands.hpp"
#include "common/logfmt.hpp"
#include "lwm2m/format/link_format.hpp"
#include "mqtt_service.hpp"
#include "resident_memory.hpp"
#include "service_runtime.hpp"
#include "transport/event_loop.hpp"
#include "transport/mqtt/mqtt_connection.hpp"

namespace tether::app {

namespace {
namespace mq = binding::mqtt;

struct MqttBenchOptions : LoadOptions {
  std::string broker = "mqtt://127.0.0.1:1883";
  std::string prefix = "bench";
};

void wait_connected(transport::EventLoop& loop, transport::MqttConnection& c) {
  const auto give_up = SteadyClock::now() + std::chrono::seconds(10);
  while (!c.connected() && SteadyClock::now() < give_up) loop.run_once(Duration{50});
  if (!c.connected()) throw std::runtime_error("no connection to the broker");
  // The SUBACK follows the CONNACK; a moment lets it arrive before we publish.
  const auto settle = SteadyClock::now() + std::chrono::milliseconds(200);
  while (SteadyClock::now() < settle) loop.run_once(Duration{20});
}

}  // namespace

int bench_mqtt(const std::vector<std::string>& args) {
  MqttBenchOptions o;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--broker")) {
      o.broker = r.value();
    } else if (r.is("--prefix")) {
      o.prefix = r.value();
    } else if (parse_load_option(r, o)) {
      // --clients, --window, --seconds, --pid, --bare
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether bench mqtt [--broker URL] [--prefix P] [--clients N] [--window W]\n"
          "                         [--seconds S] [--pid P] [--bare]\n"
          "  N clients register with the LwM2M server behind the broker (tether server --mqtt\n"
          "  URL --mqtt-prefix P), then Update for S seconds, W in flight. --pid: the server's\n"
          "  memory per registration. --bare: the same loop against tether bench mqtt-echo.\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + r.current());
    }
  }
  o.window = std::max<std::uint64_t>(1, std::min(o.window, o.clients));
  transport::EventLoop loop;
  auto config = broker_config(o.broker);
  config.client_id = o.bare ? "bench-bare" : "bench-load";
  transport::MqttConnection connection(loop, config);
  const std::string rd = o.prefix + "/lwm2m/rd/";
  const std::string in = o.prefix + "/echo/in/";
  const std::string out = o.prefix + "/echo/out/";
  connection.subscribe(o.bare ? out + "+" : rd + "+", 1, true);

  std::unique_ptr<ClosedLoop> load;
  connection.set_message_handler([&](std::string_view topic, ByteView payload) {
    const std::string_view base = o.bare ? std::string_view(out) : std::string_view(rd);
    if (!load || !topic.starts_with(base)) return;
    const std::string_view name = topic.substr(base.size());
    const auto dash = name.rfind('-');
    if (dash == std::string_view::npos) return;
    std::uint64_t i = 0;
    for (char ch : name.substr(dash + 1)) i = i * 10 + static_cast<std::uint64_t>(ch - '0');
    if (o.bare) return load->finish(i, true);
    auto p = mq::decode(payload);
    if (!p || !p->result) return;  // a request to the client: not part of this bench
    load->finish(i, *p->result / 100 == 2);
  });
  if (auto ok = connection.start(); !ok) throw std::invalid_argument(ok.error().reason);
  wait_connected(loop, connection);

  auto objects = *lwm2m::format::link_format::parse_registration("</1/0>,</3/0>,</3303/0>");
  std::uint64_t token = 1;
  bool registering = true;
  load = std::make_unique<ClosedLoop>(loop, o.clients, o.window, [&](std::uint64_t i) {
    const std::string name = "bench-" + std::to_string(i);
    if (o.bare) {
      // An Update's map, as the broker would carry it.
      (void)connection.publish(in + name, mq::encode(mq::encode_update({}, token++)), 1);
      return;
    }
    if (registering) {
      lwm2m::RegisterRequest reg;
      reg.params.endpoint = name;
      reg.params.lifetime = 86400;
      reg.params.version = "1.2";
      reg.objects = objects;
      (void)connection.publish(rd + name, mq::encode(mq::encode_register(reg, token++)), 1);
    } else {
      (void)connection.publish(rd + name, mq::encode(mq::encode_update({}, token++)), 1);
    }
  });

  const long rss_before = o.pid != 0 ? rss_kib(o.pid) : -1;
  if (!o.bare) {
    LoadPhase reg = load->run(o.clients, std::chrono::seconds(120));
    print_registration(reg, o.pid, rss_before);
    registering = false;
  }
  LoadPhase updates = load->run(~std::uint64_t{0}, std::chrono::seconds(o.seconds));
  print_rate(o.bare ? "bare-round-trips" : "updates", o.clients, o.window, updates);
  return updates.failed == 0 ? 0 : 1;
}
int bench_mqtt_echo(const std::vector<std::string>& args) {
  std::string broker = "mqtt://127.0.0.1:1883";
  std::string prefix = "bench";
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--broker")) {
      broker = r.value();
    } else if (r.is("--prefix")) {
      prefix = r.value();
    } else {
      throw std::invalid_argument("usage: tether bench mqtt-echo [--broker URL] [--prefix P]");
    }
  }
  transport::EventLoop loop;
  auto config = broker_config(broker);
  config.client_id = "bench-echo";
  transport::MqttConnection connection(loop, config);
  const std::string in = prefix + "/echo/in/";
  const std::string out = prefix + "/echo/out/";
  connection.subscribe(in + "+", 1, true);
  connection.set_message_handler([&](std::string_view topic, ByteView payload) {
    if (!topic.starts_with(in)) return;
    (void)connection.publish(out + std::string(topic.substr(in.size())), payload, 1);
  });
  if (auto ok = connection.start(); !ok) throw std::invalid_argument(ok.error().reason);
  install_stop_handlers();
  while (!stop_requested()) loop.run_once(Duration{200});
  return 0;
}

}  // namespace tether::app
