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

}  // namespace tether::lwm2m
