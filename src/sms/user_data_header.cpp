#include "sms/user_data_header.hpp"

namespace tether::sms {

Result<std::vector<InformationElement>> parse_udh(ByteView udh) {
  if (udh.empty()) return fail("empty user data header");
  const std::size_t length = udh[0];
  if (length + 1 != udh.size()) return fail("user data header length does not match");
  std::vector<InformationElement> out;
  std::size_t at = 1;
  while (at < udh.size()) {
    if (at + 2 > udh.size()) return fail("information element cut short");
    const std::uint8_t id = udh[at];
    const std::size_t len = udh[at + 1];
    at += 2;
    if (at + len > udh.size()) return fail("information element runs past the header");
    out.push_back({id, Bytes(udh.begin() + static_cast<std::ptrdiff_t>(at),
                             udh.begin() + static_cast<std::ptrdiff_t>(at + len))});
    at += len;
  }
  return out;
}

Bytes build_udh(const std::vector<InformationElement>& elements) {
  Bytes out{0};
  for (const auto& e : elements) {
    out.push_back(e.id);
    out.push_back(static_cast<std::uint8_t>(e.value.size()));
    out.insert(out.end(), e.value.begin(), e.value.end());
  }
  out[0] = static_cast<std::uint8_t>(out.size() - 1);
  return out;
}

std::optional<ConcatPart> concat_part(const std::vector<InformationElement>& elements) {
  for (const auto& e : elements) {
    ConcatPart p;
    if (e.id == kConcat8 && e.value.size() == 3) {
      p = {e.value[0], e.value[1], e.value[2]};
    } else if (e.id == kConcat16 && e.value.size() == 4) {
      p = {static_cast<std::uint16_t>((e.value[0] << 8) | e.value[1]), e.value[2], e.value[3]};
    } else {
      continue;
    }
    if (p.total == 0 || p.sequence == 0 || p.sequence > p.total) return std::nullopt;
    return p;
  }
  return std::nullopt;
}

InformationElement concat_element(const ConcatPart& part) {
  return {kConcat8, {static_cast<std::uint8_t>(part.reference & 0xFF), part.total, part.sequence}};
}

}  // namespace tether::sms
