#pragma once
// Transport TS 7.1.4: HTTP names an LwM2M content format by its media type (Content-Type,
// Accept) where CoAP uses the number. The numbers stay the values every other layer uses.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tether::binding::http_binding {

// "application/vnd.oma.lwm2m+tlv" for 11542, ...; none for a number without a media type.
std::optional<std::string_view> media_type_of(std::uint16_t content_format);
// The number of a Content-Type or of one Accept entry: parameters are ignored, except that
// text/plain takes no charset but UTF-8. None for a media type that is no LwM2M format.
std::optional<std::uint16_t> content_format_of(std::string_view media_type);

// An Accept header's first entry that names an LwM2M format, or none when the header is
// absent or only wildcards ("*/*"). Fails (4.06) when every entry names something else.
Result<std::optional<std::uint16_t>> accepted_format(std::optional<std::string_view> accept);

}  // namespace tether::binding::http_binding
