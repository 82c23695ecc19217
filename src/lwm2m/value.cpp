#include "lwm2m/value.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/base64.hpp"
#include "common/text.hpp"

namespace tether::lwm2m {
namespace {

constexpr std::array<std::string_view, 10> kTypeNames = {
    "none",    "String", "Integer", "Unsigned Integer", "Float",
    "Boolean", "Opaque", "Time",    "Objlnk",           "Corelnk"};

template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T v{};
  if (text.empty() || text[0] == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// 2^63 as a double: the first value that no longer fits an int64.
constexpr double kTwo63 = 9223372036854775808.0;

Error cannot_convert(ResourceType from, ResourceType to) {
  return fail("cannot use a " + std::string(name_of(from)) + " value as " +
              std::string(name_of(to)));
}

std::optional<std::int64_t> integral(double v) {
  if (!std::isfinite(v) || std::trunc(v) != v || v < -kTwo63 || v >= kTwo63) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

}  // namespace

std::string_view name_of(ResourceType type) {
  return kTypeNames[static_cast<std::size_t>(type)];
}

std::optional<ResourceType> parse_resource_type(std::string_view text) {
  if (text.empty() || text == "none" || text == "None") return ResourceType::kNone;
  for (std::size_t i = 1; i < kTypeNames.size(); ++i)
    if (text == kTypeNames[i]) return static_cast<ResourceType>(i);
  if (text == "Unsigned") return ResourceType::kUnsignedInteger;
  return std::nullopt;
}

std::optional<double> Value::as_number() const {
  if (auto* i = get_if<std::int64_t>()) return static_cast<double>(*i);
  if (auto* u = get_if<std::uint64_t>()) return static_cast<double>(*u);
  if (auto* d = get_if<double>()) return *d;
  if (auto* t = get_if<Time>()) return static_cast<double>(t->seconds);
  return std::nullopt;
}

Result<Value> convert(Value value, ResourceType target) {
  const ResourceType from = value.type();
  if (from == target) return value;
  switch (target) {
    case ResourceType::kInteger:
    case ResourceType::kTime: {
      std::optional<std::int64_t> i;
      if (auto* v = value.get_if<std::int64_t>()) i = *v;
      if (auto* v = value.get_if<std::uint64_t>(); v && *v <= std::uint64_t(INT64_MAX)) {
        i = static_cast<std::int64_t>(*v);
      }
      if (auto* v = value.get_if<double>()) i = integral(*v);
      if (auto* v = value.get_if<Time>()) i = v->seconds;
      if (!i) return cannot_convert(from, target);
      if (target == ResourceType::kTime) return Value(Time{*i});
      return Value(*i);
    }
    case ResourceType::kUnsignedInteger: {
      if (auto* v = value.get_if<std::int64_t>(); v && *v >= 0)
        return Value(static_cast<std::uint64_t>(*v));
      if (auto* v = value.get_if<double>();
          v && std::isfinite(*v) && *v >= 0 && std::trunc(*v) == *v && *v < 2 * kTwo63) {
        return Value(static_cast<std::uint64_t>(*v));
      }
      return cannot_convert(from, target);
    }
    case ResourceType::kFloat: {
      if (auto n = value.as_number(); n && from != ResourceType::kTime) return Value(*n);
      return cannot_convert(from, target);
    }
    case ResourceType::kCorelnk:
      if (auto* s = value.get_if<std::string>()) return Value(Corelnk{*s});
      return cannot_convert(from, target);
    case ResourceType::kString:
      if (auto* c = value.get_if<Corelnk>()) return Value(c->text);
      return cannot_convert(from, target);
    default:
      return cannot_convert(from, target);
  }
}

std::string format_double(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;
  return std::string(buf.data(), end);
}

std::string to_text(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(std::uint64_t u) const { return std::to_string(u); }
    std::string operator()(double d) const { return format_double(d); }
    std::string operator()(bool b) const { return b ? "1" : "0"; }
    std::string operator()(const Bytes& b) const {
      return base64_encode(b, Base64Alphabet::kStandard);
    }
    std::string operator()(Time t) const { return std::to_string(t.seconds); }
    std::string operator()(Objlnk o) const {
      return std::to_string(o.object_id) + ":" + std::to_string(o.instance_id);
    }
    std::string operator()(const Corelnk& c) const { return c.text; }
  };
  return std::visit(Visitor{}, value.storage());
}

Result<Value> from_text(std::string_view text, ResourceType type) {
  auto bad = [&]() {
    return fail("'" + std::string(text.substr(0, 40)) + "' is not a valid " +
                std::string(name_of(type)));
  };
  switch (type) {
    case ResourceType::kNone:
      if (!text.empty()) return bad();
      return Value();
    case ResourceType::kString:
      if (!is_utf8(text)) return fail("string is not valid UTF-8");
      return Value(std::string(text));
    case ResourceType::kCorelnk:
      if (!is_utf8(text)) return fail("link is not valid UTF-8");
      return Value(Corelnk{std::string(text)});
    case ResourceType::kInteger:
      if (auto v = parse_integer<std::int64_t>(text)) return Value(*v);
      return bad();
    case ResourceType::kTime:
      if (auto v = parse_integer<std::int64_t>(text)) return Value(Time{*v});
      return bad();
    case ResourceType::kUnsignedInteger:
      if (!text.empty() && text[0] == '-') return bad();
      if (auto v = parse_integer<std::uint64_t>(text)) return Value(*v);
      return bad();
    case ResourceType::kFloat: {
      double d = 0;
      if (text.empty() || text[0] == '+') return bad();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(d)) return bad();
      return Value(d);
    }
    case ResourceType::kBoolean:
      if (text == "1") return Value(true);
      if (text == "0") return Value(false);
      return bad();
    case ResourceType::kOpaque: {
      auto bytes = base64_decode(text, Base64Alphabet::kStandard);
      if (!bytes) return bytes.error();
      return Value(std::move(*bytes));
    }
    case ResourceType::kObjlnk: {
      auto colon = text.find(':');
      if (colon == std::string_view::npos) return bad();
      auto o = parse_integer<std::uint16_t>(text.substr(0, colon));
      auto i = parse_integer<std::uint16_t>(text.substr(colon + 1));
      if (!o || !i || text[0] == '-' || text[colon + 1] == '-') return bad();
      return Value(Objlnk{*o, *i});
    }
  }
  return bad();
}

}  // namespace tether::lwm2m
