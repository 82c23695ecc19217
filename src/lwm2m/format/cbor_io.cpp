#include "lwm2m/format/cbor_io.hpp"

#include <cbor.h>

#include <array>
#include <cmath>
#include <cstring>

namespace tether::lwm2m::format::cbor {
namespace {

// libcbor reports each decoded head through a callback; this one records it in an Item.
struct Capture {
  Item item;
  bool open_string = false;
};

Capture* as_capture(void* ctx) {
  return static_cast<Capture*>(ctx);
}
void on_unsigned(void* ctx, std::uint64_t v) {
  as_capture(ctx)->item.kind = Kind::kUnsigned;
  as_capture(ctx)->item.value = v;
}
void on_negative(void* ctx, std::uint64_t v) {
  as_capture(ctx)->item.kind = Kind::kNegative;
  as_capture(ctx)->item.value = v;
}

const cbor_callbacks& callbacks() {
  static const cbor_callbacks table = [] {
    cbor_callbacks c = cbor_empty_callbacks;
    c.uint8 = [](void* ctx, std::uint8_t v) { on_unsigned(ctx, v); };
    c.uint16 = [](void* ctx, std::uint16_t v) { on_unsigned(ctx, v); };
    c.uint32 = [](void* ctx, std::uint32_t v) { on_unsigned(ctx, v); };
    c.uint64 = [](void* ctx, std::uint64_t v) { on_unsigned(ctx, v); };
    c.negint8 = [](void* ctx, std::uint8_t v) { on_negative(ctx, v); };
    c.negint16 = [](void* ctx, std::uint16_t v) { on_negative(ctx, v); };
    c.negint32 = [](void* ctx, std::uint32_t v) { on_negative(ctx, v); };
    c.negint64 = [](void* ctx, std::uint64_t v) { on_negative(ctx, v); };
    c.byte_string = [](void* ctx, cbor_data data, std::size_t size) {
      as_capture(ctx)->item.kind = Kind::kBytes;
      as_capture(ctx)->item.data = ByteView(data, size);
    };
    c.string = [](void* ctx, cbor_data data, std::size_t size) {
      as_capture(ctx)->item.kind = Kind::kText;
      as_capture(ctx)->item.data = ByteView(data, size);
    };
    c.byte_string_start = [](void* ctx) { as_capture(ctx)->open_string = true; };
    c.string_start = [](void* ctx) { as_capture(ctx)->open_string = true; };
    c.array_start = [](void* ctx, std::size_t n) {
      as_capture(ctx)->item.kind = Kind::kArray;
      as_capture(ctx)->item.count = n;
    };
    c.indef_array_start = [](void* ctx) {
      as_capture(ctx)->item.kind = Kind::kArray;
      as_capture(ctx)->item.count = kIndefinite;
    };
    c.map_start = [](void* ctx, std::size_t n) {
      as_capture(ctx)->item.kind = Kind::kMap;
      as_capture(ctx)->item.count = n;
    };
    c.indef_map_start = [](void* ctx) {
      as_capture(ctx)->item.kind = Kind::kMap;
      as_capture(ctx)->item.count = kIndefinite;
    };
    c.tag = [](void* ctx, std::uint64_t v) {
      as_capture(ctx)->item.kind = Kind::kTag;
      as_capture(ctx)->item.value = v;
    };
    c.float2 = [](void* ctx, float v) {
      as_capture(ctx)->item.kind = Kind::kFloat;
      as_capture(ctx)->item.number = v;
    };
    c.float4 = c.float2;
    c.float8 = [](void* ctx, double v) {
      as_capture(ctx)->item.kind = Kind::kFloat;
      as_capture(ctx)->item.number = v;
    };
    c.boolean = [](void* ctx, bool v) {
      as_capture(ctx)->item.kind = Kind::kBoolean;
      as_capture(ctx)->item.boolean = v;
    };
    c.null = [](void* ctx) { as_capture(ctx)->item.kind = Kind::kNull; };
    c.undefined = [](void* ctx) { as_capture(ctx)->item.kind = Kind::kUndefined; };
    c.indef_break = [](void* ctx) { as_capture(ctx)->item.kind = Kind::kBreak; };
    return c;
  }();
  return table;
}

// A half-precision float holds `f` exactly: zero, infinities, NaN, or a value whose
// significand fits 11 bits within the half exponent range (subnormals included).
bool fits_half(float f) {
  if (f == 0 || std::isinf(f) || std::isnan(f)) return true;
  float a = std::fabs(f);
  if (a > 65504.0f || a < 0x1p-24f) return false;
  int exponent = 0;
  float mantissa = std::frexp(a, &exponent);  // a = mantissa * 2^exponent, mantissa in [0.5,1)
  // Bits available: 11 for normal halfs (exponent >= -13), fewer for subnormals.
  int bits = exponent >= -13 ? 11 : 11 - (-13 - exponent);
  float scaled = std::ldexp(mantissa, bits);
  return std::trunc(scaled) == scaled;
}

// A subnormal half (0 < |f| < 2^-14) that fits_half accepted, written by hand: Debian's
// libcbor 0.8 writes these wrong (9 * 2^-18 came out as 2^-15; found by fuzz_mqtt_payload).
std::array<unsigned char, 3> subnormal_half(float f) {
  const auto units = static_cast<std::uint16_t>(std::ldexp(std::fabs(f), 24));  // of 2^-24
  const std::uint16_t bits = static_cast<std::uint16_t>((std::signbit(f) ? 0x8000u : 0u) | units);
  return {0xf9, static_cast<unsigned char>(bits >> 8), static_cast<unsigned char>(bits & 0xff)};
}

}  // namespace

std::string_view name_of(Kind kind) {
  constexpr std::array<std::string_view, 12> kNames = {"unsigned integer",
                                                       "negative integer",
                                                       "byte string",
                                                       "text string",
                                                       "array",
                                                       "map",
                                                       "tag",
                                                       "float",
                                                       "boolean",
                                                       "null",
                                                       "undefined",
                                                       "break"};
  return kNames[static_cast<std::size_t>(kind)];
}

Result<Item> Reader::next() {
  if (at_end()) return fail("CBOR input ends early");
  Capture capture;
  capture.item.kind = Kind::kUndefined;
  bool recognised = false;
  auto rest = input_.subspan(offset_);
  // libcbor leaves the item untouched for heads it has no callback for (simple values):
  // mark the capture so they can be told apart from a real `undefined`.
  const std::uint8_t head = rest[0];
  // Debian's libcbor 0.8 refuses the one-byte tag heads 0xC6-0xD7 (tags 6-23, e.g. COSE's
  // 16, 17, 18) as malformed; they are plain RFC 8949 heads, so read them here.
  if (head >= 0xC6 && head <= 0xD7) {
    ++offset_;
    Item tag;
    tag.kind = Kind::kTag;
    tag.value = head & 0x1fu;
    return tag;
  }
  auto result = cbor_stream_decode(rest.data(), rest.size(), &callbacks(), &capture);
  if (result.status == CBOR_DECODER_NEDATA) return fail("CBOR input ends inside an item");
  if (result.status != CBOR_DECODER_FINISHED || result.read == 0) return fail("malformed CBOR");
  if (capture.open_string) return fail("open-ended CBOR strings are not accepted");
  recognised = (head >> 5) != 7 || head == 0xF4 || head == 0xF5 || head == 0xF6 || head == 0xF7 ||
               head == 0xF9 || head == 0xFA || head == 0xFB || head == 0xFF;
  if (!recognised) return fail("unsupported CBOR simple value");
  offset_ += result.read;
  return capture.item;
}

bool Reader::consume_break() {
  if (!at_end() && input_[offset_] == 0xFF) {
    ++offset_;
    return true;
  }
  return false;
}

Result<Ok> Reader::skip(const Item& head, int max_depth) {
  if (head.kind == Kind::kTag) {
    if (max_depth <= 0) return fail("CBOR nests too deep");
    auto inner = next();
    if (!inner) return inner.error();
    return skip(*inner, max_depth - 1);
  }
  if (head.kind != Kind::kArray && head.kind != Kind::kMap) return Ok{};
  if (max_depth <= 0) return fail("CBOR nests too deep");
  const std::size_t per_entry = head.kind == Kind::kMap ? 2 : 1;
  for (std::size_t i = 0; head.count == kIndefinite ? !consume_break() : i < head.count; ++i) {
    for (std::size_t k = 0; k < per_entry; ++k) {
      auto inner = next();
      if (!inner) return inner.error();
      if (inner->kind == Kind::kBreak) return fail("misplaced CBOR break");
      auto skipped = skip(*inner, max_depth - 1);
      if (!skipped) return skipped;
    }
  }
  return Ok{};
}

Result<std::int64_t> to_int64(const Item& item) {
  if (item.kind == Kind::kUnsigned && item.value <= std::uint64_t(INT64_MAX))
    return static_cast<std::int64_t>(item.value);
  if (item.kind == Kind::kNegative && item.value <= std::uint64_t(INT64_MAX))
    return -1 - static_cast<std::int64_t>(item.value);
  return fail("expected an integer that fits 64 signed bits, got a " +
              std::string(name_of(item.kind)));
}

template <typename Encode>
void Writer::put(std::size_t max_size, Encode encode) {
  const std::size_t at = out_.size();
  out_.resize(at + max_size);
  std::size_t written = encode(out_.data() + at, max_size);
  out_.resize(at + written);
}

void Writer::unsigned_integer(std::uint64_t v) {
  put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_uint(v, p, n); });
}

