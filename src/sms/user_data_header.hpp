#pragma once
// The user data header (3GPP TS 23.040 9.2.3.24): a length octet, then information
// elements as id, length, value. We read and write the concatenation elements (8-bit and
// 16-bit reference); other elements pass through untouched.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.hpp"

namespace tether::sms {

struct InformationElement {
  std::uint8_t id = 0;
  Bytes value;
};

// `udh` starts with its length octet (UDHL), as it sits at the front of TP-UD. Fails when
// the length octet or an element's length runs past the end, or bytes follow the header.
Result<std::vector<InformationElement>> parse_udh(ByteView udh);
Bytes build_udh(const std::vector<InformationElement>& elements);

// 23.040 9.2.3.24.1 and 9.2.3.24.8: one part of a concatenated message.
struct ConcatPart {
  std::uint16_t reference = 0;
  std::uint8_t total = 0;     // 1..255
  std::uint8_t sequence = 0;  // 1..total
};

inline constexpr std::uint8_t kConcat8 = 0x00;
inline constexpr std::uint8_t kConcat16 = 0x08;

// The concatenation element of a header, if it has a valid one (a total or sequence of 0,
// or a sequence past the total, is no concatenation: 23.040 says to ignore the element).
std::optional<ConcatPart> concat_part(const std::vector<InformationElement>& elements);
InformationElement concat_element(const ConcatPart& part);

}  // namespace tether::sms
