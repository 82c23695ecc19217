// parse_uri on arbitrary text; what it accepts must be usable to build a request.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "coap/udp_codec.hpp"
#include "coap/uri.hpp"

namespace {
[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_uri: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tether;
  using namespace tether::coap;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto uri = parse_uri(text);
  if (!uri) {
    if (uri.error().reason.empty()) mismatch("error without a reason");
    return 0;
  }
  if (uri->host.empty()) mismatch("accepted a URI without a host");
  if (uri->port == 0) mismatch("accepted port 0");
  if (text.find('#') != std::string_view::npos) mismatch("accepted a fragment");

  Message req = make_request(codes::kGet, "");
  uri->apply_to(req);
  if (req.options.all(option::kUriPath).size() != uri->path.size()) mismatch("lost a segment");
  if (req.options.all(option::kUriQuery).size() != uri->query.size()) mismatch("lost a query");
  std::size_t longest = 0;
  for (const auto& o : req.options.list()) longest = std::max(longest, o.value.size());
  if (longest <= 65535 + 269) {
    auto back = decode_udp(encode_udp(req));
    if (!back || !(*back == req)) mismatch("request built from the URI does not round-trip");
  }
  return 0;
}
