#pragma once
// Reads a fuzzer's input as a modem dialogue: steps of one op byte and as many bytes as its
// upper six bits say. The op's low two bits choose what the step does: 0 or 1 feed the bytes
// to the driver as the serial line's, 2 sends them (the op goes along for its flags), 3 fires
// the driver's timer.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"

namespace tether::fuzz {

template <typename Receive, typename Send, typename Timer>
void drive_dialogue(ByteView input, Receive&& receive, Send&& send, Timer&& timer) {
  std::size_t at = 0;
  while (at < input.size()) {
    const std::uint8_t op = input[at++];
    const std::size_t n = std::min<std::size_t>(op >> 2, input.size() - at);
    const ByteView chunk = input.subspan(at, n);
    at += n;
    switch (op & 0x03) {
      case 0:
      case 1:
        receive(chunk);
        break;
      case 2:
        send(op, chunk);
        break;
      default:
        timer();
        break;
    }
  }
}

}  // namespace tether::fuzz
