// `tether lorawan-ns`: our LoRaWAN network-server simulator (lorawan/network_server) for tests
// and demos. Devices reach it over the simulated radio (UDP datagrams of lorawan/frame on
// --radio-port); the application server reaches it through an MQTT broker, with
// ChirpStack v4's integration topics and JSON. docs/lorawan.md says what it simulates.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "commands.hpp"
#include "common/logfmt.hpp"
#include "lorawan/modem_emulator.hpp"
#include "lorawan/network_server.hpp"
#include "mqtt_service.hpp"
#include "option_table.hpp"
#include "pseudo_terminal.hpp"
#include "service_runtime.hpp"
#include "transport/event_loop.hpp"
#include "transport/mqtt/mqtt_connection.hpp"
#include "transport/socket_address.hpp"

namespace tether::app {

namespace {

const char* const kHelp =
    "usage: tether lorawan-ns [options]\n"
    "A LoRaWAN network server simulator: devices on a simulated radio (UDP), the application\n"
    "server through ChirpStack v4's MQTT integration (docs/lorawan.md).\n"
    "  --broker URL           the MQTT broker, mqtt://HOST[:PORT] (mqtt://127.0.0.1:1883)\n"
    "  --application ID       the application id in the topics (tether)\n"
    "  --region R             EU868 (default) or US915\n"
    "  --radio-host H, --radio-port N  where devices send their frames (127.0.0.1, 0: any free\n"
    "                         port; the started line names it)\n"
    "  --device DEVEUI[:A|C[:DR]]  a device the network knows (repeatable); class A and DR5\n"
    "                         by default; frames from others are dropped\n"
    "  --modem PATH=DEVEUI[:A|C[:DR]]  a device behind a LoRaWAN modem: its AT port (RAK\n"
    "                         RUI3 dialect) is a pseudo-terminal linked at PATH (repeatable)\n"
    "  --log-frames           a line per frame on the air (size, airtime, flags)\n"
    "  --loss P               lose each frame on the air with probability P (0-1)\n"
    "  --seed N               the loss draws' seed (random by default)\n"
    "  --downlink-delay-ms N  what the application queued this soon after an uplink goes in\n"
    "                         its window (200)\n";

// A deterministic generator for --seed (xorshift64*): a test that sets it gets the same
// losses every run.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed == 0 ? 0x9e3779b97f4a7c15ull : seed) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      state_ ^= state_ >> 12;
      state_ ^= state_ << 25;
      state_ ^= state_ >> 27;
      b = static_cast<std::uint8_t>((state_ * 0x2545f4914f6cdd1dull) >> 56);
    }
  }

 private:
  std::uint64_t state_;
};

struct Settings {
  std::string broker = "mqtt://127.0.0.1:1883";
  std::string application = "tether";
  std::string region = "EU868";
  std::string radio_host = "127.0.0.1";
  std::uint16_t radio_port = 0;
  std::vector<std::string> devices;
  std::vector<std::string> modems;
  std::string loss = "0";
  std::uint64_t seed = 0;
  bool seeded = false;
  std::uint32_t downlink_delay_ms = 200;
  bool log_frames = false;
};

Settings parse(const std::vector<std::string>& args) {
  Settings s;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--broker")) {
      s.broker = r.value();
    } else if (r.is("--application")) {
      s.application = r.value();
    } else if (r.is("--region")) {
      s.region = r.value();
    } else if (r.is("--radio-host")) {
      s.radio_host = r.value();
    } else if (r.is("--radio-port")) {
      s.radio_port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--device")) {
      s.devices.push_back(r.value());
    } else if (r.is("--modem")) {
      s.modems.push_back(r.value());
    } else if (r.is("--log-frames")) {
      s.log_frames = true;
    } else if (r.is("--loss")) {
      s.loss = r.value();
    } else if (r.is("--seed")) {
      s.seed = parse_number(r.value(), UINT64_MAX);
      s.seeded = true;
    } else if (r.is("--downlink-delay-ms")) {
      s.downlink_delay_ms = static_cast<std::uint32_t>(parse_number(r.value(), 60'000));
    } else {
      throw std::invalid_argument("unknown option " + r.current() + " (see --help)");
    }
  }
  return s;
}

