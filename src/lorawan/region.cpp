#include "lorawan/region.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

namespace tether::lorawan {

namespace {
// RP002-1.0.3, EU863-870 uplink DR0-5, "N" (no FOpts).
constexpr std::array<DataRate, 6> kEu868{
    {{12, 125, 51}, {11, 125, 51}, {10, 125, 51}, {9, 125, 115}, {8, 125, 222}, {7, 125, 222}}};
// US902-928 uplink DR0-4 (DR4 is SF8 on 500 kHz).
constexpr std::array<DataRate, 5> kUs915{
    {{10, 125, 11}, {9, 125, 53}, {8, 125, 125}, {7, 125, 242}, {8, 500, 242}}};
}  // namespace

std::optional<Region> parse_region(std::string_view name) {
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "eu868") return Region::kEu868;
  if (n == "us915") return Region::kUs915;
  return std::nullopt;
}

std::string region_name(Region r) {
  return r == Region::kEu868 ? "EU868" : "US915";
}

std::optional<DataRate> data_rate(Region r, std::uint8_t dr) {
  if (r == Region::kEu868) {
    if (dr < kEu868.size()) return kEu868[dr];
  } else if (dr < kUs915.size()) {
    return kUs915[dr];
  }
  return std::nullopt;
}

std::uint8_t max_data_rate(Region r) {
  return static_cast<std::uint8_t>((r == Region::kEu868 ? kEu868.size() : kUs915.size()) - 1);
}

Duration time_on_air(const DataRate& rate, std::size_t payload) {
  const double sf = rate.spreading_factor;
  const double symbol_ms = std::pow(2.0, sf) / static_cast<double>(rate.bandwidth_khz);
  const double low_rate = (rate.bandwidth_khz == 125 && rate.spreading_factor >= 11) ? 1 : 0;
  const double phy = static_cast<double>(payload + 13);
  const double coding_rate = 1;                    // 4/5
  const double bits = 8 * phy - 4 * sf + 28 + 16;  // CRC on, explicit header
  const double symbols =
      8 + std::max(std::ceil(bits / (4 * (sf - 2 * low_rate))) * (coding_rate + 4), 0.0);
  const double total_ms = (8 + 4.25) * symbol_ms + symbols * symbol_ms;
  return Duration{static_cast<std::int64_t>(std::ceil(total_ms))};
}

Duration silence_after(Region r, Duration airtime) {
  return r == Region::kEu868 ? airtime * 99 : Duration{0};
}

}  // namespace tether::lorawan
