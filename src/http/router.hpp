#pragma once
// Routes a request to its handler by method and path pattern, without regular expressions
// (libstdc++'s std::regex recurses per character: a long hostile path could exhaust the
// stack). A pattern is a list of segments:
//   literal      "clients"   that segment, exactly
//   {name}       one segment, percent-decoded (so "a%2Fb" is the name "a/b")
//   {name:ids}   one to four all-digit segments, captured as "/3/0/1" (an LwM2M path)
// Captured text must be UTF-8 without control characters, else the request is a 400.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tether::http {

class RoutePattern {
 public:
  // Throws std::invalid_argument for a pattern that is not well formed (a programming error).
  explicit RoutePattern(std::string_view pattern);
  // The captures in order, nullopt when the path does not match, or an error (a capture that
  // does not decode to clean text).
  std::optional<Result<std::vector<std::string>>> match(
      const std::vector<std::string_view>& segments) const;

 private:
  enum class Kind { kLiteral, kSegment, kIds };
  struct Part {
    Kind kind;
    std::string text;  // the literal
  };
  bool match_from(const std::vector<std::string_view>& segments, std::size_t si, std::size_t pi,
                  std::vector<std::string_view>& raw) const;
  std::vector<Part> parts_;
};

struct RouteOutcome {
  int status = 200;  // 200: found; 404 no such path; 405 path without this method; 400 bad capture
  std::string message;
  std::size_t index = 0;  // the route found
  std::vector<std::string> captures;
};

// Routes in the order added; the first that matches path and method wins.
class Router {
 public:
  // Returns the route's index, for the owner's table of handlers.
  std::size_t add(std::string method, std::string_view pattern);
  RouteOutcome find(std::string_view method, std::string_view encoded_path) const;

 private:
  struct Route {
    std::string method;
    RoutePattern pattern;
  };
  std::vector<Route> routes_;
};

}  // namespace tether::http
