#include "coap/option.hpp"

#include <algorithm>

namespace tether::coap {

namespace option {
namespace {
struct Info {
  std::uint16_t number;
  std::uint16_t min_len;
  std::uint16_t max_len;
  const char* name;
};
// RFC 7252 table 4, RFC 7641, RFC 7959, RFC 8613, RFC 9175, RFC 7967, RFC 8768.
constexpr Info kKnown[] = {
    {kIfMatch, 0, 8, "If-Match"},
    {kUriHost, 1, 255, "Uri-Host"},
    {kETag, 1, 8, "ETag"},
    {kIfNoneMatch, 0, 0, "If-None-Match"},
    {kObserve, 0, 3, "Observe"},
    {kUriPort, 0, 2, "Uri-Port"},
    {kLocationPath, 0, 255, "Location-Path"},
    {kOscore, 0, 255, "OSCORE"},
    {kUriPath, 0, 255, "Uri-Path"},
    {kContentFormat, 0, 2, "Content-Format"},
    {kMaxAge, 0, 4, "Max-Age"},
    {kUriQuery, 0, 255, "Uri-Query"},
    {kHopLimit, 1, 1, "Hop-Limit"},
    {kAccept, 0, 2, "Accept"},
    {kLocationQuery, 0, 255, "Location-Query"},
    {kBlock2, 0, 3, "Block2"},
    {kBlock1, 0, 3, "Block1"},
    {kSize2, 0, 4, "Size2"},
    {kProxyUri, 1, 1034, "Proxy-Uri"},
    {kProxyScheme, 1, 255, "Proxy-Scheme"},
    {kSize1, 0, 4, "Size1"},
    {kEcho, 1, 40, "Echo"},
    {kNoResponse, 0, 1, "No-Response"},
    {kRequestTag, 0, 8, "Request-Tag"},
};
const Info* info(std::uint16_t number) {
  for (const auto& i : kKnown) {
    if (i.number == number) return &i;
  }
  return nullptr;
}
}  // namespace

bool is_known(std::uint16_t number) {
  // OSCORE and Proxy-* are recognised by number but not processed yet.
  return info(number) != nullptr && number != kOscore && number != kProxyUri &&
         number != kProxyScheme;
}

bool has_valid_length(std::uint16_t number, std::size_t length) {
  const Info* i = info(number);
  return i == nullptr || (length >= i->min_len && length <= i->max_len);
}

const char* name(std::uint16_t number) {
  const Info* i = info(number);
  return i ? i->name : "Unknown";
}
}  // namespace option

Bytes encode_uint(std::uint64_t v) {
  Bytes out;
  while (v != 0) {
    out.insert(out.begin(), static_cast<std::uint8_t>(v & 0xff));
    v >>= 8;
  }
  return out;
}

OptionBytes uint_option(std::uint64_t v) {
  std::uint8_t be[8];
  std::size_t n = 0;
  for (; v != 0; v >>= 8) be[7 - n++] = static_cast<std::uint8_t>(v & 0xff);
  return OptionBytes(ByteView(be + 8 - n, n));
}

std::optional<std::uint64_t> decode_uint(ByteView v, std::size_t max_len) {
  if (v.size() > max_len) return std::nullopt;
  std::uint64_t out = 0;
  for (auto b : v) out = (out << 8) | b;
  return out;
}

void Options::add(std::uint16_t number, OptionBytes value) {
  auto it = std::upper_bound(list_.begin(), list_.end(), number,
                             [](std::uint16_t n, const Option& o) { return n < o.number; });
  list_.insert(it, Option{number, std::move(value)});
}

void Options::set(std::uint16_t number, OptionBytes value) {
  remove(number);
  add(number, std::move(value));
}

void Options::remove(std::uint16_t number) {
  std::erase_if(list_, [number](const Option& o) { return o.number == number; });
}

const Option* Options::find(std::uint16_t number) const {
  for (const auto& o : list_) {
    if (o.number == number) return &o;
    if (o.number > number) break;
  }
  return nullptr;
}

std::vector<const Option*> Options::all(std::uint16_t number) const {
  std::vector<const Option*> out;
  for (const auto& o : list_) {
    if (o.number == number) out.push_back(&o);
  }
  return out;
}

std::optional<std::uint64_t> Options::get_uint(std::uint16_t number) const {
  const Option* o = find(number);
  if (o == nullptr) return std::nullopt;
  return decode_uint(o->value);
}

std::vector<std::string> Options::strings(std::uint16_t number) const {
  std::vector<std::string> out;
  for (const auto* o : all(number)) out.push_back(to_string(o->value));
  return out;
}

}  // namespace tether::coap
