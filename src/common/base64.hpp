#pragma once
// Base64 (RFC 4648 section 4) and base64url (section 5) for opaque values in text formats.
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether {

enum class Base64Alphabet { kStandard, kUrl };

// kStandard pads with '='; kUrl leaves the padding out (as SenML does).
std::string base64_encode(ByteView data, Base64Alphabet alphabet);
// Strict: only the chosen alphabet, padding optional but correct when present, and the
// unused low bits of the last symbol must be zero.
Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet);

}  // namespace tether