void Writer::integer(std::int64_t v) {
  if (v >= 0) return unsigned_integer(static_cast<std::uint64_t>(v));
  const auto magnitude = static_cast<std::uint64_t>(-(v + 1));
  put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_negint(magnitude, p, n); });
}

void Writer::bytes(ByteView v) {
  put(9, [&](unsigned char* p, std::size_t n) {
    return cbor_encode_bytestring_start(v.size(), p, n);
  });
  out_.insert(out_.end(), v.begin(), v.end());
}

void Writer::text(std::string_view v) {
  put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_string_start(v.size(), p, n); });
  out_.insert(out_.end(), v.begin(), v.end());
}

void Writer::array(std::size_t count) {
  put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_array_start(count, p, n); });
}

void Writer::map(std::size_t count) {
  put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_map_start(count, p, n); });
}

void Writer::tag(std::uint64_t v) {
  put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_tag(v, p, n); });
}

void Writer::boolean(bool v) {
  put(1, [&](unsigned char* p, std::size_t n) { return cbor_encode_bool(v, p, n); });
}

void Writer::null() {
  put(1, [&](unsigned char* p, std::size_t n) { return cbor_encode_null(p, n); });
}

void Writer::floating(double v) {
  const auto f = static_cast<float>(v);
  const bool fits_single = std::isnan(v) || static_cast<double>(f) == v;
  if (fits_single && fits_half(f) && f != 0 && std::fabs(f) < 0x1p-14f) {
    const auto half = subnormal_half(f);
    out_.insert(out_.end(), half.begin(), half.end());
  } else if (fits_single && fits_half(f)) {
    put(3, [&](unsigned char* p, std::size_t n) { return cbor_encode_half(f, p, n); });
  } else if (fits_single) {
    put(5, [&](unsigned char* p, std::size_t n) { return cbor_encode_single(f, p, n); });
  } else {
    put(9, [&](unsigned char* p, std::size_t n) { return cbor_encode_double(v, p, n); });
  }
}

}  // namespace tether::lwm2m::format::cbor
