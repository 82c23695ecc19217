// `tether lwm2m`: the data model and content formats from the command line. It converts
// payloads to typed JSON and back, lists composite paths, and shows the object registry;
// `--models DIR` adds a folder of object-definition XML files to the built-in ones.
#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "commands.hpp"
#include "common/bytes.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/format/link_format.hpp"
#include "lwm2m/json_values.hpp"
#include "lwm2m/model/object_registry.hpp"

namespace tether::app {
namespace {

constexpr const char* kHelp =
    "usage: tether lwm2m decode -f FORMAT [-p PATH] [--models DIR] [--hex] [FILE]\n"
    "       tether lwm2m encode -f FORMAT [-p PATH] [--models DIR] [--hex] [FILE]\n"
    "       tether lwm2m paths decode|encode -f FORMAT [FILE]\n"
    "       tether lwm2m models [--models DIR] [-v]\n"
    "\n"
    "decode reads a payload (stdin when FILE is absent or '-') and prints typed JSON:\n"
    "  {\"/3/0/0\": \"Tether\", \"/3/0/7/0\": 3800}. encode does the reverse.\n"
    "FORMAT: text, octet, tlv, lwm2m+json (decode only), senml+json, senml+cbor,\n"
    "        senml-etch+json, senml-etch+cbor, lwm2m+cbor, link, or a number.\n"
    "PATH is the operation's target path (default /). With -p the tree form is used\n"
    "(TLV, text and opaque need it); without it, the flat record form.\n"
    "--hex reads (decode) or writes (encode) the payload as hex text.\n"
    "paths: Read-/Observe-Composite path lists, one path per line in text form.\n";

Bytes read_input(const std::string& file) {
  const bool from_stdin = file.empty() || file == "-";
  std::FILE* in = from_stdin ? stdin : std::fopen(file.c_str(), "rb");
  if (!in) throw std::invalid_argument("cannot read " + file);
  Bytes data;
  std::uint8_t chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, in)) > 0;)
    data.insert(data.end(), chunk, chunk + n);
  if (!from_stdin) std::fclose(in);
  return data;
}

void write_output(const Bytes& payload, bool hex) {
  if (hex) {
    std::puts(to_hex(payload).c_str());
    return;
  }
  std::fwrite(payload.data(), 1, payload.size(), stdout);
}

template <typename T>
T check(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().reason);
  return std::move(*r);
}

struct Options {
  std::optional<lwm2m::format::ContentFormat> format;
  std::optional<lwm2m::Path> path;
  std::string models;
  bool hex = false;
  bool verbose = false;
  std::vector<std::string> positional;
};

Options parse(const std::vector<std::string>& args) {
  Options o;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--format", "-f")) {
      auto number = parse_content_format(r.value());
      o.format = lwm2m::format::content_format_from(number);
      if (!o.format) throw std::invalid_argument("not an LwM2M content format");
    } else if (r.is("--path", "-p")) {
      o.path = check(lwm2m::Path::parse(r.value()));
    } else if (r.is("--models")) {
      o.models = r.value();
    } else if (r.is("--hex")) {
      o.hex = true;
    } else if (r.is("--verbose", "-v")) {
      o.verbose = true;
    } else if (r.current().size() > 1 && r.current()[0] == '-') {
      throw std::invalid_argument("unknown option " + r.current());
    } else {
      o.positional.push_back(r.current());
    }
  }
  return o;
}

lwm2m::model::ObjectRegistry load_registry(const Options& o) {
  auto registry = lwm2m::model::ObjectRegistry::with_builtin();
  if (!o.models.empty()) check(registry.load_directory(o.models));
  return registry;
}

int list_models(const Options& o) {
  auto registry = load_registry(o);
  for (const auto* def : registry.all()) {
    std::printf("%5u  %-4s %-32s %s %zu resources%s\n", def->id, def->version.c_str(),
                def->name.c_str(), def->multiple ? "multiple" : "single  ", def->resources.size(),
                def->approximate ? " (registry package: operations unknown)" : "");
    if (!o.verbose) continue;
    for (const auto& r : def->resources) {
      std::printf("         %5u %-40s %-3s %-16s %s\n", r.id, r.name.c_str(),
                  r.executable()                 ? "E"
                  : r.readable() && r.writable() ? "RW"
                  : r.readable()                 ? "R"
                                                 : "W",
                  std::string(lwm2m::name_of(r.type)).c_str(), r.multiple ? "multiple" : "");
    }
  }
  return 0;
}

int paths_command(const Options& o) {
  if (o.positional.empty() || !o.format)
    throw std::invalid_argument("paths needs decode|encode -f");
  const std::string file = o.positional.size() > 1 ? o.positional[1] : "";
  Bytes input = read_input(file);
  if (o.positional[0] == "decode") {
    if (o.hex) input = check(from_hex(to_string(input)));
    for (const auto& p : check(lwm2m::format::decode_paths(*o.format, input)))
      std::puts(p.to_string().c_str());
    return 0;
  }
  std::vector<lwm2m::Path> paths;
  std::string text = to_string(input), line;
  for (std::size_t at = 0; at <= text.size();) {
    auto nl = text.find('\n', at);
    line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (!line.empty()) paths.push_back(check(lwm2m::Path::parse(line)));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  write_output(check(lwm2m::format::encode_paths(*o.format, paths)), o.hex);
  return 0;
}

}  // namespace

int lwm2m_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
  }
  Options o = parse(args);
  if (o.positional.empty()) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  const std::string verb = o.positional[0];
  o.positional.erase(o.positional.begin());
  if (verb == "models") return list_models(o);
  if (verb == "paths") return paths_command(o);
  if (verb != "decode" && verb != "encode") {
    std::fputs(kHelp, stderr);
    return 2;
  }
  if (!o.format) throw std::invalid_argument(verb + " needs -f FORMAT");
  const auto registry = load_registry(o);
  Bytes input = read_input(o.positional.empty() ? "" : o.positional[0]);
  using lwm2m::format::ContentFormat;

  if (*o.format == ContentFormat::kLinkFormat) {
    if (verb == "encode") throw std::invalid_argument("link-format payloads are written as text");
    std::string text = to_string(input);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    for (const auto& link : check(lwm2m::format::link_format::parse(text))) {
      std::printf("%s", link.target.c_str());
      for (const auto& p : link.params)
        std::printf(" %s%s%s", p.name.c_str(), p.value ? "=" : "", p.value ? p.value->c_str() : "");
      std::puts("");
    }
    return 0;
  }

  if (verb == "decode") {
    if (o.hex) input = check(from_hex(to_string(input)));
    std::vector<lwm2m::Record> records;
    if (o.path) {
      records = check(lwm2m::format::decode(*o.format, *o.path, input, registry)).records();
    } else {
      records = check(lwm2m::format::decode_records(*o.format, input, registry));
    }
    std::puts(lwm2m::records_to_json(records, 2).c_str());
    return 0;
  }
  auto records = check(lwm2m::records_from_json(to_string(input), registry));
  Bytes payload;
  if (o.path) {
    auto tree = check(lwm2m::Tree::from_records(records));
    payload = check(lwm2m::format::encode(*o.format, *o.path, tree, registry));
  } else {
    payload = check(lwm2m::format::encode_records(*o.format, records, registry));
  }
  write_output(payload, o.hex);
  return 0;
}

}  // namespace tether::app
