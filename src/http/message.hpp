#pragma once
// HTTP/1.1 messages as values (RFC 9110, 9112), shared by the REST APIs and, later, the HTTP
// binding of Transport TS 7. No sockets here: src/http is sans-I/O like src/coap.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tether::http {

// Header fields in arrival order; names compare case-insensitively (RFC 9110 5.1).
class Headers {
 public:
  void add(std::string name, std::string value);
  // Replaces every field of that name with one.
  void set(std::string name, std::string value);
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& all() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;     // "GET", "PUT", ...
  std::string target;     // the request-target as sent ("/api/clients/a%2Fb?timeout=5")
  std::string path;       // its path, still percent-encoded ("/api/clients/a%2Fb")
  std::string query;      // after '?', still encoded ("timeout=5")
  int version_minor = 1;  // HTTP/1.x
  Headers headers;
  std::string body;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response text(int status, std::string body, std::string content_type = "text/plain");
};

// Header names, schemes and tokens compare without regard to ASCII case (RFC 9110 5.1).
bool equals_ignore_case(std::string_view a, std::string_view b);

// "OK", "Not Found", ... ("Unknown" for a code without a phrase here).
std::string_view reason_phrase(int status);
// Whether a response with this status carries no body (RFC 9112 6.3: 1xx, 204, 304).
bool bodiless(int status);

// How the body that follows a head is delimited (RFC 9112 6).
enum class BodyFraming {
  kLength,      // Content-Length (none for bodiless statuses)
  kChunked,     // Transfer-Encoding: chunked
  kUntilClose,  // no length: the body ends with the connection (HTTP/1.0 streams)
};
// How the connection goes on after this response.
enum class Persistence {
  kDefault,    // HTTP/1.1's default: kept, nothing said
  kKeepAlive,  // an HTTP/1.0 peer that asked to keep it: "Connection: keep-alive"
  kClose,      // "Connection: close"
};
// The status line and header fields, then the empty line.
std::string serialize_head(const Response& response, BodyFraming framing, Persistence persistence);
// A whole request, with Host and Content-Length added (and any the request set dropped):
// the request line, the fields, the empty line and the body.
std::string serialize_request(const Request& request, std::string_view host);

}  // namespace tether::http
