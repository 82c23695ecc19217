// What reaches the LoRaWAN code from outside: ChirpStack integration topics and JSON (a
// broker anyone with its credentials publishes to), the simulator's radio datagrams, and the
// lines a LoRaWAN modem writes on its serial port (RUI3), in input-chosen chunks with sends
// and timer firings mixed in. Nothing may crash, and every bound must hold.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dialogue_fuzz.hpp"
#include "lorawan/at_modem.hpp"
#include "lorawan/chirpstack.hpp"
#include "lorawan/frame.hpp"

namespace {
using namespace tether;
using namespace tether::lorawan;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_lorawan_wire: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView all(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      // "topic\0json"
      const std::string text(all.begin(), all.end());
      const auto nul = text.find('\0');
      auto topic = chirpstack::parse_topic(text.substr(0, nul));
      if (!topic) return 0;
      const ByteView json = nul == std::string::npos ? ByteView{} : all.subspan(nul + 1);
      if (topic->command) {
        auto c = chirpstack::parse_command(*topic, json);
        if (c && (c->data.size() > chirpstack::kMaxData || !is_application_port(c->f_port))) {
          broken("a command past its bounds");
        }
      } else if (auto e = chirpstack::parse_event(*topic, json); e && *e) {
        if (auto* up = std::get_if<chirpstack::UplinkEvent>(&**e)) {
          if (up->data.size() > chirpstack::kMaxData) broken("an uplink past its bounds");
          if (up->dev_eui != topic->dev_eui) broken("an uplink for another device");
        }
      }
      return 0;
    }
    case 1: {
      auto up = decode_air_uplink(all);
      if (up && decode_air_uplink(encode_air(*up))->payload != up->payload) {
        broken("an uplink that does not read back");
      }
      auto down = decode_air_downlink(all);
      if (down && down->payload.size() > kMaxAirDatagram) broken("a downlink past its bounds");
      return 0;
    }
    default: {
      AtModemConfig config;
      config.max_queued = 4;
      AtModem modem(config);
      Instant now{};
      modem.start(now);
      auto check = [&] {
        while (auto e = modem.poll_event()) {
          if (e->kind == AtModemEvent::Kind::kReceived && e->payload.size() > 255) {
            broken("a downlink past its bounds");
          }
        }
        if (modem.take_output().size() > 2 * 1024) broken("an unbounded command");
      };
      fuzz::drive_dialogue(
          all,
          [&](ByteView chunk) {
            modem.receive(chunk, now);
            check();
          },
          [&](std::uint8_t op, ByteView chunk) {
            (void)modem.send(2, Bytes(chunk.begin(), chunk.end()), (op & 0x80) != 0, now);
            check();
          },
          [&] {
            if (auto next = modem.next_deadline()) now = std::max(now, *next);
            modem.on_timer(now);
            check();
          });
      return 0;
    }
  }
}
