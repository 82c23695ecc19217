// `tether coap serve`: a small CoAP test server on UDP and TCP with a text resource, a
// writable store, a 100 KiB resource for block-wise transfers and an observable counter.
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli_options.hpp"
#include "commands.hpp"
#include "oscore/oscore_layer.hpp"
#include "oscore_flags.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

namespace {
using coap::Message;
namespace codes = coap::codes;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) {
  g_stop = 1;
}

// IPv6 literals go in brackets inside a URI.
std::string host_for_uri(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

Bytes large_body() {
  // 100 KiB of numbered lines, so a corrupted or reordered block shows in a diff.
  Bytes body;
  body.reserve(102400);
  for (int line = 0; body.size() < 102400; ++line) {
    char buf[64];
    const int n = std::snprintf(buf, sizeof(buf), "%06d tether block-wise test line\n", line);
    body.insert(body.end(), buf, buf + n);
  }
  body.resize(102400);
  return body;
}

class TestServer {
 public:
  explicit TestServer(transport::EventLoop& loop) : loop_(loop), large_(large_body()) {}

  void attach(transport::Transport& t) {
    transports_.push_back(&t);
    t.endpoint().set_request_handler(
        [this, &t](coap::PeerId peer, const Message& req, coap::Responder responder) {
          handle(t, peer, req, responder);
        });
    t.endpoint().set_observation_ended_handler([this, &t](coap::ObservationId id, coap::Failure) {
      std::erase_if(observers_, [&](const Observer& o) { return o.transport == &t && o.id == id; });
    });
  }

  void tick(Duration interval, coap::Type notify_type) {
    ++counter_;
    for (auto& o : std::vector<Observer>(observers_)) {
      Message n;
      n.code = codes::kContent;
      n.set_content_format(coap::content_format::kTextPlain);
      n.payload = to_bytes(std::to_string(counter_));
      o.transport->endpoint().notify(o.id, std::move(n), notify_type, loop_.now());
      o.transport->flush();
    }
    loop_.schedule(loop_.now() + interval,
                   [this, interval, notify_type] { tick(interval, notify_type); });
  }

 private:
  struct Observer {
    transport::Transport* transport;
    coap::ObservationId id;
  };

  void handle(transport::Transport& t, coap::PeerId peer, const Message& req,
              const coap::Responder& responder) {
    const std::string path = req.path();
    Message res;
    res.code = codes::kMethodNotAllowed;
    const bool read = req.code == codes::kGet || req.code == codes::kFetch;
    if (path == "/.well-known/core" && read) {
      res.code = codes::kContent;
      res.set_content_format(coap::content_format::kLinkFormat);
      res.payload = to_bytes(
          "</hello>;rt=\"tether.hello\";ct=0,</store>;ct=42,</large>;sz=102400,"
          "</counter>;obs;ct=0");
    } else if (path == "/hello" && read) {
      res.code = codes::kContent;
      res.set_content_format(coap::content_format::kTextPlain);
      res.payload = to_bytes("Hello from Tether");
    } else if (path == "/large" && read) {
      res.code = codes::kContent;
      res.set_content_format(coap::content_format::kTextPlain);
      res.payload = large_;
    } else if (path == "/counter" && read) {
      res.code = codes::kContent;
      res.set_content_format(coap::content_format::kTextPlain);
      res.payload = to_bytes(std::to_string(counter_));
      if (req.observe() == 0u) res.set_observe(0);
    } else if (path == "/store") {
      if (read) {
        res.code = codes::kContent;
        res.set_content_format(store_format_);
        res.payload = store_;
      } else if (req.code == codes::kPut || req.code == codes::kPost) {
        res.code = store_exists_ ? codes::kChanged : codes::kCreated;
        store_ = req.payload;
        store_format_ = req.content_format().value_or(coap::content_format::kOctetStream);
        store_exists_ = true;
      } else if (req.code == codes::kDelete) {
        res.code = codes::kDeleted;
        store_.clear();
        store_exists_ = false;
      }
    } else if (path != "/hello" && path != "/large" && path != "/counter" &&
               path != "/.well-known/core") {
      res.code = codes::kNotFound;
    }
    std::fprintf(stderr, "%s %s %s -> %s\n", t.describe(peer).c_str(),
                 coap::method_name(req.code).c_str(), path.c_str(), res.code.to_string().c_str());
    if (auto id = responder.respond(std::move(res), loop_.now())) {
      observers_.push_back(Observer{&t, *id});
    }
  }

  transport::EventLoop& loop_;
  std::vector<transport::Transport*> transports_;
  std::vector<Observer> observers_;
  Bytes large_;
  Bytes store_;
  std::uint16_t store_format_ = coap::content_format::kOctetStream;
  bool store_exists_ = false;
  std::uint64_t counter_ = 0;
};
}  // namespace