struct DeviceSpec {
  lorawan::DevEui eui = 0;
  lorawan::DeviceClass device_class = lorawan::DeviceClass::kA;
  std::uint8_t dr = 5;
};

// "DEVEUI[:A|C[:DR]]".
DeviceSpec parse_device(const std::string& spec, lorawan::Region region) {
  DeviceSpec d;
  const auto colon = spec.find(':');
  auto eui = lorawan::parse_dev_eui(spec.substr(0, colon));
  if (!eui) throw std::invalid_argument("device " + spec + ": a DevEUI is 16 hex digits");
  d.eui = *eui;
  if (colon != std::string::npos) {
    const std::string rest = spec.substr(colon + 1);
    const std::string cls = rest.substr(0, rest.find(':'));
    if (cls == "C" || cls == "c") {
      d.device_class = lorawan::DeviceClass::kC;
    } else if (cls != "A" && cls != "a") {
      throw std::invalid_argument("device " + spec + ": class A or C");
    }
    if (rest.find(':') != std::string::npos) {
      d.dr = static_cast<std::uint8_t>(
          parse_number(rest.substr(rest.find(':') + 1), lorawan::max_data_rate(region)));
    }
  }
  return d;
}

// A simulated LoRaWAN modem: its MAC and AT dialect behind a pseudo-terminal, reached by
// clients at its link.
struct SimulatedModem {
  std::unique_ptr<PseudoTerminal> pty;
  std::unique_ptr<lorawan::DeviceMac> mac;
  std::unique_ptr<lorawan::ModemEmulator> emulator;
};

// "PATH=DEVEUI[:A|C[:DR]]".
std::unique_ptr<SimulatedModem> open_modem(const std::string& spec, lorawan::Region region,
                                           lorawan::NetworkServer& ns) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument("--modem PATH=DEVEUI[:A|C[:DR]]");
  }
  const DeviceSpec d = parse_device(spec.substr(eq + 1), region);
  auto m = std::make_unique<SimulatedModem>();
  m->pty = std::make_unique<PseudoTerminal>(spec.substr(0, eq));
  lorawan::DeviceMacConfig c;
  c.dev_eui = d.eui;
  c.region = region;
  c.dr = d.dr;
  c.device_class = d.device_class;
  m->mac = std::make_unique<lorawan::DeviceMac>(c);
  m->emulator = std::make_unique<lorawan::ModemEmulator>(*m->mac);
  ns.add_device(d.eui, d.device_class, d.dr);
  return m;
}

double parse_loss(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double p = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || *end != '\0' || !(p >= 0 && p <= 1)) {
    throw std::invalid_argument("--loss takes a probability, 0 to 1");
  }
  return p;
}

}  // namespace

