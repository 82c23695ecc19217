#include "lwm2m/operation/answer_body.hpp"

#include <string>

#include "lwm2m/format/codec.hpp"

namespace tether::lwm2m {

namespace {
namespace fmt = format;

bool is_composite(Operation op) {
  return op == Operation::kReadComposite || op == Operation::kObserveComposite ||
         op == Operation::kWriteComposite;
}
}  // namespace

void decode_answer_body(const DownlinkRequest& request, std::uint16_t content_format,
                        ByteView payload, const model::Model& model, DownlinkResponse& out) {
  const std::string text(payload.begin(), payload.end());
  if (content_format == static_cast<std::uint16_t>(fmt::ContentFormat::kLinkFormat)) {
    if (request.op == Operation::kBootstrapDiscover) {
      auto links = fmt::link_format::parse_bootstrap_discover(text);
      if (links) {
        out.bootstrap_links = std::move(*links);
      } else {
        out.decode_error = links.error().reason;
      }
      return;
    }
    auto links = fmt::link_format::parse_discover(text);
    if (links) {
      out.links = std::move(*links);
    } else {
      out.decode_error = links.error().reason;
    }
    return;
  }
  const auto format = fmt::content_format_from(content_format);
  if (!format) {
    out.decode_error = "unknown Content-Format " + std::to_string(content_format);
    return;
  }
  out.format = format;
  if (is_composite(request.op)) {
    auto records = fmt::decode_records(*format, payload, model);
    if (records) {
      out.records = std::move(*records);
    } else {
      out.decode_error = records.error().reason;
    }
    return;
  }
  auto tree = fmt::decode(*format, request.path, payload, model);
  if (tree) {
    out.content = std::move(*tree);
    out.records = out.content.records();
    return;
  }
  // A SenML notification may carry a time series: several records for one path.
  auto records = fmt::decode_records(*format, payload, model);
  if (records) {
    out.records = std::move(*records);
    return;
  }
  out.decode_error = tree.error().reason;
}

EncodedAnswer encode_answer(const DownlinkRequest& request, const DownlinkResponse& response,
                            const model::Model& model) {
  EncodedAnswer out;
  out.code = response.code;
  if (!response.code.is_success()) {
    out.body = response.payload;
    return out;
  }
  out.created = response.created;
  const auto link_format = static_cast<std::uint16_t>(fmt::ContentFormat::kLinkFormat);
  if (response.bootstrap_links) {
    out.content_format = link_format;
    out.body = to_bytes(fmt::link_format::serialize_bootstrap_discover(*response.bootstrap_links));
    return out;
  }
  if (request.op == Operation::kDiscover) {
    out.content_format = link_format;
    out.body = to_bytes(fmt::link_format::serialize_discover(response.links));
    return out;
  }
  if (!response.format) return out;
  const bool composite = is_composite(request.op) || !response.records.empty();
  auto body = composite ? fmt::encode_records(*response.format, response.records, model)
                        : fmt::encode(*response.format, request.path, response.content, model);
  if (!body) {
    EncodedAnswer refused;
    refused.code = status::kNotAcceptable;
    refused.body = to_bytes(body.error().reason);
    return refused;
  }
  out.content_format = static_cast<std::uint16_t>(*response.format);
  out.body = std::move(*body);
  return out;
}

}  // namespace tether::lwm2m