int coap_serve(const std::vector<std::string>& args) {
  std::uint16_t port = 5683;
  std::string bind = "::";
  bool udp = true;
  bool tcp = true;
  OscoreFlags oscore_flags;
  Duration interval{1000};
  coap::Type notify_type = coap::Type::kConfirmable;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--port", "-p")) {
      port = static_cast<std::uint16_t>(parse_number(r.value(), 65535));
    } else if (r.is("--bind")) {
      bind = r.value();
    } else if (r.is("--udp-only")) {
      tcp = false;
    } else if (r.is("--tcp-only")) {
      udp = false;
    } else if (r.is("--interval-ms")) {
      interval = Duration{static_cast<std::int64_t>(parse_number(r.value(), 3600000))};
    } else if (r.is("--non-notifications")) {
      notify_type = coap::Type::kNonConfirmable;
    } else if (take_oscore_flag(r, oscore_flags)) {
      continue;
    } else {
      throw std::invalid_argument("unknown option " + r.current() + " (see tether coap --help)");
    }
  }

  transport::EventLoop loop;
  SystemRandom random;
  TestServer server(loop);
  coap::EndpointConfig config;
  // A request a forward proxy passes on naming our port is ours (RFC 7252 5.7.2).
  config.names_self = [&port](const std::string&, std::uint16_t p) {
    return port != 0 && p == port;
  };
  // With the --oscore-* flags, requests protected under that context are verified and
  // answered protected; plain requests are still served.
  if (auto oscore = oscore_context(oscore_flags)) {
    oscore::OscorePeers peers;
    peers.lookup = [oscore](ByteView kid, std::optional<ByteView> kid_context) {
      return oscore->is_named_by(kid, kid_context) ? oscore : nullptr;
    };
    config.decorator = std::make_shared<oscore::OscoreDecorator>(peers);
  }
  std::unique_ptr<transport::UdpTransport> udp_transport;
  std::unique_ptr<transport::TcpTransport> tcp_transport;
  if (udp) {
    udp_transport = std::make_unique<transport::UdpTransport>(loop, config, random,
                                                              transport::udp_at(bind, port));
    server.attach(*udp_transport);
    std::fprintf(stderr, "tether coap serve: coap://%s:%u (UDP)\n", host_for_uri(bind).c_str(),
                 udp_transport->local_port());
  }
  if (tcp) {
    transport::TcpOptions options;
    options.bind_host = bind;
    options.port = port;
    tcp_transport = std::make_unique<transport::TcpTransport>(loop, config, random, options);
    server.attach(*tcp_transport);
    std::fprintf(stderr, "tether coap serve: coap+tcp://%s:%u (TCP)\n", host_for_uri(bind).c_str(),
                 tcp_transport->local_port());
  }
  loop.schedule(loop.now() + interval, [&] { server.tick(interval, notify_type); });
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  while (!g_stop) loop.run_once(Duration{200});
  std::fputs("tether coap serve: stopped\n", stderr);
  return 0;
}

}  // namespace tether::app
