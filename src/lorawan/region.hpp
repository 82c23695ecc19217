#pragma once
// What a LoRaWAN region allows (LoRaWAN Regional Parameters RP002): the data rates, the
// largest application payload each carries, the time a frame spends on the air and the
// share of time a device may transmit (duty cycle). The simulator enforces these; the
// CoAP side picks block sizes that fit (Transport TS Appendix C, small MTU).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.hpp"

namespace tether::lorawan {

enum class Region : std::uint8_t { kEu868, kUs915 };

struct DataRate {
  std::uint8_t spreading_factor = 12;
  std::uint32_t bandwidth_khz = 125;
  // The largest FRMPayload (application bytes) at this rate, without FOpts (RP002 "N").
  std::size_t max_payload = 51;
};

// "EU868" or "US915" (case-insensitive).
std::optional<Region> parse_region(std::string_view name);
std::string region_name(Region r);
// The data rates a device may use uplink (EU868 DR0-5, US915 DR0-4); nullopt beyond.
std::optional<DataRate> data_rate(Region r, std::uint8_t dr);
std::uint8_t max_data_rate(Region r);
// LoRa time on air (Semtech AN1200.13) of a frame with `payload` application bytes: the
// PHY payload adds 13 (MHDR, FHDR without FOpts, FPort, MIC); 8 preamble symbols, explicit
// header, CRC, coding rate 4/5, low data rate optimisation at SF11-12 on 125 kHz.
Duration time_on_air(const DataRate& rate, std::size_t payload);
// How long a device stays silent after a frame of `airtime` (EU868: 1 % duty cycle, so 99
// times the airtime; US915 has none).
Duration silence_after(Region r, Duration airtime);

}  // namespace tether::lorawan
