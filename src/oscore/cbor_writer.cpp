#include "oscore/cbor_writer.hpp"

#include <cbor.h>

#include <array>

namespace tether::oscore::cbor {

namespace {

// A head is at most 9 bytes; libcbor writes it, we append.
template <typename Encode>
void head(Bytes& out, Encode encode) {
  std::array<unsigned char, 9> buffer{};
  const std::size_t n = encode(buffer.data(), buffer.size());
  out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

void array(Bytes& out, std::size_t count) {
  head(out, [&](unsigned char* b, std::size_t s) { return cbor_encode_array_start(count, b, s); });
}

void bytes(Bytes& out, ByteView value) {
  head(out, [&](unsigned char* b, std::size_t s) {
    return cbor_encode_bytestring_start(value.size(), b, s);
  });
  out.insert(out.end(), value.begin(), value.end());
}

void text(Bytes& out, std::string_view value) {
  head(out, [&](unsigned char* b, std::size_t s) {
    return cbor_encode_string_start(value.size(), b, s);
  });
  out.insert(out.end(), value.begin(), value.end());
}

void integer(Bytes& out, std::int64_t value) {
  head(out, [&](unsigned char* b, std::size_t s) {
    return value >= 0 ? cbor_encode_uint(static_cast<std::uint64_t>(value), b, s)
                      : cbor_encode_negint(static_cast<std::uint64_t>(-1 - value), b, s);
  });
}

void null(Bytes& out) {
  head(out, [](unsigned char* b, std::size_t s) { return cbor_encode_null(b, s); });
}

}  // namespace tether::oscore::cbor
