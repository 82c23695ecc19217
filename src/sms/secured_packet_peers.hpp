#pragma once
// The server's side of SMS Secured Packet Structure mode (Transport TS 5.4.2.1.3): keys per
// device number, the counter we send with and the last counter each device sent us.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "sms/secured_packet.hpp"
#include "sms/short_message.hpp"

namespace tether::sms {

// What the keys of a number are (nothing: a number we hold no keys for), and the wall clock
// in milliseconds for counters.
using PacketKeyLookup = std::function<std::optional<SecuredPacketKeys>(const std::string&)>;
using UnixClock = std::function<std::uint64_t()>;

// The last counters per phone (by sms::msisdn_digits), sent and received. Only numbers with
// keys get an entry.
class PacketCounters {
 public:
  std::uint64_t next_to_send(const std::string& number, std::uint64_t unix_ms);
  // Opens a command packet from `number` with its keys and, when it opens, records its
  // counter as the last received.
  std::variant<OpenedPacket, PacketFault> open(const PacketKeyLookup& keys,
                                               const std::string& number, ByteView packet);

 private:
  std::unordered_map<std::string, std::uint64_t> sent_;
  std::unordered_map<std::string, std::uint64_t> received_;
};

class SecuredPacketPeers final : public PacketProtection {
 public:
  SecuredPacketPeers(PacketKeyLookup keys, UnixClock clock)
      : keys_(std::move(keys)), clock_(std::move(clock)) {}
  std::optional<Bytes> protect(const std::string& to, ByteView coap) override;
  std::variant<Bytes, PacketFault> unprotect(const std::string& from, ByteView packet) override;

 private:
  PacketKeyLookup keys_;
  UnixClock clock_;
  PacketCounters counters_;
};

}  // namespace tether::sms
