#pragma once
// The context inputs the OSCORE layer tests share: one Master Secret and Salt, a one-byte
// Sender and Recipient ID per side, between a client and a server node on the simulated
// network.
#include <cstdint>

#include "coap/message_layer.hpp"
#include "oscore/security_context.hpp"

namespace tether::oscore::fixture {

inline constexpr coap::PeerId kClient = 1;
inline constexpr coap::PeerId kServer = 2;

inline ContextInput side(std::uint8_t sender, std::uint8_t recipient) {
  ContextInput in;
  in.master_secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  in.master_salt = {0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40};
  in.sender_id = {sender};
  in.recipient_id = {recipient};
  return in;
}

}  // namespace tether::oscore::fixture
