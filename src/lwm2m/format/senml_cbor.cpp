#include "lwm2m/format/senml_cbor.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "common/text.hpp"
#include "lwm2m/format/cbor_io.hpp"
#include "lwm2m/format/typing.hpp"

namespace tether::lwm2m::format::senml_cbor {
namespace {

// RFC 8428 Table 6 labels; "vlo" has no number and travels as text (Core TS 7.4.5).
constexpr std::int64_t kBaseName = -2;
constexpr std::int64_t kBaseTime = -3;
constexpr std::int64_t kName = 0;
constexpr std::int64_t kValue = 2;
constexpr std::int64_t kStringValue = 3;
constexpr std::int64_t kBooleanValue = 4;
constexpr std::int64_t kTime = 6;
constexpr std::int64_t kDataValue = 8;
constexpr std::string_view kObjlnkLabel = "vlo";

void write_time(cbor::Writer& w, double t) {
  if (std::trunc(t) == t && std::fabs(t) < 9.0e15) {
    w.integer(static_cast<std::int64_t>(t));
  } else {
    w.floating(t);
  }
}

std::size_t field_count(const senml::WireRecord& r) {
  return (r.base_name ? 1U : 0U) + (r.base_time ? 1U : 0U) + (r.name ? 1U : 0U) +
         (r.time ? 1U : 0U) + (r.value.is_none() ? 0U : 1U);
}

void write_value(cbor::Writer& w, const Value& value) {
  struct Visitor {
    cbor::Writer& w;
    void operator()(std::monostate) const {}
    void operator()(const std::string& s) const {
      w.integer(kStringValue);
      w.text(s);
    }
    void operator()(std::int64_t i) const {
      w.integer(kValue);
      w.integer(i);
    }
    void operator()(std::uint64_t u) const {
      w.integer(kValue);
      w.unsigned_integer(u);
    }
    void operator()(double d) const {
      w.integer(kValue);
      w.floating(d);
    }
    void operator()(bool b) const {
      w.integer(kBooleanValue);
      w.boolean(b);
    }
    void operator()(const Bytes& b) const {
      w.integer(kDataValue);
      w.bytes(b);
    }
    void operator()(Time t) const {
      w.integer(kValue);
      w.integer(t.seconds);
    }
    void operator()(Objlnk l) const {
      w.text(kObjlnkLabel);
      w.text(to_text(Value(l)));
    }
    void operator()(const Corelnk& c) const {
      w.integer(kStringValue);
      w.text(c.text);
    }
  };
  std::visit(Visitor{w}, value.storage());
}

Result<double> number(const cbor::Item& item) {
  if (item.kind == cbor::Kind::kFloat) return item.number;
  if (item.kind == cbor::Kind::kUnsigned) return static_cast<double>(item.value);
  if (item.kind == cbor::Kind::kNegative) return -1.0 - static_cast<double>(item.value);
  return fail("SenML CBOR: expected a number, got " + std::string(cbor::name_of(item.kind)));
}

Result<Value> numeric_value(const cbor::Item& item) {
  if (item.kind == cbor::Kind::kUnsigned) {
    if (item.value <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      return Value(static_cast<std::int64_t>(item.value));
    return Value(item.value);
  }
  if (item.kind == cbor::Kind::kNegative) {
    auto i = cbor::to_int64(item);
    if (!i) return fail("SenML CBOR: " + i.error().reason);
    return Value(*i);
  }
  if (item.kind == cbor::Kind::kFloat) return Value(item.number);
  return fail("SenML CBOR: 'v' is not a number");
}

Result<std::string> text(const cbor::Item& item, const char* label) {
  if (item.kind != cbor::Kind::kText)
    return fail(std::string("SenML CBOR: '") + label + "' is not a text string");
  std::string s(item.text());
  if (!is_utf8(s)) return fail(std::string("SenML CBOR: '") + label + "' is not UTF-8");
  return s;
}

class PackReader {
 public:
  explicit PackReader(ByteView payload) : reader_(payload) {}

  Result<senml::Pack> read() {
    auto head = reader_.next();
    if (!head) return fail("SenML CBOR: " + head.error().reason);
    if (head->kind != cbor::Kind::kArray) return fail("SenML CBOR: the payload is not an array");
    senml::Pack pack;
    for (std::size_t i = 0;
         head->count == cbor::kIndefinite ? !reader_.consume_break() : i < head->count; ++i) {
      if (pack.size() >= senml::kMaxRecords) return fail("SenML CBOR: too many records");
      auto record = read_record();
      if (!record) return record.error();
      pack.push_back(std::move(*record));
    }
    if (!reader_.at_end()) return fail("SenML CBOR: bytes follow the array");
    return pack;
  }

 private:
  Result<cbor::Item> next() {
    auto item = reader_.next();
    if (!item) return fail("SenML CBOR: " + item.error().reason);
    if (item->kind == cbor::Kind::kBreak) return fail("SenML CBOR: misplaced break");
    return item;
  }

  Result<senml::WireRecord> read_record() {
    auto head = next();
    if (!head) return head.error();
    if (head->kind != cbor::Kind::kMap) return fail("SenML CBOR: a record is not a map");
    senml::WireRecord w;
    int values = 0;
    for (std::size_t i = 0;
         head->count == cbor::kIndefinite ? !reader_.consume_break() : i < head->count; ++i) {
      auto key = next();
      if (!key) return key.error();
      auto item = next();
      if (!item) return item.error();
      if (item->kind == cbor::Kind::kArray || item->kind == cbor::Kind::kMap ||
          item->kind == cbor::Kind::kTag) {
        return fail("SenML CBOR: a field holds a container or tag");
      }
      if (key->kind == cbor::Kind::kText) {
        if (key->text() == kObjlnkLabel) {
          auto s = text(*item, "vlo");
          if (!s) return s.error();
          auto link = from_text(*s, ResourceType::kObjlnk);
          if (!link) return fail("SenML CBOR: 'vlo': " + link.error().reason);
          w.value = std::move(*link);
          ++values;
        } else if (!key->text().empty() && key->text().back() == '_') {
          return fail("SenML CBOR: unsupported must-understand label");
        }
        continue;
      }
      auto label = cbor::to_int64(*key);
      if (!label) return fail("SenML CBOR: a label is neither an integer nor text");
      switch (*label) {
        case kBaseName: {
          auto s = text(*item, "bn");
          if (!s) return s.error();
          w.base_name = std::move(*s);
          break;
        }
        case kName: {
          auto s = text(*item, "n");
          if (!s) return s.error();
          w.name = std::move(*s);
          break;
        }
        case kBaseTime:
        case kTime: {
          auto t = number(*item);
          if (!t) return t.error();
          (*label == kBaseTime ? w.base_time : w.time) = *t;
          break;
        }
        case kValue: {
          auto v = numeric_value(*item);
          if (!v) return v.error();
          w.value = std::move(*v);
          ++values;
          break;
        }
        case kStringValue: {
          auto s = text(*item, "vs");
          if (!s) return s.error();
          w.value = Value(std::move(*s));
          ++values;
          break;
        }
        case kBooleanValue:
          if (item->kind != cbor::Kind::kBoolean) return fail("SenML CBOR: 'vb' is not a boolean");
          w.value = Value(item->boolean);
          ++values;
          break;
        case kDataValue:
          if (item->kind != cbor::Kind::kBytes)
            return fail("SenML CBOR: 'vd' is not a byte string");
          w.value = Value(Bytes(item->data.begin(), item->data.end()));
          ++values;
          break;
        default:
          // RFC 8428 6: negative labels below -3 and others this profile does not use.
          break;
      }
    }
    if (values > 1) return fail("SenML CBOR: a record carries more than one value");
    return w;
  }

  cbor::Reader reader_;
};

}  // namespace

Result<Bytes> write(const senml::Pack& pack) {
  Bytes out;
  out.reserve(pack.size() * 12);
  cbor::Writer w(out);
  w.array(pack.size());
  for (const auto& r : pack) {
    w.map(field_count(r));
    if (r.base_name) {
      w.integer(kBaseName);
      w.text(*r.base_name);
    }
    if (r.base_time) {
      w.integer(kBaseTime);
      write_time(w, *r.base_time);
    }
    if (r.name) {
      w.integer(kName);
      w.text(*r.name);
    }
    if (r.time) {
      w.integer(kTime);
      write_time(w, *r.time);
    }
    write_value(w, r.value);
  }
  return out;
}

Result<senml::Pack> read(ByteView payload) {
  return PackReader(payload).read();
}

}  // namespace tether::lwm2m::format::senml_cbor
