#include "sms/secured_packet_peers.hpp"

namespace tether::sms {

std::uint64_t PacketCounters::next_to_send(const std::string& number, std::uint64_t unix_ms) {
  auto it = sent_.find(number);
  const auto next =
      next_counter(it == sent_.end() ? std::nullopt : std::optional(it->second), unix_ms);
  sent_[number] = next;
  return next;
}

std::optional<std::uint64_t> PacketCounters::last_received(const std::string& number) const {
  auto it = received_.find(number);
  if (it == received_.end()) return std::nullopt;
  return it->second;
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
  auto keys = keys_(from);
  if (!keys) return PacketFault::kNoKeys;
  auto opened = open_command_packet(*keys, packet, counters_.last_received(from));
  if (auto* fault = std::get_if<PacketFault>(&opened)) return *fault;
  auto& ok = std::get<OpenedPacket>(opened);
  counters_.received(from, ok.counter);
  return std::move(ok.coap);
}

}  // namespace tether::sms
