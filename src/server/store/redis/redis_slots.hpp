#pragma once
// Redis Cluster's key slots (the cluster specification's CRC16 of the key's hash tag,
// modulo 16384), and for each slot a short tag that lands in it. A per-slot index key
// built with that tag shares its slot with the records it lists, so one script or
// MULTI/EXEC can write both, in a cluster as on a single Redis.
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::server {

inline constexpr std::uint16_t kRedisSlots = 16384;

// The slot of `key`: the CRC16 of the text between its first '{' and the next '}' when
// that is not empty, else of the whole key.
std::uint16_t key_slot(std::string_view key);
// A tag (decimal digits) whose slot is `slot`: `prefix{tag}suffix` is in that slot.
const std::string& slot_tag(std::uint16_t slot);
// `prefix{tag}suffix`, in the slot of `key`.
std::string key_in_slot_of(std::string_view key, std::string_view prefix, std::string_view suffix);
// `prefix{tag}suffix` for the given slot.
std::string key_in_slot(std::uint16_t slot, std::string_view prefix, std::string_view suffix);

}  // namespace tether::server
