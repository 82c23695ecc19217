#include "server/store/redis/redis_slots.hpp"

#include <array>
#include <vector>

namespace tether::server {
namespace {

// CRC16/XMODEM (polynomial 0x1021, initial 0), the one Redis Cluster uses.
std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (const char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    crc = static_cast<std::uint16_t>(crc ^ (byte << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

// The smallest decimal number landing in each slot, found once: about 170,000 numbers
// cover all 16,384 slots.
const std::vector<std::string>& tags() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> out(kRedisSlots);
    std::size_t filled = 0;
    for (std::uint64_t n = 0; filled < kRedisSlots; ++n) {
      std::string text = std::to_string(n);
      auto& tag = out[crc16(text) % kRedisSlots];
      if (!tag.empty()) continue;
      tag = std::move(text);
      ++filled;
    }
    return out;
  }();
  return table;
}

}  // namespace

std::uint16_t key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16(key) % kRedisSlots);
}

const std::string& slot_tag(std::uint16_t slot) {
  return tags().at(slot);
}

std::string key_in_slot(std::uint16_t slot, std::string_view prefix, std::string_view suffix) {
  std::string out(prefix);
  out.append("{").append(slot_tag(slot)).append("}").append(suffix);
  return out;
}

std::string key_in_slot_of(std::string_view key, std::string_view prefix, std::string_view suffix) {
  return key_in_slot(key_slot(key), prefix, suffix);
}

}  // namespace tether::server
