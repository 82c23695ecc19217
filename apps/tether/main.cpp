// tether: one command, subcommands per role: `tether server` (the LwM2M server, the main
// job), `tether coap` (client tool and test server) and `tether lwm2m` (formats and
// models), `tether bootstrap` (the bootstrap server); the client arrives as a further
// subcommand.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {
void usage(std::FILE* to) {
  std::fputs(
      "usage: tether <command> [args]\n"
      "\n"
      "commands:\n"
      "  server [--coap-port N] [--http-port N] [--data-dir D] LwM2M server + REST API\n"
      "  bootstrap [--coap-port N] [--http-port N] [--configs F] LwM2M bootstrap server\n"
      "  client -e NAME (--server URI | --bootstrap URI)       the LwM2M client\n"
      "  lorawan-ns [--broker URL] [--device DEVEUI]...        LoRaWAN network simulator\n"
      "  scef [--port N] [--ue PATH=UE]...                    NIDD SCEF simulator (T8)\n"
      "  bench register [--clients N] [--updates M] [--pid P] load-test a server's /rd\n"
      "  bench mqtt [--broker URL] [--clients N] [--pid P] [--bare]  the same over MQTT\n"
      "  bench coap-echo --port N [--mmsg] [--threads N [--dispatch]]  the least a CoAP\n"
      "                         server does, for bench register\n"
      "  bench mqtt-echo [--broker URL]  the bare broker round trip, for bench mqtt --bare\n"
      "  bench lorawan [--broker URL] [--clients N] [--pid P]  LoRaWAN devices through\n"
      "                         ChirpStack events, for tether server --lorawan\n"
      "  bench http [--target URL] [--clients N] [--pid P] [--bare]  the same over HTTP(S)\n"
      "  bench http-echo --port N [--cert F --key F]  204 to anything, for bench http --bare\n"
      "  coap get|put|post|delete|fetch|ipatch URI [options]   CoAP client\n"
      "  coap serve [--port N] [--bind HOST]                  CoAP test server (UDP + TCP)\n"
      "  lwm2m decode|encode -f FORMAT [-p PATH] [FILE]       convert payloads to/from JSON\n"
      "  lwm2m models [--models DIR] [-v]                     list object definitions\n"
      "  --version                                            print the version\n"
      "\n"
      "Every command takes --help.\n",
      to);
}

bool asks_for_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    usage(stdout);
    return 0;
  }
  try {
    if (args[0] == "version" || args[0] == "--version" || args[0] == "-V") {
      std::puts("tether " TETHER_VERSION);
      return 0;
    }
    if (args[0] == "coap") {
      args.erase(args.begin());
      if (!args.empty() && args[0] == "serve") {
        args.erase(args.begin());
        // One help text covers the CoAP client and test server.
        if (asks_for_help(args)) return tether::app::coap_client({"--help"});
        return tether::app::coap_serve(args);
      }
      return tether::app::coap_client(args);
    }
    if (args[0] == "server") {
      args.erase(args.begin());
      return tether::app::server_command(args);
    }
    if (args[0] == "bootstrap") {
      args.erase(args.begin());
      return tether::app::bootstrap_command(args);
    }
    if (args[0] == "scef") {
      args.erase(args.begin());
      return tether::app::scef_command(args);
    }
    if (args[0] == "lorawan-ns") {
      args.erase(args.begin());
      return tether::app::lorawan_ns_command(args);
    }
    if (args[0] == "client") {
      args.erase(args.begin());
      return tether::app::client_command(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "register") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_register(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "lorawan") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_lorawan(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "mqtt") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_mqtt(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "http") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_http(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "http-echo") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_http_echo(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "coap-echo") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_coap_echo(args);
    }
    if (args[0] == "bench" && args.size() > 1 && args[1] == "mqtt-echo") {
      args.erase(args.begin(), args.begin() + 2);
      return tether::app::bench_mqtt_echo(args);
    }
    if (args[0] == "bench" && asks_for_help(args)) return tether::app::bench_register({"--help"});
    if (args[0] == "lwm2m") {
      args.erase(args.begin());
      return tether::app::lwm2m_command(args);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tether: %s\n", e.what());
    return 1;
  }
  usage(stderr);
  return 2;
}
