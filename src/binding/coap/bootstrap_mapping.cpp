#include "binding/coap/bootstrap_mapping.hpp"

#include "common/text.hpp"
#include "lwm2m/operation/status.hpp"

namespace tether::binding::coap_binding {

namespace {
using coap::Message;
namespace codes = coap::codes;
using lwm2m::reject;
namespace status = lwm2m::status;
}  // namespace

Result<BootstrapUplink> decode_bootstrap_uplink(const Message& request) {
  const auto segments = request.options.strings(coap::option::kUriPath);
  if (segments.size() != 1 ||
      (segments[0] != kBootstrapRoot && segments[0] != kBootstrapPackRoot)) {
    return reject(status::kNotFound, "no such resource " + printable(request.path(), 64));
  }
  if (segments[0] == kBootstrapRoot) {
    if (request.code != codes::kPost) {
      return reject(status::kMethodNotAllowed, "Bootstrap-Request is a POST to /bs");
    }
    auto params = lwm2m::parse_bootstrap_params(request.queries(), true);
    if (!params) return params.error();
    return BootstrapUplink{std::move(*params)};
  }
  if (request.code != codes::kGet) {
    return reject(status::kMethodNotAllowed, "Bootstrap-Pack-Request is a GET of /bspack");
  }
  auto params = lwm2m::parse_bootstrap_params(request.queries(), false);
  if (!params) return params.error();
  lwm2m::BootstrapPackRequest pack;
  pack.endpoint = std::move(params->endpoint);
  if (auto accept = request.options.get_uint(coap::option::kAccept)) {
    pack.accept = static_cast<std::uint16_t>(*accept);
  }
  return BootstrapUplink{std::move(pack)};
}

Message encode_bootstrap_request(const lwm2m::BootstrapRequest& request) {
  Message m = coap::make_request(codes::kPost, std::string("/") + kBootstrapRoot);
  for (const auto& q : lwm2m::to_queries(request)) m.add_query(q);
  return m;
}

Message encode_bootstrap_pack_request(const lwm2m::BootstrapPackRequest& request) {
  Message m = coap::make_request(codes::kGet, std::string("/") + kBootstrapPackRoot);
  if (request.endpoint) m.add_query("ep=" + *request.endpoint);
  if (request.accept) m.options.set_uint(coap::option::kAccept, *request.accept);
  return m;
}

}  // namespace tether::binding::coap_binding
