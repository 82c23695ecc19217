// An HTTP/1.1 server connection fed arbitrary bytes in arbitrary pieces, with time moving
// on: whatever a peer sends, requests stay within the limits, every request is answered
// before the next is handed out, output is bounded, and a finished connection stays
// finished. Routing runs on every path that gets through.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "http/router.hpp"
#include "http/server_connection.hpp"
#include "http/uri.hpp"

namespace {
[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_http_connection: %s\n", what);
  std::abort();
}

const tether::http::Router& router() {
  static const tether::http::Router r = [] {
    tether::http::Router out;
    out.add("GET", "/api/clients/{ep}");
    out.add("GET", "/api/clients/{ep}/{path:ids}/observe");
    out.add("PUT", "/api/bootstrap/{ep}");
    return out;
  }();
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tether;
  using namespace tether::http;
  if (size < 2) return 0;
  ConnectionLimits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 256;
  limits.max_output_bytes = 4096;
  limits.max_buffered_input = 1024;
  Instant now = instant_at(Duration{1'000'000});
  ServerConnection c(limits, now);
  const std::size_t piece = 1 + data[0] % 64;
  const bool stream = (data[1] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  bool was_finished = false;
  int requests = 0;
  while (!rest.empty()) {
    const auto chunk = rest.substr(0, piece);
    rest.remove_prefix(chunk.size());
    if (c.wants_input()) c.receive(chunk, now);
    while (auto r = c.take_request()) {
      ++requests;
      if (r->body.size() > limits.max_body_bytes) mismatch("a body over the cap");
      if (r->target.size() > limits.max_header_bytes) mismatch("a target over the cap");
      if (c.take_request()) mismatch("a second request before the first was answered");
      (void)router().find(r->method, r->path);
      (void)parse_query(r->query);
      if (stream && requests % 2 == 0) {
        c.start_stream(c.current_request(), Response{}, now);
        for (int i = 0; i < 200 && c.write_stream(c.current_request(), "data: x\n\n", now); ++i) {
        }
        c.end_stream(c.current_request(), now);
      } else {
        c.respond(c.current_request(), Response::text(200, std::string(r->body)), now);
      }
    }
    if (c.output().size() > limits.max_output_bytes + 2 * limits.max_body_bytes + 1024) {
      mismatch("unbounded output");
    }
    // The peer reads half of what is there; time moves by the next byte's value.
    c.consumed(c.output().size() / 2, now);
    now += Duration{
        static_cast<std::int64_t>(chunk.empty() ? 0 : static_cast<std::uint8_t>(chunk[0])) * 100};
    if (auto due = c.next_deadline(); due && *due <= now) c.on_timer(now);
    if (was_finished && !c.finished()) mismatch("a finished connection came back");
    was_finished = c.finished();
  }
  return 0;
}
