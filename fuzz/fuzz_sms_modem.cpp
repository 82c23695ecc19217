// The AT modem dialogue (27.005 PDU mode) fed an arbitrary byte stream from the serial line
// in input-chosen chunks, with sends and timer firings mixed in; and the concatenated-SMS
// reassembler fed arbitrary parts. Nothing may crash, and every bound must hold.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sms/at_modem.hpp"
#include "sms/concatenation.hpp"

namespace {
using namespace tether;
using namespace tether::sms;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_sms_modem: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  AtModemConfig config;
  config.own_number = "+4915550001";
  config.max_queued = 4;
  AtModem modem(config);
  ReassemblyLimits limits;
  limits.max_parts = 8;
  limits.max_pending_per_sender = 2;
  limits.max_pending_bytes = 4096;
  Reassembler reassembler(limits);
  Instant now{};
  modem.start(now);
  std::size_t at = 0;
  while (at < size) {
    const std::uint8_t op = data[at++];
    const std::size_t n = std::min<std::size_t>(op >> 2, size - at);
    const ByteView chunk(data + at, n);
    at += n;
    switch (op & 0x03) {
      case 0:
        modem.receive(chunk, now);
        break;
      case 1: {
        ShortMessage m;
        m.to = "+4915559999";
        m.data.assign(chunk.begin(), chunk.end());
        (void)modem.send(m, now);
        break;
      }
      case 2:
        now += Duration{n * 1000};
        modem.on_timer(now);
        reassembler.expire(now);
        break;
      default: {
        // A part: the first octets a header when they look like one.
        const std::size_t header = n > 0 ? std::min<std::size_t>(chunk[0] + 1u, n) : 0;
        auto whole = reassembler.add(n % 2 == 0 ? "+1" : "+2", chunk.subspan(0, header),
                                     chunk.subspan(header), now);
        if (whole && whole->size() > limits.max_parts * kMaxUserData) {
          broken("a reassembled message over its parts' bound");
        }
        if (reassembler.pending() > 2 * limits.max_pending_per_sender) {
          broken("more pending messages than the limits allow");
        }
        break;
      }
    }
    (void)modem.take_output();
    while (auto m = modem.poll_received()) {
      if (m->udh.size() + m->data.size() > kMaxUserData) broken("received over 140 octets");
    }
    while (modem.poll_event()) {
    }
    if (modem.queued() > config.max_queued) broken("send queue over its bound");
  }
  return 0;
}