int lorawan_ns_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
  }
  const Settings s = parse(args);
  auto region = lorawan::parse_region(s.region);
  if (!region) throw std::invalid_argument("--region takes EU868 or US915");
  lorawan::NetworkServerConfig config;
  config.region = *region;
  config.application = s.application;
  config.loss = parse_loss(s.loss);
  config.downlink_data_delay = Duration{s.downlink_delay_ms};
  if (!lorawan::chirpstack::is_application_id(s.application)) {
    throw std::invalid_argument("--application: 1-64 printable characters, no / + #");
  }
  SystemRandom system_random;
  std::uint64_t seed = s.seed;
  if (!s.seeded) {
    std::array<std::uint8_t, 8> b{};
    system_random.fill(b);
    for (auto x : b) seed = (seed << 8) | x;
  }
  SeededRandom random(seed);
  lorawan::NetworkServer ns(config, random);
  for (const auto& spec : s.devices) {
    const DeviceSpec d = parse_device(spec, *region);
    ns.add_device(d.eui, d.device_class, d.dr);
  }
  std::unordered_map<lorawan::DevEui, std::unique_ptr<SimulatedModem>> modems;
  for (const auto& spec : s.modems) {
    auto m = open_modem(spec, *region, ns);
    const auto eui = m->mac->config().dev_eui;
    modems[eui] = std::move(m);
  }

  transport::EventLoop loop;
  log_loop_errors(loop);
  // The radio: one UDP socket; a device is reached at the address its last frame came from.
  auto bind_address = transport::SocketAddress::resolve(s.radio_host, s.radio_port);
  if (!bind_address) throw std::invalid_argument("--radio-host: " + bind_address.error().reason);
  const int fd = ::socket(bind_address->family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, bind_address->get(), bind_address->size()) != 0) {
    throw std::invalid_argument("cannot bind the radio port: " + std::string(std::strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const transport::SocketAddress radio(reinterpret_cast<sockaddr*>(&bound), bound_len);
  std::unordered_map<lorawan::DevEui, transport::SocketAddress> where;
  std::uint64_t bad_frames = 0;

  auto broker_config_ = broker_config(s.broker);
  broker_config_.client_id = random_client_id(system_random);
  transport::MqttConnection broker(loop, broker_config_);
  broker.subscribe(lorawan::chirpstack::command_filter(s.application), 1, true);

  transport::EventLoop::TimerId timer = 0;
  Instant armed{};
  std::uint64_t lost_reported = 0;
  // --log-frames: a line per frame on the air, for bench/lorawan_bench.sh and debugging.
  std::unordered_map<lorawan::DevEui, std::uint8_t> last_dr;  // RX1 uses the uplink's DR
  auto log_frame = [&](const auto& f) {
    if (!s.log_frames || !ns.knows(f.dev_eui)) return;
    constexpr bool up = std::is_same_v<std::decay_t<decltype(f)>, lorawan::Uplink>;
    std::uint8_t dr = 0;
    if constexpr (up) {
      dr = last_dr[f.dev_eui] = f.dr;
    } else {
      dr = last_dr[f.dev_eui];
    }
    const auto rate = lorawan::data_rate(*region, dr);
    log_line(std::string("event=lorawan-frame dir=") + (up ? "up" : "down") +
             " dev=" + lorawan::dev_eui_text(f.dev_eui) + " fcnt=" + std::to_string(f.f_cnt) +
             " port=" + (f.f_port ? std::to_string(*f.f_port) : std::string("-")) +
             " confirmed=" + (f.confirmed ? "1" : "0") + " ack=" + (f.ack ? "1" : "0") +
             " bytes=" + std::to_string(f.payload.size()) +
             " phy_bytes=" + std::to_string(f.payload.size() + 13) + " airtime_ms=" +
             std::to_string(rate ? lorawan::time_on_air(*rate, f.payload.size()).count() : 0));
  };
  auto radio_out = [&](const lorawan::Downlink& down) {
    auto it = where.find(down.dev_eui);
    if (it == where.end()) return;
    const Bytes datagram = lorawan::encode_air(down);
    (void)::sendto(fd, datagram.data(), datagram.size(), 0, it->second.get(), it->second.size());
  };
  std::function<void()> pump = [&] {
    // Each frame the air lost, as a line: tests wait for losses before they judge.
    const auto& c = ns.counters();
    if (c.lost_uplinks + c.lost_downlinks > lost_reported) {
      lost_reported = c.lost_uplinks + c.lost_downlinks;
      log_line("event=lorawan-ns-lost total=" + std::to_string(lost_reported));
    }
    // The simulated modems: their lines, their MACs' frames, their events.
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& [eui, m] : modems) {
        while (auto up = m->mac->poll_transmit()) {
          moved = true;
          log_frame(*up);
          ns.on_uplink(*up, loop.now());
        }
        while (auto e = m->mac->poll_event()) m->emulator->on_mac_event(*e);
        m->pty->write(m->emulator->take_output());
      }
      while (auto down = ns.poll_air()) {
        log_frame(*down);
        if (auto it = modems.find(down->dev_eui); it != modems.end()) {
          moved = true;
          it->second->mac->receive(*down, loop.now());
          continue;
        }
        radio_out(*down);
      }
    }
    while (auto p = ns.poll_publication()) {
      if (auto ok = broker.publish(p->topic, to_bytes(p->json), 1); !ok) {
        log_line("event=lorawan-ns-publish-failed" + logfmt_field("topic", p->topic), "warn");
      }
    }
    auto next = ns.next_deadline();
    for (auto& [eui, m] : modems) {
      auto at = m->mac->next_deadline();
      if (at && (!next || *at < *next)) next = at;
    }
    if (timer != 0 && next && armed == *next) return;
    if (timer != 0) loop.cancel(timer);
    timer = 0;
    if (!next) return;
    armed = *next;
    timer = loop.schedule(*next, [&] {
      timer = 0;
      ns.on_timer(loop.now());
      for (auto& [eui, m] : modems) m->mac->on_timer(loop.now());
      pump();
    });
  };
  broker.set_message_handler([&](std::string_view topic, ByteView payload) {
    ns.on_command(topic, payload, loop.now());
    pump();
  });
  broker.set_state_handler([](bool connected, const std::string& why) {
    log_line(std::string("event=lorawan-ns-broker-") + (connected ? "up" : "down") +
                 logfmt_field("detail", why),
             connected ? "info" : "warn");
  });
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    std::uint8_t buf[lorawan::kMaxAirDatagram + 1];
    for (int i = 0; i < 256; ++i) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t n =
          ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;
      auto up = lorawan::decode_air_uplink(ByteView(buf, static_cast<std::size_t>(n)));
      if (!up) {
        ++bad_frames;
        continue;
      }
      if (ns.knows(up->dev_eui)) {
        where[up->dev_eui] = transport::SocketAddress(reinterpret_cast<sockaddr*>(&from), from_len);
      }
      log_frame(*up);
      ns.on_uplink(*up, loop.now());
    }
    pump();
  });
  for (auto& [eui, m] : modems) {
    loop.watch(m->pty->master(), EPOLLIN, [&, mp = m.get()](std::uint32_t) {
      std::uint8_t buf[1024];
      for (int i = 0; i < 16; ++i) {
        const ssize_t n = ::read(mp->pty->master(), buf, sizeof buf);
        if (n <= 0) break;
        mp->emulator->receive(ByteView(buf, static_cast<std::size_t>(n)), loop.now());
      }
      pump();
    });
  }
  if (auto ok = broker.start(); !ok) throw std::invalid_argument("--broker: " + ok.error().reason);
  log_line("event=lorawan-ns-started" + logfmt_field("radio", radio.to_string()) +
           logfmt_field("broker", s.broker) + logfmt_field("application", s.application) +
           " region=" + lorawan::region_name(*region) +
           " devices=" + std::to_string(s.devices.size() + s.modems.size()) + " loss=" + s.loss);
  install_stop_handlers();
  while (!stop_requested()) loop.run_once(Duration{200});
  const auto& c = ns.counters();
  log_line("event=lorawan-ns-stopped uplinks=" + std::to_string(c.uplinks) + " empty_uplinks=" +
           std::to_string(c.empty_uplinks) + " lost_uplinks=" + std::to_string(c.lost_uplinks) +
           " downlinks=" + std::to_string(c.downlinks) +
           " lost_downlinks=" + std::to_string(c.lost_downlinks) +
           " confirmed_repeats=" + std::to_string(c.confirmed_repeats) +
           " not_acknowledged=" + std::to_string(c.not_acknowledged) +
           " unknown_device=" + std::to_string(c.unknown_device) +
           " bad_uplinks=" + std::to_string(c.bad_uplinks + bad_frames) +
           " repeated_uplinks=" + std::to_string(c.repeated_uplinks) +
           " oversized_downlinks=" + std::to_string(c.oversized_downlinks) +
           " bad_commands=" + std::to_string(c.bad_commands) +
           " duty_cycle_violations=" + std::to_string(c.duty_cycle_violations));
  if (timer != 0) loop.cancel(timer);
  for (auto& [eui, m] : modems) loop.unwatch(m->pty->master());
  loop.unwatch(fd);
  ::close(fd);
  return 0;
}

}  // namespace tether::app
