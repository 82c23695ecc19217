#pragma once
// The few CBOR items OSCORE builds (HKDF info, external_aad, Enc_structure), encoded with
// libcbor's item encoders.
#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"

namespace tether::oscore::cbor {

void array(Bytes& out, std::size_t count);
void bytes(Bytes& out, ByteView value);
void text(Bytes& out, std::string_view value);
void integer(Bytes& out, std::int64_t value);
void null(Bytes& out);

}  // namespace tether::oscore::cbor
