#include "common/base64.hpp"

#include <array>

namespace tether {
namespace {

constexpr std::string_view kStandardChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<int, 256> reverse_table(std::string_view chars) {
  std::array<int, 256> t{};
  t.fill(-1);
  for (std::size_t i = 0; i < chars.size(); ++i) t[static_cast<unsigned char>(chars[i])] = int(i);
  return t;
}

}  // namespace

std::string base64_encode(ByteView data, Base64Alphabet alphabet) {
  auto chars = alphabet == Base64Alphabet::kUrl ? kUrlChars : kStandardChars;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    unsigned n = unsigned(data[i]) << 16 | unsigned(data[i + 1]) << 8 | data[i + 2];
    out += chars[n >> 18 & 63];
    out += chars[n >> 12 & 63];
    out += chars[n >> 6 & 63];
    out += chars[n & 63];
  }
  std::size_t rest = data.size() - i;
  if (rest > 0) {
    unsigned n = unsigned(data[i]) << 16 | (rest == 2 ? unsigned(data[i + 1]) << 8 : 0u);
    out += chars[n >> 18 & 63];
    out += chars[n >> 12 & 63];
    if (rest == 2) out += chars[n >> 6 & 63];
    if (alphabet == Base64Alphabet::kStandard) out.append(3 - rest, '=');
  }
  return out;
}

Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet) {
  static const auto kStandard = reverse_table(kStandardChars);
  static const auto kUrl = reverse_table(kUrlChars);
  const auto& table = alphabet == Base64Alphabet::kUrl ? kUrl : kStandard;
  if (text.size() % 4 == 0 && !text.empty()) {
    std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    text.remove_suffix(pad);
  }
  if (text.size() % 4 == 1) return fail("base64 text has an impossible length");
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return fail("invalid base64 character");
    acc = (acc << 6 | unsigned(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return fail("base64 text has non-zero trailing bits");
  return out;
}

}  // namespace tether
