// `tether coap METHOD URI`: a CoAP client for coap://, coap+tcp://, coaps:// and
// coaps+tcp:// URIs, secured with the same credential flags as `tether client`.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli_options.hpp"
#include "coap/uri.hpp"
#include "commands.hpp"
#include "credential_flags.hpp"
#include "oscore/oscore_layer.hpp"
#include "oscore_flags.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

namespace {
constexpr const char* kClientHelp =
    "usage: tether coap get|put|post|delete|fetch|patch|ipatch URI [options]\n"
    "  URI                    coap://host[:port]/path?query, coap+tcp://, coaps://,\n"
    "                         coaps+tcp:// (with the credential flags below)\n"
    "  -e, --payload TEXT     request payload\n"
    "  -f, --payload-file F   request payload from a file ('-' for stdin)\n"
    "  -t, --content-format CF  payload format: text, link, octet, json, cbor, senml+json,\n"
    "                         senml+cbor, tlv, lwm2m+json, lwm2m+cbor, or a number\n"
    "  -A, --accept CF        wanted response format\n"
    "  -b, --block-size N     block size for Block1/Block2 (16..1024)\n"
    "  -s, --observe          observe (GET/FETCH); prints each notification\n"
    "      --duration S       observe for S seconds (default: until interrupted)\n"
    "      --count N          stop observing after N notifications\n"
    "  -N, --non              send a non-confirmable request\n"
    "  -o, --output FILE      write the response payload to FILE\n"
    "  -T, --timeout S        give up after S seconds (default 90)\n"
    "  -O, --option N[,VALUE] add option number N (VALUE text, or 0x followed by hex)\n"
    "  -P, --proxy URI        send through this forward proxy (coap:// or coap+tcp://);\n"
    "                         with OSCORE it reads neither payload nor protected options\n"
    "  -v, --verbose          print the response code and every option to stderr\n"
    "\n"
    "usage: tether coap serve [--port N] [--bind HOST] [--udp-only|--tcp-only] [--oscore-...]\n"
    "  A test server on UDP and TCP: /hello, /store (GET/PUT/POST/DELETE), /large (100 KiB,\n"
    "  block-wise), /counter (observable, changes every second), /.well-known/core\n";

std::optional<coap::Code> method_from(const std::string& m) {
  if (m == "get") return coap::codes::kGet;
  if (m == "put") return coap::codes::kPut;
  if (m == "post") return coap::codes::kPost;
  if (m == "delete") return coap::codes::kDelete;
  if (m == "fetch") return coap::codes::kFetch;
  if (m == "patch") return coap::codes::kPatch;
  if (m == "ipatch") return coap::codes::kIPatch;
  return std::nullopt;
}

Bytes read_file(const std::string& path) {
  if (path == "-") return Bytes(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::unique_ptr<transport::Transport> open_transport(
    transport::EventLoop& loop, Random& random, const coap::Uri& uri,
    const std::optional<transport::SecureOptions>& secure, const oscore::SharedContext& oscore) {
  coap::EndpointConfig config;
  if (oscore != nullptr) {
    // One peer: every request to it is protected, its answers verified.
    oscore::OscorePeers peers;
    peers.context_for_peer = [oscore](coap::PeerId) { return oscore; };
    config.decorator = std::make_shared<oscore::OscoreDecorator>(peers);
  }
  if (uri.is_stream()) {
    transport::TcpOptions options;
    options.listen = false;
    options.secure = secure;
    return std::make_unique<transport::TcpTransport>(loop, config, random, options);
  }
  transport::UdpOptions options;
  options.secure = secure;
  options.report_unreachable = true;  // one peer: an ICMP error ends the request at once
  try {
    return std::make_unique<transport::UdpTransport>(loop, config, random, options);
  } catch (const std::exception&) {
    // No IPv6 on this host: fall back to an IPv4 socket.
    options.bind_host = "0.0.0.0";
    return std::make_unique<transport::UdpTransport>(loop, config, random, options);
  }
}

// -O N[,VALUE]: the option as given; "0x..." is hex, anything else text.
void add_raw_option(coap::Message& m, const std::string& spec) {
  const auto comma = spec.find(',');
  const auto number = parse_number(spec.substr(0, comma), 65535);
  Bytes value;
  if (comma != std::string::npos) {
    const std::string text = spec.substr(comma + 1);
    if (text.starts_with("0x")) {
      auto hex = from_hex(text.substr(2));
      if (!hex) throw std::invalid_argument("-O " + spec + ": not hex after 0x");
      value = std::move(*hex);
    } else {
      value = to_bytes(text);
    }
  }
  m.options.add(static_cast<std::uint16_t>(number), std::move(value));
}

// -v: the code, then each option by name with its value as text when printable.
void print_response(const coap::Message& m) {
  std::fprintf(stderr, "%s (%zu bytes)\n", m.code.describe().c_str(), m.payload.size());
  for (const auto& o : m.options.list()) {
    const char* name = coap::option::name(o.number);
    bool text = !o.value.empty();
    for (auto b : o.value) text = text && b >= 0x20 && b < 0x7f;
    std::uint64_t n = 0;
    for (auto b : o.value) n = (n << 8) | b;
    const std::string shown = text ? "\"" + to_string(o.value) + "\""
                              : o.value.size() <= 4
                                  ? std::to_string(n) + " (0x" + to_hex(o.value) + ")"
                                  : "0x" + to_hex(o.value);
    std::fprintf(stderr, "  %s (%u): %s\n", name != nullptr ? name : "option", o.number,
                 shown.c_str());
  }
}
}  // namespace

int coap_client(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::optional<Bytes> payload;
  std::optional<std::uint16_t> content_format;
  std::optional<std::uint16_t> accept;
  std::optional<std::uint8_t> block_szx;
  bool observe = false;
  bool non = false;
  bool verbose = false;
  std::optional<double> duration;
  std::optional<std::uint64_t> count;
  std::string output;
  double timeout_s = 90;
  std::vector<std::string> raw_options;
  CredentialFlags credentials;
  OscoreFlags oscore_flags;
  std::string proxy;

  ArgReader r(args);
  while (r.next()) {
    if (r.is("--help", "-h")) {
      std::fputs(kClientHelp, stdout);
      std::fputs(kCredentialHelp, stdout);
      std::fputs(kOscoreHelp, stdout);
      return 0;
    } else if (r.is("--payload", "-e")) {
      payload = to_bytes(r.value());
    } else if (r.is("--payload-file", "-f")) {
      payload = read_file(r.value());
    } else if (r.is("--content-format", "-t")) {
      content_format = parse_content_format(r.value());
    } else if (r.is("--accept", "-A")) {
      accept = parse_content_format(r.value());
    } else if (r.is("--block-size", "-b")) {
      auto szx = coap::szx_for_size(parse_number(r.value(), 1024));
      if (!szx) throw std::invalid_argument("block size must be 16, 32, ..., 1024");
      block_szx = *szx;
    } else if (r.is("--observe", "-s")) {
      observe = true;
    } else if (r.is("--duration")) {
      duration = static_cast<double>(parse_number(r.value(), 1u << 30));
    } else if (r.is("--count")) {
      count = parse_number(r.value(), 1u << 30);
    } else if (r.is("--non", "-N")) {
      non = true;
    } else if (r.is("--output", "-o")) {
      output = r.value();
    } else if (r.is("--timeout", "-T")) {
      timeout_s = static_cast<double>(parse_number(r.value(), 86400));
    } else if (r.is("--verbose", "-v")) {
      verbose = true;
    } else if (r.is("--option", "-O")) {
      raw_options.push_back(r.value());
    } else if (r.is("--proxy", "-P")) {
      proxy = r.value();
    } else if (take_credential_flag(r, credentials) || take_oscore_flag(r, oscore_flags)) {
      continue;
    } else if (!r.current().empty() && r.current()[0] == '-') {
      throw std::invalid_argument("unknown option " + r.current());
    } else {
      positional.push_back(r.current());
    }
  }
  if (positional.size() != 2) {
    std::fputs(kClientHelp, stderr);
    return 2;
  }
  auto method = method_from(positional[0]);
  if (!method) throw std::invalid_argument("unknown method " + positional[0]);
  auto uri = coap::parse_uri(positional[1]);
  if (!uri) throw std::invalid_argument(uri.error().reason);

  coap::Message request;
  request.code = *method;
  request.type = non ? coap::Type::kNonConfirmable : coap::Type::kConfirmable;
  uri->apply_to(request);
  if (observe) request.set_observe(0);
  if (content_format) request.set_content_format(*content_format);
  if (accept) request.options.set_uint(coap::option::kAccept, *accept);
  if (payload) request.payload = std::move(*payload);
  for (const auto& spec : raw_options) add_raw_option(request, spec);
  // RFC 7252 5.7.2: to a forward proxy, naming the server; our carrier is the proxy's.
  auto hop = *uri;
  if (!proxy.empty()) {
    auto p = coap::parse_uri(proxy);
    if (!p || p->is_secure())
      throw std::invalid_argument("--proxy takes a coap:// or coap+tcp:// URI");
    if (uri->is_secure())
      throw std::invalid_argument("(D)TLS ends at a proxy: use OSCORE through it");
    coap::set_proxy_target(request, *uri);
    hop = *p;
  }

  transport::EventLoop loop;
  SystemRandom random;
  tls::GnutlsBackend tls_backend;
  std::optional<transport::SecureOptions> secure;
  if (uri->is_secure()) secure = transport::SecureOptions{&tls_backend, tls::SecureLayerConfig{}};
  auto transport = open_transport(loop, random, hop, secure, oscore_context(oscore_flags));
  auto peer = transport->peer_for(hop.host, hop.port);
  if (!peer) throw std::runtime_error(peer.error().reason);
  int exit_code = 3;         // timeout unless a response arrives
  bool unreachable = false;  // said once: the request's own failure that follows is not news
  if (auto* udp = dynamic_cast<transport::UdpTransport*>(transport.get())) {
    udp->set_unreachable_handler([&](const std::string& address, const std::string& error) {
      std::fprintf(stderr, "error: %s: %s (ICMP)\n", address.c_str(), error.c_str());
      unreachable = true;
      exit_code = 3;
      loop.stop();
    });
  }
  if (uri->is_secure()) {
    transport->secure_layer()->set_credentials(
        *peer, client_credentials(credentials, positional[1]), loop.now());
  }

  FILE* out = stdout;
  std::unique_ptr<FILE, int (*)(FILE*)> out_file(nullptr, &std::fclose);
  if (!output.empty()) {
    out_file.reset(std::fopen(output.c_str(), "wb"));
    if (!out_file) throw std::runtime_error("cannot write " + output);
    out = out_file.get();
  }

  std::uint64_t notifications = 0;
  coap::RequestId id = 0;
  bool cancelling = false;
  auto stop_observing = [&] {
    if (cancelling) return;
    cancelling = true;
    transport->endpoint().cancel(id, true, loop.now());
    transport->flush();
    // Give the cancellation a moment to reach the server, then leave.
    loop.schedule(loop.now() + Duration{500}, [&loop] { loop.stop(); });
  };
  auto on_response = [&](Result<coap::Message> response) {
    if (!response) {
      if (!unreachable) std::fprintf(stderr, "error: %s\n", response.error().reason.c_str());
      exit_code = 3;
      loop.stop();
      return;
    }
    const coap::Message& m = *response;
    if (verbose) {
      print_response(m);
    } else if (!m.code.is_success()) {
      std::fprintf(stderr, "%s (%zu bytes)\n", m.code.describe().c_str(), m.payload.size());
    }
    if (!m.payload.empty()) std::fwrite(m.payload.data(), 1, m.payload.size(), out);
    // On a terminal the prompt starts on a line of its own; files get the bytes as they are.
    if (!m.payload.empty() && m.payload.back() != '\n' && !(observe && m.observe()) &&
        isatty(fileno(out)) != 0) {
      std::fputc('\n', out);
    }
    exit_code = m.code.is_success() ? 0 : 1;
    if (observe && m.observe() && m.code.is_success()) {
      std::fputc('\n', out);
      std::fflush(out);
      ++notifications;
      if (count && notifications >= *count) stop_observing();
      return;
    }
    std::fflush(out);
    loop.stop();
  };
  coap::RequestOptions options;
  options.block_szx = block_szx;
  options.timeout = Duration{static_cast<std::int64_t>(timeout_s * 1000)};
  id = transport->endpoint().request(*peer, std::move(request), on_response, loop.now(), options);
  transport->flush();
  const Instant start = loop.now();
  if (observe && duration) {
    loop.schedule(start + Duration{static_cast<std::int64_t>(*duration * 1000)}, stop_observing);
  }
  loop.run(
      start + Duration{static_cast<std::int64_t>(timeout_s * 1000)} +
      (observe && duration ? Duration{static_cast<std::int64_t>(*duration * 1000)} : Duration{0}));
  if (observe && notifications > 0) exit_code = 0;
  return exit_code;
}

std::uint16_t parse_content_format(const std::string& text) {
  using namespace coap::content_format;
  static const std::pair<const char*, std::uint16_t> kNames[] = {
      {"text", kTextPlain},
      {"link", kLinkFormat},
      {"octet", kOctetStream},
      {"json", kJson},
      {"cbor", kCbor},
      {"senml+json", kSenmlJson},
      {"senml+cbor", kSenmlCbor},
      {"tlv", kLwm2mTlv},
      {"lwm2m+json", kLwm2mJson},
      {"lwm2m+cbor", kLwm2mCbor},
      {"senml-etch+json", kSenmlEtchJson},
      {"senml-etch+cbor", kSenmlEtchCbor}};
  for (const auto& [name, cf] : kNames) {
    if (text == name) return cf;
  }
  return static_cast<std::uint16_t>(parse_number(text, 65535));
}

std::uint64_t parse_number(const std::string& text, std::uint64_t max) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v > max) {
    throw std::invalid_argument("expected a number up to " + std::to_string(max) + ": " + text);
  }
  return v;
}

}  // namespace tether::app
