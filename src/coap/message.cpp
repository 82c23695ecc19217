#include "coap/message.hpp"

namespace tether::coap {

const char* type_name(Type t) {
  switch (t) {
    case Type::kConfirmable:
      return "CON";
    case Type::kNonConfirmable:
      return "NON";
    case Type::kAcknowledgement:
      return "ACK";
    case Type::kReset:
      return "RST";
  }
  return "?";
}

namespace {
std::string join_segments(const Options& options, std::uint16_t number) {
  std::string out;
  for (const auto* o : options.all(number)) {
    out.push_back('/');
    out.append(o->value.begin(), o->value.end());
  }
  return out.empty() ? "/" : out;
}
}  // namespace

std::string Message::path() const {
  return join_segments(options, option::kUriPath);
}
std::string Message::location_path() const {
  return join_segments(options, option::kLocationPath);
}

void Message::set_path(std::string_view path) {
  options.remove(option::kUriPath);
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    options.add(option::kUriPath, path.substr(start, end - start));
    start = end;
  }
}

std::optional<std::uint16_t> Message::content_format() const {
  auto v = options.get_uint(option::kContentFormat);
  if (!v || *v > 0xffff) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

std::optional<std::uint16_t> Message::accept() const {
  auto v = options.get_uint(option::kAccept);
  if (!v || *v > 0xffff) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

std::optional<std::uint32_t> Message::observe() const {
  const Option* o = options.find(option::kObserve);
  if (o == nullptr) return std::nullopt;
  auto v = decode_uint(o->value, 3);
  if (!v) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

std::string Message::summary() const {
  std::string s = type_name(type);
  s += ' ';
  s += code.describe();
  s += " mid=" + std::to_string(message_id);
  if (!token.empty()) s += " token=" + to_hex(token);
  if (code.is_request()) s += ' ' + path();
  if (auto obs = observe()) s += " obs=" + std::to_string(*obs);
  if (!payload.empty()) s += " (" + std::to_string(payload.size()) + " bytes)";
  return s;
}

Message make_request(Code method, std::string_view path) {
  Message m;
  m.code = method;
  m.set_path(path);
  return m;
}

Message make_response(const Message& request, Code code) {
  Message m;
  m.code = code;
  m.token = request.token;
  return m;
}

}  // namespace tether::coap
