#include "lwm2m/attributes.hpp"

#include <charconv>
#include <cmath>

namespace tether::lwm2m {
namespace {

constexpr std::array<std::string_view, kAttributeCount> kNames = {
    "pmin", "pmax", "gt", "lt", "st", "epmin", "epmax", "edge", "con", "hqmax"};

bool is_period_like(Attribute a) {
  return a == Attribute::kPmin || a == Attribute::kPmax || a == Attribute::kEpmin ||
         a == Attribute::kEpmax || a == Attribute::kHqmax;
}
bool is_flag(Attribute a) {
  return a == Attribute::kEdge || a == Attribute::kCon;
}
bool is_threshold(Attribute a) {
  return a == Attribute::kGt || a == Attribute::kLt || a == Attribute::kSt;
}

Error bad_request(const std::string& why) {
  return fail("4.00 Bad Request: " + why);
}

Result<double> parse_value(Attribute a, std::string_view text) {
  const std::string name(name_of(a));
  if (text.empty()) return bad_request(name + " has an empty value");
  if (is_period_like(a) || is_flag(a)) {
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size())
      return bad_request(name + "=" + std::string(text) + " is not a non-negative integer");
    if (is_flag(a) && v > 1) return bad_request(name + " is 0 or 1");
    return static_cast<double>(v);
  }
  double v = 0;
  if (text[0] == '+') return bad_request(name + "=" + std::string(text) + " is not a number");
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return bad_request(name + "=" + std::string(text) + " is not a number");
  if (a == Attribute::kSt && v < 0) return bad_request("st must not be negative");
  return v;
}

bool is_numeric(ResourceType t) {
  return t == ResourceType::kInteger || t == ResourceType::kUnsignedInteger ||
         t == ResourceType::kFloat || t == ResourceType::kTime;
}

std::string join(const Attributes& attributes, char first, char separator) {
  std::string out;
  for (std::size_t i = 0; i < kAttributeCount; ++i) {
    const auto a = static_cast<Attribute>(i);
    const auto v = attributes.get(a);
    if (!v) continue;
    out += out.empty() ? first : separator;
    out += name_of(a);
    out += '=';
    // Periods, flags and hqmax are whole numbers; print them without an exponent.
    out += is_period_like(a) || is_flag(a) ? std::to_string(static_cast<std::uint32_t>(*v))
                                           : format_double(*v);
  }
  return out;
}

bool crossed(double threshold, double before, double after, bool above) {
  return above ? (before > threshold) != (after > threshold)
               : (before < threshold) != (after < threshold);
}

}  // namespace

std::string_view name_of(Attribute attribute) {
  return kNames[static_cast<std::size_t>(attribute)];
}

std::optional<Attribute> parse_attribute(std::string_view name) {
  for (std::size_t i = 0; i < kAttributeCount; ++i)
    if (kNames[i] == name) return static_cast<Attribute>(i);
  return std::nullopt;
}

bool Attributes::empty() const {
  for (const auto& v : values_)
    if (v) return false;
  return true;
}

std::string Attributes::to_query() const {
  std::string s = join(*this, '&', '&');
  return s.empty() ? s : s.substr(1);
}

std::string Attributes::to_link_params() const {
  return join(*this, ';', ';');
}

Result<AttributeUpdate> parse_update(std::span<const std::string> query) {
  AttributeUpdate update;
  std::array<bool, kAttributeCount> seen{};
  for (const auto& item : query) {
    const auto eq = item.find('=');
    const std::string_view name = std::string_view(item).substr(0, eq);
    if (name == "dim" || name == "ver")
      return bad_request(std::string(name) + " is read-only and cannot be written");
    const auto attribute = parse_attribute(name);
    if (!attribute) return bad_request("unknown attribute '" + std::string(name) + "'");
    auto& once = seen[static_cast<std::size_t>(*attribute)];
    if (once) return bad_request(std::string(name) + " is given twice");
    once = true;
    if (eq == std::string::npos) {
      update.unset.push_back(*attribute);
      continue;
    }
    auto value = parse_value(*attribute, std::string_view(item).substr(eq + 1));
    if (!value) return value.error();
    update.set.set(*attribute, *value);
  }
  return update;
}

