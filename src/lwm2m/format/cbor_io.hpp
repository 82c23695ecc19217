#pragma once
// A thin pull reader and an append-only writer over libcbor, shared by SenML CBOR,
// SenML-ETCH CBOR and LwM2M CBOR. The reader hands out one item head at a time so each
// format walks the structure it expects and rejects everything else.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::lwm2m::format::cbor {

enum class Kind : std::uint8_t {
  kUnsigned,  // value
  kNegative,  // -1 - value
  kBytes,     // data
  kText,      // data
  kArray,     // count (kIndefinite when open-ended)
  kMap,       // count of pairs (kIndefinite when open-ended)
  kTag,       // value; the tagged item follows
  kFloat,     // number (half, single and double all widen to double)
  kBoolean,   // boolean
  kNull,
  kUndefined,
  kBreak,  // end of an open-ended array or map
};

inline constexpr std::size_t kIndefinite = std::numeric_limits<std::size_t>::max();

struct Item {
  Kind kind = Kind::kNull;
  std::uint64_t value = 0;
  std::size_t count = 0;
  double number = 0;
  bool boolean = false;
  ByteView data;  // points into the reader's input

  std::string_view text() const {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }
};

std::string_view name_of(Kind kind);

class Reader {
 public:
  explicit Reader(ByteView input) : input_(input) {}

  // The next item head. Open-ended text and byte strings are refused (no LwM2M producer
  // needs them, and they would force copying).
  Result<Item> next();
  // True (and consumed) when the next byte is a break: ends an open-ended container.
  bool consume_break();
  // Skips one complete item whose head was just read, nested up to `max_depth` levels.
  Result<Ok> skip(const Item& head, int max_depth);

  bool at_end() const { return offset_ == input_.size(); }
  std::size_t offset() const { return offset_; }

 private:
  ByteView input_;
  std::size_t offset_ = 0;
};

// Reads an integer item (unsigned or negative) that fits an int64.
Result<std::int64_t> to_int64(const Item& item);

class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}

  void unsigned_integer(std::uint64_t v);
  void integer(std::int64_t v);
  void bytes(ByteView v);
  void text(std::string_view v);
  void array(std::size_t count);
  void map(std::size_t count);
  void tag(std::uint64_t v);
  void boolean(bool v);
  void null();
  // The shortest of half, single and double precision that holds `v` exactly.
  void floating(double v);

 private:
  template <typename Encode>
  void put(std::size_t max_size, Encode encode);
  Bytes& out_;
};

}  // namespace tether::lwm2m::format::cbor
