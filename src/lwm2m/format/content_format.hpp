#pragma once
// Content-Format numbers of the LwM2M formats (Core TS 7.1; RFC 7252 12.3 registry).
#include <cstdint>
#include <optional>
#include <string_view>

namespace tether::lwm2m::format {

enum class ContentFormat : std::uint16_t {
  kText = 0,
  kLinkFormat = 40,
  kOpaque = 42,
  kSenmlJson = 110,
  kSenmlCbor = 112,
  kSenmlEtchJson = 320,
  kSenmlEtchCbor = 322,
  kTlv = 11542,
  kOldJson = 11543,  // LwM2M 1.0 JSON: decoded, never produced
  kLwm2mCbor = 11544,
};

std::optional<ContentFormat> content_format_from(std::uint16_t number);
std::string_view name_of(ContentFormat format);

}  // namespace tether::lwm2m::format