Result<AttributeUpdate> parse_update(std::string_view query) {
  std::vector<std::string> items;
  while (!query.empty()) {
    const auto amp = query.find('&');
    items.emplace_back(query.substr(0, amp));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
    if (query.empty()) items.emplace_back();
  }
  for (const auto& item : items)
    if (item.empty()) return bad_request("empty attribute in the query");
  return parse_update(std::span<const std::string>(items));
}

Result<Ok> check_consistent(const Attributes& a) {
  const auto pmin = a.get(Attribute::kPmin), pmax = a.get(Attribute::kPmax);
  if (pmin && pmax && *pmin > *pmax) return bad_request("pmin is greater than pmax");
  const auto epmin = a.get(Attribute::kEpmin), epmax = a.get(Attribute::kEpmax);
  if (epmin && epmax && *epmin > *epmax) return bad_request("epmin is greater than epmax");
  const auto lt = a.get(Attribute::kLt), gt = a.get(Attribute::kGt), st = a.get(Attribute::kSt);
  if (lt && gt && !(*lt < *gt)) return bad_request("lt is not less than gt");
  if (lt && gt && st && !(*lt + 2 * *st < *gt)) return bad_request("lt + 2*st is not less than gt");
  return Ok{};
}

Result<Attributes> apply_update(const Attributes& stored, const AttributeUpdate& update,
                                const Path& target, std::optional<ResourceType> type) {
  if (target.is_root()) return bad_request("attributes cannot be written at the root");
  Attributes result = stored;
  for (auto a : update.unset) result.unset(a);
  for (std::size_t i = 0; i < kAttributeCount; ++i) {
    const auto a = static_cast<Attribute>(i);
    const auto v = update.set.get(a);
    if (!v) continue;
    // Core TS 1.2 5.1.2: value conditions only make sense on one resource's value.
    if (is_threshold(a) || a == Attribute::kEdge) {
      if (target.depth() < 3)
        return bad_request(std::string(name_of(a)) + " applies to resources only");
      if (type && is_threshold(a) && !is_numeric(*type))
        return bad_request(std::string(name_of(a)) + " needs a numeric resource");
      if (type && a == Attribute::kEdge && *type != ResourceType::kBoolean)
        return bad_request("edge needs a Boolean resource");
    }
    result.set(a, *v);
  }
  if (auto ok = check_consistent(result); !ok) return ok.error();
  return result;
}

Attributes effective_attributes(std::span<const Attributes* const> levels,
                                const ServerDefaults& defaults) {
  Attributes out;
  for (std::size_t i = 0; i < kAttributeCount; ++i) {
    const auto a = static_cast<Attribute>(i);
    for (const Attributes* level : levels) {
      if (level && level->has(a)) {
        out.set(a, *level->get(a));
        break;
      }
    }
  }
  if (!out.has(Attribute::kPmin) && defaults.pmin) out.set(Attribute::kPmin, *defaults.pmin);
  if (!out.has(Attribute::kPmax) && defaults.pmax) out.set(Attribute::kPmax, *defaults.pmax);
  return out;
}

NotifyDecision notification_due(const Attributes& attributes, const Value* last,
                                const Value& current, double elapsed) {
  const auto pmin = attributes.get(Attribute::kPmin);
  const auto pmax = attributes.get(Attribute::kPmax);
  const bool pmin_passed = !pmin || elapsed >= *pmin;
  // pmax forces a notification even without a change (pmin <= pmax holds).
  if (pmax && *pmax > 0 && elapsed >= *pmax) return NotifyDecision::kNotify;
  if (last && *last == current) return NotifyDecision::kNotDue;

  bool significant = true;
  const auto gt = attributes.get(Attribute::kGt);
  const auto lt = attributes.get(Attribute::kLt);
  const auto st = attributes.get(Attribute::kSt);
  const auto before = last ? last->as_number() : std::nullopt;
  const auto after = current.as_number();
  if (before && after && (gt || lt || st)) {
    significant = (gt && crossed(*gt, *before, *after, true)) ||
                  (lt && crossed(*lt, *before, *after, false)) ||
                  (st && std::fabs(*after - *before) >= *st);
  }
  const auto edge = attributes.get(Attribute::kEdge);
  const auto* was = last ? last->get_if<bool>() : nullptr;
  const auto* now = current.get_if<bool>();
  if (edge && was && now) significant = *now == (*edge == 1) && *was != *now;

  if (!significant) return NotifyDecision::kNotDue;
  return pmin_passed ? NotifyDecision::kNotify : NotifyDecision::kAfterPmin;
}

}  // namespace tether::lwm2m
