#pragma once
// Resource values and their data types (Core TS Appendix C).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::lwm2m {

enum class ResourceType : std::uint8_t {
  kNone,  // Executable resources carry no value
  kString,
  kInteger,
  kUnsignedInteger,
  kFloat,
  kBoolean,
  kOpaque,
  kTime,
  kObjlnk,
  kCorelnk,
};

std::string_view name_of(ResourceType type);
// Accepts the XML schema's spellings: "String", "Integer", "Unsigned Integer", "Float",
// "Boolean", "Opaque", "Time", "Objlnk", "Corelnk", and "" or "none" for kNone.
std::optional<ResourceType> parse_resource_type(std::string_view text);

struct Objlnk {
  std::uint16_t object_id = 0;
  std::uint16_t instance_id = 0;
  friend bool operator==(const Objlnk&, const Objlnk&) = default;
};

// Seconds since the Unix epoch, signed (Core TS: Time is an Integer underneath).
struct Time {
  std::int64_t seconds = 0;
  friend bool operator==(const Time&, const Time&) = default;
};

// RFC 6690 link text, kept as text.
struct Corelnk {
  std::string text;
  friend bool operator==(const Corelnk&, const Corelnk&) = default;
};

// The alternatives appear in ResourceType order, so type() is the variant index.
class Value {
 public:
  using Storage = std::variant<std::monostate, std::string, std::int64_t, std::uint64_t, double,
                               bool, Bytes, Time, Objlnk, Corelnk>;

  Value() = default;
  Value(std::string v) : v_(std::move(v)) {}    // NOLINT(google-explicit-constructor)
  Value(const char* v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(std::int64_t v) : v_(v) {}              // NOLINT(google-explicit-constructor)
  Value(int v) : v_(std::int64_t{v}) {}         // NOLINT(google-explicit-constructor)
  Value(std::uint64_t v) : v_(v) {}             // NOLINT(google-explicit-constructor)
  Value(double v) : v_(v) {}                    // NOLINT(google-explicit-constructor)
  Value(bool v) : v_(v) {}                      // NOLINT(google-explicit-constructor)
  Value(Bytes v) : v_(std::move(v)) {}          // NOLINT(google-explicit-constructor)
  Value(Time v) : v_(v) {}                      // NOLINT(google-explicit-constructor)
  Value(Objlnk v) : v_(v) {}                    // NOLINT(google-explicit-constructor)
  Value(Corelnk v) : v_(std::move(v)) {}        // NOLINT(google-explicit-constructor)

  ResourceType type() const { return static_cast<ResourceType>(v_.index()); }
  bool is_none() const { return v_.index() == 0; }

  template <typename T>
  const T* get_if() const {
    return std::get_if<T>(&v_);
  }
  template <typename T>
  const T& get() const {
    return std::get<T>(v_);
  }
  const Storage& storage() const { return v_; }

  // Numeric view for notification rules: Integer, Unsigned, Float and Time.
  std::optional<double> as_number() const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  Storage v_;
};

// Converts a value decoded without a model (its natural type in the format) to the type
// the model declares: an Integer into Float, Time or Unsigned; a String into Corelnk; and
// so on. Lossy or meaningless conversions fail.
Result<Value> convert(Value value, ResourceType target);

// The plain-text form of Core TS 7.3 (also used wherever a format carries text): decimal
// numbers, "0"/"1" booleans, "O:I" object links, base64 opaque, seconds for time.
std::string to_text(const Value& value);
Result<Value> from_text(std::string_view text, ResourceType type);

// Shortest decimal text that reads back as the same double.
std::string format_double(double v);

}  // namespace tether::lwm2m
