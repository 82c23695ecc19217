#include "console_source.hpp"

#include <fstream>
#include <functional>
#include <sstream>

#include "option_table.hpp"

namespace tether::app {

namespace {
std::string text_of(std::span<const unsigned char> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  // Through a string stream: GCC 12 at -O3 sees a null dereference in istreambuf_iterator.
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// A built file's name: letters, digits, '-', '_' and one or more '.', never a path.
bool plain_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}
}  // namespace

void serve_console(api::HttpService& http, const ServiceOptions& o) {
  if (!o.console_dir.empty()) {
    http.serve_console(console_directory(o.console_dir));
  } else if (o.console) {
    http.serve_console(embedded_console());
  }
}

api::ConsoleSource embedded_console() {
  return [](std::string_view name) -> std::optional<api::ConsoleFile> {
    for (const auto& f : embedded_console_files()) {
      if (name == f.name) {
        return api::ConsoleFile{f.content_type, f.etag, text_of(f.body), text_of(f.gzip)};
      }
    }
    return std::nullopt;
  };
}

api::ConsoleSource console_directory(std::string dir) {
  return [dir = std::move(dir)](std::string_view name) -> std::optional<api::ConsoleFile> {
    if (!plain_name(name) || name.ends_with(".gz")) return std::nullopt;
    auto body = read_file(dir + "/" + std::string(name));
    if (!body) return std::nullopt;
    std::ostringstream etag;
    etag << '"' << std::hex << std::hash<std::string>{}(*body) << '"';
    // No gzip from a folder: it is for working on the console, on loopback.
    return api::ConsoleFile{content_type_of(name), etag.str(), std::move(*body), {}};
  };
}

}  // namespace tether::app
