// What reaches the NIDD code from outside: T8 JSON (an SCEF's callbacks, an SCS/AS's
// requests to our simulator) through the SCEF simulator's API, and the lines an NB-IoT modem
// writes (TS 27.007 non-IP data), in input-chosen chunks with sends and timer firings mixed
// in. Nothing may crash, and every bound must hold.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dialogue_fuzz.hpp"
#include "nidd/nidd_modem.hpp"
#include "nidd/scef.hpp"
#include "nidd/t8.hpp"

namespace {
using namespace tether;
using namespace tether::nidd;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_nidd_wire: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView all(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      if (auto n = parse_notification(all)) {
        if (const auto* up = std::get_if<UplinkNotification>(&*n)) {
          if (up->data.empty() || up->data.size() > kMaxPacket) broken("a packet past bounds");
          if (up->ue.empty()) broken("an uplink from nobody");
        }
      }
      (void)parse_configuration(all);
      (void)parse_downlink_transfer(all);
      return 0;
    }
    case 1: {
      // "path\0body" against a SCEF that knows one UE and has one configuration.
      ScefConfig config;
      config.max_buffered = 4;
      Scef scef(config);
      UeId ue;
      ue.external_id = "ue@fuzz";
      scef.add_ue(ue, Instant{});
      (void)scef.handle("POST", "/3gpp-nidd/v1/as/configurations",
                        to_bytes(R"({"externalId":"ue@fuzz",)"
                                 R"("notificationDestination":"http://127.0.0.1:1/n"})"),
                        Instant{});
      const std::string text(all.begin(), all.end());
      const auto nul = text.find('\0');
      const ByteView body = nul == std::string::npos ? ByteView{} : all.subspan(nul + 1);
      const char* methods[] = {"POST", "GET", "DELETE", "PUT"};
      auto a = scef.handle(methods[data[0] / 3 % 4], text.substr(0, nul), body,
                           Instant{} + Duration{120'000});
      if (a.status < 200 || a.status > 599) broken("a status out of range");
      if (scef.buffered(ue) > config.max_buffered) broken("an unbounded buffer");
      scef.on_uplink(ue, Bytes(body.begin(), body.end()), data[0] % 4, Instant{});
      return 0;
    }
    default: {
      NiddModemConfig config;
      config.max_queued = 4;
      NiddModem modem(config);
      Instant now{};
      modem.start(now);
      auto check = [&] {
        while (auto e = modem.poll_event()) {
          if (e->kind == NiddModemEvent::Kind::kReceived &&
              (e->payload.empty() || e->payload.size() > config.max_packet)) {
            broken("a packet past its bounds");
          }
        }
        if (modem.take_output().size() > 4 * 1024) broken("an unbounded command");
      };
      fuzz::drive_dialogue(
          all,
          [&](ByteView chunk) {
            modem.receive(chunk, now);
            check();
          },
          [&](std::uint8_t op, ByteView chunk) {
            (void)modem.send(Bytes(chunk.begin(), chunk.end()),
                             static_cast<ReleaseAssistance>((op >> 6) % 3), now);
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
