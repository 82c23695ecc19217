// `tether bench lorawan`: a load generator for an LwM2M server serving LoRaWAN devices as an
// application server (Transport TS 6.8.4, `tether server --lorawan`). It stands in for a
// network server with N devices on it: each device's uplinks are ChirpStack v4 "up" events
// published straight to the broker (a Register, then Updates, in a closed loop with W in
// flight); the server's downlinks come back as ChirpStack commands, which it acknowledges as
// the network would ("txack", and "ack" for confirmed ones) and reads the CoAP answer in. It
// reports the rate, latency percentiles and, with --pid, the server's resident memory per
// LoRaWAN registration. The broker's bare round trip (`tether bench mqtt --bare` against
// `bench mqtt-echo`) is the baseline.
#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "binding/coap/lorawan_registration.hpp"
#include "binding/coap/uplink_mapping.hpp"
#include "closed_loop.hpp"
#include "coap/udp_codec.hpp"
#include "commands.hpp"
#include "common/random.hpp"
#include "lorawan/chirpstack.hpp"
#include "lwm2m/format/link_format.hpp"
#include "mqtt_service.hpp"
#include "resident_memory.hpp"
#include "transport/event_loop.hpp"
#include "transport/mqtt/mqtt_connection.hpp"

namespace tether::app {

namespace {
namespace cs = lorawan::chirpstack;

constexpr lorawan::DevEui kFirstDevice = 0x70b3d57e00000000ull;

struct Device {
  std::uint32_t f_cnt = 0;
  std::uint16_t mid = 0;
  std::string location;
};
}  // namespace

int bench_lorawan(const std::vector<std::string>& args) {
  LoadOptions o;
  std::string broker = "mqtt://127.0.0.1:1883";
  std::string application = "bench";
  std::uint32_t dr = 5;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--broker")) {
      broker = r.value();
    } else if (r.is("--application")) {
      application = r.value();
    } else if (r.is("--dr")) {
      dr = static_cast<std::uint32_t>(parse_number(r.value(), 15));
    } else if (parse_load_option(r, o)) {
      // --clients, --window, --seconds, --pid
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether bench lorawan [--broker URL] [--application ID] [--dr N]\n"
          "                            [--clients N] [--window W] [--seconds S] [--pid P]\n"
          "  N LoRaWAN devices register with tether server --lorawan URL\n"
          "  --lorawan-application ID through ChirpStack v4 events on the broker, then Update\n"
          "  for S seconds, W in flight; their uplinks come at data rate N (5). --pid: the\n"
          "  server's memory per registration.\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + r.current());
    }
  }
  if (o.bare) throw std::invalid_argument("--bare: use tether bench mqtt --bare");
  if (!cs::is_application_id(application)) throw std::invalid_argument("--application");
  o.window = std::max<std::uint64_t>(1, std::min(o.window, o.clients));
  transport::EventLoop loop;
  SystemRandom random;
  auto config = broker_config(broker);
  config.client_id = "bench-lorawan";
  transport::MqttConnection connection(loop, config);
  connection.subscribe(cs::command_filter(application), 1, true);
  std::vector<Device> devices(o.clients);
  std::unique_ptr<ClosedLoop> load;
  std::uint64_t dedup = 0;
  std::uint32_t f_cnt_down = 0;

  auto uplink = [&](std::uint64_t i, coap::Message m) {
    Device& d = devices[i];
    m.type = coap::Type::kConfirmable;
    m.message_id = d.mid++;
    m.token = {static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i),
               static_cast<std::uint8_t>(d.mid)};
    cs::UplinkEvent e;
    e.dev_eui = kFirstDevice + i;
    e.f_cnt = d.f_cnt++;
    e.f_port = 2;
    e.confirmed = true;  // Appendix C.3.1
    e.dr = static_cast<std::uint8_t>(dr);
    e.data = coap::encode_udp(m);
    e.deduplication_id = "bench-" + std::to_string(dedup++);
    (void)connection.publish(cs::event_topic(application, e.dev_eui, "up"),
                             to_bytes(cs::to_json(e, application)), 1);
  };
  connection.set_message_handler([&](std::string_view topic, ByteView payload) {
    auto t = cs::parse_topic(topic);
    if (!t || !t->command || t->dev_eui < kFirstDevice ||
        t->dev_eui - kFirstDevice >= devices.size()) {
      return;
    }
    auto c = cs::parse_command(*t, payload);
    if (!c) return;
    // As the network would: the gateway took it, and the device acknowledged it.
    (void)connection.publish(
        cs::event_topic(application, c->dev_eui, "txack"),
        to_bytes(cs::to_json(cs::TxAckEvent{c->dev_eui, c->id, f_cnt_down++}, application)), 1);
    if (c->confirmed) {
      (void)connection.publish(
          cs::event_topic(application, c->dev_eui, "ack"),
          to_bytes(cs::to_json(cs::AckEvent{c->dev_eui, c->id, true, f_cnt_down}, application)), 1);
    }
    auto m = coap::decode_udp(c->data);
    if (!m || m->type != coap::Type::kAcknowledgement || !load) return;
    const std::uint64_t i = t->dev_eui - kFirstDevice;
    if (m->code == coap::codes::kCreated) devices[i].location = m->location_path();
    load->finish(i, m->code.is_success());
  });
  if (auto ok = connection.start(); !ok) throw std::invalid_argument(ok.error().reason);
  const auto give_up = SteadyClock::now() + std::chrono::seconds(10);
  while (!connection.connected() && SteadyClock::now() < give_up) loop.run_once(Duration{50});
  if (!connection.connected()) throw std::runtime_error("no connection to the broker");

  auto objects = *lwm2m::format::link_format::parse_registration("</1/0>,</3/0>,</3303/0>");
  bool registering = true;
  load = std::make_unique<ClosedLoop>(loop, o.clients, o.window, [&](std::uint64_t i) {
    if (registering) {
      // Table 6.8.4-1: the name is the DevEUI, the lifetime 30 days, binding N: left out.
      lwm2m::RegisterRequest reg;
      reg.params.version = "1.2";
      reg.objects = objects;
      return uplink(i, binding::coap_binding::encode_register(reg));
    }
    lwm2m::UpdateRequest update;
    update.location = devices[i].location.substr(devices[i].location.rfind('/') + 1);
    uplink(i, binding::coap_binding::encode_update(update));
  });
  const long rss_before = o.pid != 0 ? rss_kib(o.pid) : -1;
  LoadPhase reg = load->run(o.clients, std::chrono::seconds(600));
  print_registration(reg, o.pid, rss_before);
  registering = false;
  LoadPhase updates = load->run(~std::uint64_t{0}, std::chrono::seconds(o.seconds));
  print_rate("updates", o.clients, o.window, updates);
  return updates.failed == 0 && reg.failed == 0 ? 0 : 1;
}

}  // namespace tether::app
