#pragma once
// Notification attributes (Core TS 1.2 5.1.2): what Write-Attributes sets, Discover reports
// and the Observe engine obeys. Pure values and functions; no I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/value.hpp"

namespace tether::lwm2m {

enum class Attribute : std::uint8_t {
  kPmin,   // minimum period, s
  kPmax,   // maximum period, s
  kGt,     // greater than
  kLt,     // less than
  kSt,     // step
  kEpmin,  // minimum evaluation period, s
  kEpmax,  // maximum evaluation period, s
  kEdge,   // 0: notify on true->false, 1: on false->true
  kCon,    // 0: non-confirmable, 1: confirmable notifications
  kHqmax,  // historical queue maximum
};
inline constexpr std::size_t kAttributeCount = 10;

std::string_view name_of(Attribute attribute);
std::optional<Attribute> parse_attribute(std::string_view name);

// The attributes set at one level (or the effective set after inheritance).
class Attributes {
 public:
  std::optional<double> get(Attribute a) const { return values_[index(a)]; }
  void set(Attribute a, double v) { values_[index(a)] = v; }
  void unset(Attribute a) { values_[index(a)].reset(); }
  bool has(Attribute a) const { return values_[index(a)].has_value(); }
  bool empty() const;

  // "pmin=10&pmax=60&gt=45" (Write-Attributes query form, in Attribute order).
  std::string to_query() const;
  // ";pmin=10;pmax=60" (Discover link-format form).
  std::string to_link_params() const;

  friend bool operator==(const Attributes&, const Attributes&) = default;

 private:
  static std::size_t index(Attribute a) { return static_cast<std::size_t>(a); }
  std::array<std::optional<double>, kAttributeCount> values_{};
};

// One Write-Attributes request: values to set and names to unset ("?gt" alone).
struct AttributeUpdate {
  Attributes set;
  std::vector<Attribute> unset;
};

// Parses Uri-Query items ("pmin=10", "gt=45.5", "st" ...). Unknown names, read-only
// attributes (dim, ver), malformed or negative numbers and repeated names fail: 4.00.
Result<AttributeUpdate> parse_update(std::span<const std::string> query);
Result<AttributeUpdate> parse_update(std::string_view query);  // "pmin=10&gt=45"

// Applies an update to the attributes stored at `target` and checks the result. `type` is
// the target resource's type when known. Fails (4.00 Bad Request) when an attribute does
// not apply at that level or to that type, or when the result is inconsistent:
// pmin > pmax, epmin > epmax, lt >= gt, or lt + 2*st >= gt.
Result<Attributes> apply_update(const Attributes& stored, const AttributeUpdate& update,
                                const Path& target, std::optional<ResourceType> type);

// Validation alone, e.g. for attributes arriving from a store.
Result<Ok> check_consistent(const Attributes& attributes);

// The Server object's Default Minimum/Maximum Period (/1/x/2, /1/x/3).
struct ServerDefaults {
  std::optional<double> pmin;
  std::optional<double> pmax;
};

// Inheritance: each attribute comes from the most specific level that sets it. `levels` runs
// from most to least specific (Resource Instance, Resource, Object Instance, Object); pmin
// and pmax fall back to the server's defaults last.
Attributes effective_attributes(std::span<const Attributes* const> levels,
                                const ServerDefaults& defaults);

enum class NotifyDecision : std::uint8_t {
  kNotify,     // send now
  kAfterPmin,  // a notification is due once pmin has passed since the last one
  kNotDue,     // nothing to send
};

// Decides whether an observed value calls for a notification (Core TS 1.2 5.1.2 and the
// examples of Transport TS 6.4.4). `last` is the value last notified (null before the first),
// `elapsed` the seconds since that notification.
NotifyDecision notification_due(const Attributes& attributes, const Value* last,
                                const Value& current, double elapsed);

}  // namespace tether::lwm2m
