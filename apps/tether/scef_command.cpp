// `tether scef`: our SCEF simulator (nidd/scef) for tests and demos (Transport TS Appendix
// D.3). The T8 NIDD API (TS 29.122) over HTTP on one side, for an SCS/AS such as `tether
// server --nidd`; on the other, UEs whose modems are pseudo-terminals speaking the TS 27.007
// non-IP commands (nidd/nidd_modem_emulator), for `tether client --nidd-modem`. It keeps
// what a network in PSM imposes: MT data for a sleeping UE is buffered (D.6) until it sends
// or its periodic TAU wakes it. docs/nidd.md says what it simulates.
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include "commands.hpp"
#include "common/logfmt.hpp"
#include "nidd/nidd_modem_emulator.hpp"
#include "nidd/scef.hpp"
#include "option_table.hpp"
#include "pseudo_terminal.hpp"
#include "service_runtime.hpp"
#include "transport/event_loop.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"

namespace tether::app {

namespace {

const char* const kHelp =
    "usage: tether scef [options]\n"
    "An SCEF simulator: the T8 NIDD API (TS 29.122) for SCS/AS such as tether server --nidd,\n"
    "and UEs behind simulated NB-IoT modems (TS 27.007 non-IP data; docs/nidd.md).\n"
    "  --host H, --port N     where the T8 API listens (127.0.0.1, 8090; 0: any free port,\n"
    "                         the started line names it)\n"
    "  --ue PATH=UE           a UE (External Identifier or MSISDN) whose modem's AT port is\n"
    "                         a pseudo-terminal linked at PATH (repeatable)\n"
    "  --periodic-tau S       T3412 of UEs whose modem set none (3600)\n"
    "  --active-time S        T3324 likewise (60)\n"
    "  --connected-inactivity S  how long a UE stays connected after its last packet when\n"
    "                         its release assistance indication does not say (10)\n"
    "  --max-packet N         the largest non-IP packet (1358)\n"
    "  --max-buffered N       MT packets buffered per sleeping UE (32)\n"
    "  --log-packets          a line per packet, each way\n";

struct Settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8090;
  std::vector<std::string> ues;
  std::uint32_t periodic_tau_s = 3600;
  std::uint32_t active_time_s = 60;
  std::uint32_t connected_inactivity_s = 10;
  std::uint32_t max_packet = 1358;
  std::uint32_t max_buffered = 32;
  bool log_packets = false;
};

Settings parse(const std::vector<std::string>& args) {
  Settings s;
  ArgReader r(args);
  auto seconds = [&](std::uint64_t max) {
    return static_cast<std::uint32_t>(parse_number(r.value(), max));
  };
  while (r.next()) {
    if (r.is("--host")) {
      s.host = r.value();
    } else if (r.is("--port")) {
      s.port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--ue")) {
      s.ues.push_back(r.value());
    } else if (r.is("--periodic-tau")) {
      s.periodic_tau_s = seconds(992u * 86'400);
    } else if (r.is("--active-time")) {
      s.active_time_s = seconds(31u * 360);
    } else if (r.is("--connected-inactivity")) {
      s.connected_inactivity_s = seconds(3600);
    } else if (r.is("--max-packet")) {
      s.max_packet = static_cast<std::uint32_t>(parse_number(r.value(), nidd::kMaxPacket));
      if (s.max_packet < 16) throw std::invalid_argument("--max-packet: 16 to 1358");
    } else if (r.is("--max-buffered")) {
      s.max_buffered = static_cast<std::uint32_t>(parse_number(r.value(), 100'000));
    } else if (r.is("--log-packets")) {
      s.log_packets = true;
    } else {
      throw std::invalid_argument("unknown option " + r.current() + " (see --help)");
    }
  }
  return s;
}

// A UE's simulated modem behind its pseudo-terminal.
struct SimulatedUe {
  nidd::UeId id;
  std::unique_ptr<PseudoTerminal> pty;
  std::unique_ptr<nidd::NiddModemEmulator> modem;
  std::optional<std::pair<Duration, Duration>> psm;  // as last applied
};

// "PATH=UE".
std::unique_ptr<SimulatedUe> open_ue(const std::string& spec, std::size_t max_packet) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) throw std::invalid_argument("--ue PATH=UE");
  auto id = nidd::parse_ue(spec.substr(eq + 1));
  if (!id) throw std::invalid_argument("--ue " + spec + ": an External Identifier or an MSISDN");
  auto u = std::make_unique<SimulatedUe>();
  u->id = *id;
  u->pty = std::make_unique<PseudoTerminal>(spec.substr(0, eq));
  u->modem = std::make_unique<nidd::NiddModemEmulator>(1, max_packet);
  return u;
}

// "http://127.0.0.1:9000/nidd?token=x" -> its origin and its target.
std::optional<std::pair<std::string, std::string>> split_url(const std::string& url) {
  const std::size_t start = url.rfind("https://", 0) == 0 ? 8 : 7;
  if (url.rfind("http://", 0) != 0 && start == 7) return std::nullopt;
  const auto slash = url.find('/', start);
  std::string origin = url.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : url.substr(slash);
  if (!transport::parse_origin(origin)) return std::nullopt;
  return std::make_pair(std::move(origin), std::move(target));
}

}  // namespace

int scef_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
  }
  const Settings s = parse(args);
  std::vector<std::unique_ptr<SimulatedUe>> ues;
  for (const auto& spec : s.ues) ues.push_back(open_ue(spec, s.max_packet));

  transport::EventLoop loop;
  log_loop_errors(loop);
  std::unique_ptr<nidd::Scef> scef;  // made once the port is known (its links name it)
  transport::HttpClient callbacks(loop, transport::HttpClientOptions{});
  transport::EventLoop::TimerId timer = 0;
  std::uint64_t callback_failures = 0;

  std::function<void()> pump = [&] {
    const Instant now = loop.now();
    for (auto& u : ues) {
      // AT+CPSMS: the timers the UE asked for are the ones the network applies.
      if (u->modem->periodic_tau() && u->modem->active_time()) {
        const std::pair<Duration, Duration> psm{*u->modem->periodic_tau(),
                                                *u->modem->active_time()};
        if (u->psm != psm) {
          u->psm = psm;
          scef->set_psm(u->id, psm.first, psm.second);
          log_line("event=scef-psm" + logfmt_field("ue", u->id.key()) +
                   " t3412_s=" + std::to_string(psm.first.count() / 1000) +
                   " t3324_s=" + std::to_string(psm.second.count() / 1000));
        }
      }
      while (auto up = u->modem->poll_uplink()) {
        if (s.log_packets) {
          log_line("event=scef-uplink" + logfmt_field("ue", u->id.key()) +
                   " bytes=" + std::to_string(up->first.size()) +
                   " rai=" + std::to_string(static_cast<unsigned>(up->second)));
        }
        scef->on_uplink(u->id, std::move(up->first), static_cast<unsigned>(up->second), now);
      }
    }
    while (auto down = scef->poll_downlink()) {
      for (auto& u : ues) {
        if (u->id != down->first) continue;
        if (s.log_packets) {
          log_line("event=scef-downlink" + logfmt_field("ue", u->id.key()) +
                   " bytes=" + std::to_string(down->second.size()));
        }
        u->modem->deliver(down->second);
      }
    }
    for (auto& u : ues) {
      u->pty->write(u->modem->take_output());
    }
    while (auto cb = scef->poll_callback()) {
      auto where = split_url(cb->url);
      if (!where) {
        ++callback_failures;
        log_line("event=scef-callback-failed" + logfmt_field("url", cb->url) +
                     " detail=\"not an http URL with an IP address\"",
                 "warn");
        continue;
      }
      http::Request r;
      r.method = "POST";
      r.target = where->second;
      r.headers.set("Content-Type", "application/json");
      r.body = std::move(cb->json);
      callbacks.request(where->first, std::move(r),
                        [&callback_failures, url = cb->url](Result<http::Response> answer) {
                          if (answer && answer->status / 100 == 2) return;
                          ++callback_failures;
                          log_line(
                              "event=scef-callback-failed" + logfmt_field("url", url) +
                                  logfmt_field("detail", answer ? std::to_string(answer->status)
                                                                : answer.error().reason),
                              "warn");
                        });
    }
    if (timer != 0) loop.cancel(timer);
    timer = 0;
    if (auto next = scef->next_deadline()) {
      timer = loop.schedule(*next, [&] {
        timer = 0;
        scef->on_timer(loop.now());
        pump();
      });
    }
  };

  transport::HttpServerOptions hs;
  hs.host = s.host;
  hs.port = s.port;
  hs.limits.max_body_bytes = 8 * 1024;
  transport::HttpServer api(
      loop, hs, [&](const http::Request& request, transport::HttpServer::Responder r) {
        auto answer =
            scef->handle(request.method, request.path, to_bytes(request.body), loop.now());
        http::Response response;
        response.status = answer.status;
        if (!answer.body.empty()) {
          response.headers.set("Content-Type", "application/json");
          response.body = std::move(answer.body);
        }
        if (!answer.location.empty()) {
          response.headers.set("Location", answer.location);
        }
        r.respond(std::move(response));
        pump();
      });
  if (auto ok = api.start(); !ok) throw std::invalid_argument("--port: " + ok.error().reason);
  nidd::ScefConfig config;
  config.base_url = "http://" +
                    (s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host) + ":" +
                    std::to_string(api.port());
  config.max_packet = s.max_packet;
  config.max_buffered = s.max_buffered;
  config.periodic_tau = Duration{std::int64_t{s.periodic_tau_s} * 1000};
  config.active_time = Duration{std::int64_t{s.active_time_s} * 1000};
  config.connected_inactivity = Duration{std::int64_t{s.connected_inactivity_s} * 1000};
  scef = std::make_unique<nidd::Scef>(config);
  for (auto& u : ues) {
    scef->add_ue(u->id, loop.now());
    loop.watch(u->pty->master(), EPOLLIN, [&, up = u.get()](std::uint32_t) {
      std::uint8_t buf[1024];
      for (int i = 0; i < 16; ++i) {
        const ssize_t n = ::read(up->pty->master(), buf, sizeof buf);
        if (n <= 0) break;
        up->modem->receive(ByteView(buf, static_cast<std::size_t>(n)));
      }
      pump();
    });
  }
  pump();
  log_line("event=scef-started" + logfmt_field("api", config.base_url) +
           " ues=" + std::to_string(ues.size()) + " t3412_s=" + std::to_string(s.periodic_tau_s) +
           " t3324_s=" + std::to_string(s.active_time_s));
  install_stop_handlers();
  while (!stop_requested()) loop.run_once(Duration{200});
  const auto& c = scef->counters();
  log_line("event=scef-stopped uplinks=" + std::to_string(c.uplinks) +
           " delivered=" + std::to_string(c.delivered) + " buffered=" + std::to_string(c.buffered) +
           " expired=" + std::to_string(c.expired) + " refused=" + std::to_string(c.refused) +
           " unknown_ue=" + std::to_string(c.unknown_ue) +
           " callback_failures=" + std::to_string(callback_failures));
  if (timer != 0) loop.cancel(timer);
  for (auto& u : ues) loop.unwatch(u->pty->master());
  return 0;
}

}  // namespace tether::app
