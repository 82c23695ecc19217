#include "sms/secured_packet_peers.hpp"

namespace tether::sms {

std::uint64_t PacketCounters::next_to_send(const std::string& number, std::uint64_t unix_ms) {
  const std::string key(msisdn_digits(number));
  auto it = sent_.find(key);
  const auto next =
      next_counter(it == sent_.end() ? std::nullopt : std::optional(it->second), unix_ms);
  sent_[key] = next;
  return next;
}

std::variant<OpenedPacket, PacketFault> PacketCounters::open(const PacketKeyLookup& keys,
                                                             const std::string& number,
                                                             ByteView packet) {
  auto k = keys(number);
  if (!k) return PacketFault::kNoKeys;
  // By the digits: a number written another way (00..., no "+") is the same phone and must
  // not open a fresh counter for replays.
  const std::string key(msisdn_digits(number));
  auto it = received_.find(key);
  auto opened = open_command_packet(
      *k, packet, it == received_.end() ? std::nullopt : std::optional(it->second));
  if (auto* ok = std::get_if<OpenedPacket>(&opened)) received_[key] = ok->counter;
  return opened;
}

std::optional<Bytes> SecuredPacketPeers::protect(const std::string& to, ByteView coap) {
  auto keys = keys_(to);
  if (!keys) return std::nullopt;
  auto packet = seal_command_packet(*keys, counters_.next_to_send(to, clock_()), coap);
  if (!packet) return std::nullopt;
  return std::move(*packet);
}

std::variant<Bytes, PacketFault> SecuredPacketPeers::unprotect(const std::string& from,
                                                               ByteView packet) {
  auto opened = counters_.open(keys_, from, packet);
  if (auto* fault = std::get_if<PacketFault>(&opened)) return *fault;
  return std::move(std::get<OpenedPacket>(opened).coap);
}

}  // namespace tether::sms
