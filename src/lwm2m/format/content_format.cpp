#include "lwm2m/format/content_format.hpp"

namespace tether::lwm2m::format {

std::optional<ContentFormat> content_format_from(std::uint16_t number) {
  switch (static_cast<ContentFormat>(number)) {
    case ContentFormat::kText:
    case ContentFormat::kLinkFormat:
    case ContentFormat::kOpaque:
    case ContentFormat::kSenmlJson:
    case ContentFormat::kSenmlCbor:
    case ContentFormat::kSenmlEtchJson:
    case ContentFormat::kSenmlEtchCbor:
    case ContentFormat::kTlv:
    case ContentFormat::kOldJson:
    case ContentFormat::kLwm2mCbor:
      return static_cast<ContentFormat>(number);
  }
  return std::nullopt;
}

std::string_view name_of(ContentFormat format) {
  switch (format) {
    case ContentFormat::kText:
      return "text/plain";
    case ContentFormat::kLinkFormat:
      return "application/link-format";
    case ContentFormat::kOpaque:
      return "application/octet-stream";
    case ContentFormat::kSenmlJson:
      return "application/senml+json";
    case ContentFormat::kSenmlCbor:
      return "application/senml+cbor";
    case ContentFormat::kSenmlEtchJson:
      return "application/senml-etch+json";
    case ContentFormat::kSenmlEtchCbor:
      return "application/senml-etch+cbor";
    case ContentFormat::kTlv:
      return "application/vnd.oma.lwm2m+tlv";
    case ContentFormat::kOldJson:
      return "application/vnd.oma.lwm2m+json";
    case ContentFormat::kLwm2mCbor:
      return "application/vnd.oma.lwm2m+cbor";
  }
  return "unknown";
}

}  // namespace tether::lwm2m::format
