#include "http/message.hpp"

#include <algorithm>
#include <cctype>

namespace tether::http {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void Headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const auto& f) { return equals_ignore_case(f.first, name); });
  add(std::move(name), std::move(value));
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (equals_ignore_case(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool bodiless(int status) {
  return status < 200 || status == 204 || status == 304;
}

namespace {

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  // A line break in a value would start a header (or a body) of someone else's choosing.
  for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
}

}  // namespace

std::string serialize_request(const Request& request, std::string_view host) {
  std::string out = request.method + " ";
  // The target goes out as given; a space or line break in it would end the request line.
  for (char c : request.target) out += (c == ' ' || c == '\r' || c == '\n') ? '+' : c;
  out += " HTTP/1.1\r\n";
  append_field(out, "Host", host);
  for (const auto& [name, value] : request.headers.all()) {
    if (equals_ignore_case(name, "Host") || equals_ignore_case(name, "Content-Length") ||
        equals_ignore_case(name, "Transfer-Encoding")) {
      continue;
    }
    append_field(out, name, value);
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    append_field(out, "Content-Length", std::to_string(request.body.size()));
  }
  out += "\r\n";
  out += request.body;
  return out;
}

std::string serialize_head(const Response& response, BodyFraming framing, Persistence persistence) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += reason_phrase(response.status);
  out += "\r\n";
  for (const auto& [name, value] : response.headers.all()) append_field(out, name, value);
  if (framing == BodyFraming::kChunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (framing == BodyFraming::kLength && !bodiless(response.status)) {
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  if (persistence == Persistence::kClose) out += "Connection: close\r\n";
  if (persistence == Persistence::kKeepAlive) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  return out;
}

}  // namespace tether::http
