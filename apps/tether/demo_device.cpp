// `tether demo-device`: a small LwM2M device for trying the server out (README) and for
// end-to-end tests of the REST API. It registers, keeps its registration fresh, and
// answers Read, Discover, Write, Write-Attributes, Execute, Create, Delete, Observe and the
// composite operations from an in-memory tree. The full client arrives with its own issue;
// this is deliberately simple: one server, no security, no access control.
#include <csignal>
#include <cstdio>
#include <memory>

#include "binding/coap/bootstrap_mapping.hpp"
#include "binding/coap/uplink_mapping.hpp"
#include "cli_options.hpp"
#include "coap/uri.hpp"
#include "commands.hpp"
#include "lwm2m/format/codec.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "transport/tcp/tcp_transport.hpp"
#include "transport/udp/udp_transport.hpp"

namespace tether::app {

namespace {
using coap::Message;
namespace codes = coap::codes;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;
namespace fmt = lwm2m::format;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_demo_signal(int) {
  g_stop = 1;
}

lwm2m::Tree initial_tree(const std::string& endpoint, std::uint32_t lifetime) {
  lwm2m::Tree t;
  auto set = [&](Path p, Value v) { (void)t.set(p, std::move(v)); };
  set(Path{1, 0, 0}, Value(std::int64_t{1}));
  set(Path{1, 0, 1}, Value(std::int64_t{lifetime}));
  set(Path{1, 0, 6}, Value(false));
  set(Path{1, 0, 7}, Value("U"));
  set(Path{3, 0, 0}, Value("Tether"));
  set(Path{3, 0, 1}, Value("demo-device"));
  set(Path{3, 0, 2}, Value(endpoint));
  set(Path{3, 0, 3}, Value("0.1.0"));
  set(Path{3, 0, 9}, Value(std::int64_t{87}));
  set(Path{3, 0, 11, 0}, Value(std::int64_t{0}));
  set(Path{3, 0, 13}, Value(lwm2m::Time{1'790'000'000}));
  set(Path{3, 0, 16}, Value("U"));
  set(Path{3303, 0, 5700}, Value(21.5));
  set(Path{3303, 0, 5701}, Value("Cel"));
  return t;
}

class DemoDevice {
 public:
  DemoDevice(transport::EventLoop& loop, transport::Transport& t, coap::PeerId server,
             std::string endpoint, std::uint32_t lifetime, std::string version)
      : loop_(loop),
        transport_(t),
        server_(server),
        endpoint_(std::move(endpoint)),
        lifetime_(lifetime),
        version_(std::move(version)),
        models_(lwm2m::model::ObjectRegistry::with_builtin()),
        tree_(initial_tree(endpoint_, lifetime)) {
    t.endpoint().set_request_handler(
        [this](coap::PeerId, const Message& req, coap::Responder responder) {
          Message res = handle(req);
          res.token = req.token;
          auto parsed = Path::from_segments(req.options.strings(coap::option::kUriPath));
          const Path path = parsed ? *parsed : Path{};
          if (auto id = responder.respond(std::move(res), loop_.now())) {
            Observer o{*id, path, req.options.get_uint(coap::option::kAccept), {}};
            if (req.code == codes::kFetch) o.composite = composite_paths(req).value();
            observers_.push_back(std::move(o));
          }
          transport_.flush();
        });
    t.endpoint().set_observation_ended_handler([this](coap::ObservationId id, coap::Failure) {
      std::erase_if(observers_, [&](const Observer& o) { return o.id == id; });
    });
  }

  void register_now() {
    lwm2m::RegisterRequest r;
    r.params.endpoint = endpoint_;
    r.params.lifetime = lifetime_;
    r.params.version = version_;
    r.params.binding = "U";
    r.objects = objects();
    request(binding::coap_binding::encode_register(r), [this](const Message& m) {
      if (m.code != codes::kCreated) {
        std::fprintf(stderr, "demo-device: Register answered %s\n", m.code.describe().c_str());
        return;
      }
      location_ = m.location_path();
      std::fprintf(stderr, "demo-device: registered as %s at %s\n", endpoint_.c_str(),
                   location_.c_str());
      schedule_update();
    });
  }

  // Client-initiated bootstrap (Core TS 6.1.3): the bootstrap server then writes our
  // Security and Server objects, and at its Bootstrap-Finish we register with the server
  // it gave us.
  void bootstrap_now() {
    bootstrapping_ = true;
    lwm2m::BootstrapRequest r;
    r.endpoint = endpoint_;
    request(binding::coap_binding::encode_bootstrap_request(r), [](const Message& m) {
      std::fprintf(stderr, "demo-device: Bootstrap-Request answered %s\n",
                   m.code.describe().c_str());
    });
  }

  void deregister(const std::function<void()>& done) {
    if (location_.empty()) return done();
    request(
        coap::make_request(codes::kDelete, location_), [done](const Message&) { done(); }, done);
  }

  // Every few seconds the temperature and the clock move, and observers hear of it.
  void tick() {
    ++ticks_;
    (void)tree_.set(Path{3303, 0, 5700}, Value(21.5 + static_cast<double>(ticks_ % 10) / 10));
    (void)tree_.set(Path{3, 0, 13}, Value(lwm2m::Time{1'790'000'000 + ticks_ * 5}));
    notify_all();
    loop_.schedule(loop_.now() + Duration{5'000}, [this] { tick(); });
  }

 private:
  struct Observer {
    coap::ObservationId id;
    Path path;
    std::optional<std::uint64_t> accept;
    std::vector<Path> composite;  // Observe-Composite
  };

  Result<std::vector<Path>> composite_paths(const Message& req) const {
    const auto f = fmt::content_format_from(req.content_format().value_or(0));
    if (!f) return fail("unsupported Content-Format");
    return fmt::decode_paths(*f, req.payload);
  }

  Result<Message> composite_content(const std::vector<Path>& paths,
                                    std::optional<std::uint64_t> accept) const {
    std::vector<lwm2m::Record> records;
    for (const auto& p : paths) {
      for (auto& r : under(p)) records.push_back(r);
    }
    const auto out = accept ? fmt::content_format_from(static_cast<std::uint16_t>(*accept))
                            : std::optional<ContentFormat>(ContentFormat::kSenmlCbor);
    if (!out) return fail("4.06");
    auto body = fmt::encode_records(*out, records, models_);
    if (!body) return body.error();
    Message m;
    m.code = codes::kContent;
    m.set_content_format(static_cast<std::uint16_t>(*out));
    m.payload = std::move(*body);
    return m;
  }

  fmt::link_format::RegistrationPayload objects() const {
    fmt::link_format::RegistrationPayload p;
    for (const auto& [oid, object] : tree_.objects) {
      if (oid == 0) continue;  // Core TS 6.2.1: the Security object is never registered
      fmt::link_format::RegisteredObject o;
      o.id = oid;
      for (const auto& [iid, instance] : object.instances) o.instances.push_back(iid);
      p.objects.push_back(o);
    }
    return p;
  }

  void request(Message m, std::function<void(const Message&)> on_answer,
               std::function<void()> on_failure = nullptr) {
    transport_.endpoint().request(
        server_, std::move(m),
        [on_answer = std::move(on_answer), on_failure = std::move(on_failure)](Result<Message> r) {
          if (r) {
            on_answer(*r);
          } else {
            std::fprintf(stderr, "demo-device: no answer: %s\n", r.error().reason.c_str());
            if (on_failure) on_failure();
          }
        },
        loop_.now());
    transport_.flush();
  }

  void schedule_update() {
    const Duration every{static_cast<std::int64_t>(lifetime_) * 1000 / 2};
    loop_.schedule(loop_.now() + every, [this] {
      if (location_.empty()) return;
      request(coap::make_request(codes::kPost, location_), [this](const Message& m) {
        if (m.code == codes::kNotFound) {
          location_.clear();
          register_now();  // the server forgot us: start over
          return;
        }
        schedule_update();
      });
    });
  }

  std::vector<lwm2m::Record> under(const Path& path) const {
    std::vector<lwm2m::Record> out;
    for (auto& r : tree_.records()) {
      if (path.covers(r.path)) out.push_back(r);
    }
    return out;
  }

  bool exists(const Path& path) const {
    if (path.is_root()) return true;
    if (tree_.contains(path)) return true;
    return !under(path).empty();
  }

  Result<Message> content(const Path& path, std::optional<std::uint64_t> accept) const {
    ContentFormat f = ContentFormat::kTlv;
    if (accept) {
      auto chosen = fmt::content_format_from(static_cast<std::uint16_t>(*accept));
      if (!chosen) return fail("4.06");
      f = *chosen;
    } else if (path.is_resource_instance() ||
               (path.is_resource() && tree_.find_value(path) != nullptr)) {
      f = ContentFormat::kText;
    }
    auto tree = lwm2m::Tree::from_records(under(path));
    if (!tree) return tree.error();
    auto body = fmt::encode(f, path, *tree, models_);
    if (!body) return fail("4.06");
    Message m;
    m.code = codes::kContent;
    m.set_content_format(static_cast<std::uint16_t>(f));
    m.payload = std::move(*body);
    return m;
  }

  Message reply(coap::Code code, std::string text = {}) const {
    Message m;
    m.code = code;
    m.payload = to_bytes(text);
    return m;
  }

  // Bootstrap-Write, -Delete and -Finish (Core TS 6.1.7): writes land whether or not the
  // target exists; deletes keep the Bootstrap-Server Account and the Device object.
  std::optional<Message> handle_bootstrap(const Message& req, const Path& path) {
    if (req.code == codes::kPost && req.path() == "/bs") return finish_bootstrap();
    if (req.code == codes::kDelete && path.depth() <= 2) {
      for (auto& [oid, object] : tree_.objects) {
        if (oid == 3 || (!path.is_root() && oid != path.object_id())) continue;
        std::vector<std::uint16_t> gone;
        for (const auto& [iid, instance] : object.instances) {
          const auto* bs = instance.resources.find(1);
          const bool account = oid == 0 && bs != nullptr && bs->value == Value(true);
          if ((!path.is_instance() || iid == path.instance_id()) && !account) gone.push_back(iid);
        }
        for (auto iid : gone) object.instances.erase(iid);
      }
      return reply(codes::kDeleted);
    }
    if (req.code == codes::kPut && path.depth() >= 2) {
      const auto f = fmt::content_format_from(req.content_format().value_or(0));
      if (!f) return reply(codes::kUnsupportedContentFormat);
      auto tree = fmt::decode(*f, path, req.payload, models_);
      if (!tree) return reply(codes::kBadRequest, tree.error().reason);
      if (path.is_instance()) {
        if (auto* object = tree_.objects.find(path.object_id())) {
          object->instances.erase(path.instance_id());
        }
      }
      for (const auto& r : tree->records()) (void)tree_.set(r.path, r.value);
      return reply(codes::kChanged);
    }
    return std::nullopt;
  }

  Message finish_bootstrap() {
    // The first Server Account: a Security instance that is no Bootstrap-Server Account,
    // and the Server instance with its Short Server ID.
    const auto* security = tree_.objects.find(0);
    const auto* servers = tree_.objects.find(1);
    std::string uri;
    std::optional<std::uint32_t> lifetime;
    const lwm2m::ObjectNode none;
    for (const auto& [iid, instance] : (security != nullptr ? *security : none).instances) {
      const auto* bs = instance.resources.find(1);
      const auto* ssid = instance.resources.find(10);
      const auto* u = instance.resources.find(0);
      if ((bs != nullptr && bs->value == Value(true)) || ssid == nullptr || u == nullptr) continue;
      for (const auto& [sid, server] : (servers != nullptr ? *servers : none).instances) {
        const auto* own = server.resources.find(0);
        const auto* lt = server.resources.find(1);
        if (own == nullptr || own->value.as_number() != ssid->value.as_number()) continue;
        if (const auto* text = u->value.get_if<std::string>()) uri = *text;
        if (lt != nullptr && lt->value.as_number()) {
          lifetime = static_cast<std::uint32_t>(*lt->value.as_number());
        }
      }
      if (!uri.empty()) break;
    }
    auto parsed = coap::parse_uri(uri);
    if (uri.empty() || !parsed || parsed->is_secure() ||
        parsed->is_stream() != (transport_.endpoint().config().carrier == coap::Carrier::kStream)) {
      std::fprintf(stderr, "demo-device: no usable Server Account after bootstrap\n");
      return reply(codes::kNotAcceptable, "no usable Server Account");
    }
    auto peer = transport_.peer_for(parsed->host, parsed->port);
    if (!peer) return reply(codes::kNotAcceptable, peer.error().reason);
    std::fprintf(stderr, "demo-device: bootstrapped; registering with %s\n", uri.c_str());
    bootstrapping_ = false;
    if (lifetime) lifetime_ = *lifetime;
    (void)tree_.set(Path{1, 0, 1}, Value(std::int64_t{lifetime_}));
    loop_.schedule(loop_.now(), [this, peer = *peer] {
      server_ = peer;
      register_now();
    });
    return reply(codes::kChanged);
  }

  Message handle(const Message& req) {
    const auto segments = req.options.strings(coap::option::kUriPath);
    auto parsed = Path::from_segments(segments);
    if (!parsed && req.path() != "/bs") return reply(codes::kNotFound, parsed.error().reason);
    const Path path = parsed ? *parsed : Path{};
    if (bootstrapping_) {
      if (auto answer = handle_bootstrap(req, path)) return *answer;
    }
    const auto accept = req.options.get_uint(coap::option::kAccept);
    const auto cf = req.content_format();

    if (req.code == codes::kGet && accept == coap::content_format::kLinkFormat) {
      if (!exists(path)) return reply(codes::kNotFound);
      std::vector<fmt::link_format::DiscoverEntry> entries;
      entries.push_back({path, {}, std::nullopt, {}});
      for (const auto& r : under(path)) {
        const Path leaf = r.path.is_resource_instance() ? r.path.parent() : r.path;
        if (entries.back().path != leaf && leaf != path)
          entries.push_back({leaf, {}, std::nullopt, {}});
      }
      Message m;
      m.code = codes::kContent;
      m.set_content_format(coap::content_format::kLinkFormat);
      m.payload = to_bytes(fmt::link_format::serialize_discover(entries));
      return m;
    }
    if (req.code == codes::kGet) {
      if (!exists(path)) return reply(codes::kNotFound);
      auto m = content(path, accept);
      if (!m) return reply(codes::kNotAcceptable, m.error().reason);
      if (req.observe() == 0u) m->set_observe(0);
      return *m;
    }
    if (req.code == codes::kFetch || req.code == codes::kIPatch) {
      if (!cf) return reply(codes::kBadRequest, "no Content-Format");
      const auto f = fmt::content_format_from(*cf);
      if (!f) return reply(codes::kUnsupportedContentFormat);
      if (req.code == codes::kIPatch) {
        auto records = fmt::decode_records(*f, req.payload, models_);
        if (!records) return reply(codes::kBadRequest, records.error().reason);
        for (const auto& r : *records) (void)tree_.set(r.path, r.value);
        notify_all();
        return reply(codes::kChanged);
      }
      auto paths = fmt::decode_paths(*f, req.payload);
      if (!paths) return reply(codes::kBadRequest, paths.error().reason);
      auto m = composite_content(*paths, accept);
      if (!m) return reply(codes::kNotAcceptable, m.error().reason);
      if (req.observe() == 0u) m->set_observe(0);
      return *m;
    }
    if (req.code == codes::kPut && req.payload.empty() && !req.queries().empty()) {
      return exists(path) ? reply(codes::kChanged) : reply(codes::kNotFound);  // attributes
    }
    if (req.code == codes::kPut || (req.code == codes::kPost && path.is_instance())) {
      if (!cf) return reply(codes::kBadRequest, "no Content-Format");
      const auto f = fmt::content_format_from(*cf);
      if (!f) return reply(codes::kUnsupportedContentFormat);
      if (!exists(path)) return reply(codes::kNotFound);
      auto tree = fmt::decode(*f, path, req.payload, models_);
      if (!tree) return reply(codes::kBadRequest, tree.error().reason);
      for (const auto& r : tree->records()) (void)tree_.set(r.path, r.value);
      notify_all();
      return reply(codes::kChanged);
    }
    if (req.code == codes::kPost && path.is_resource()) {
      const auto* def = models_.resource(path.object_id(), path.resource_id());
      if (!exists(path.parent()) || def == nullptr) return reply(codes::kNotFound);
      if (!def->executable()) return reply(codes::kMethodNotAllowed);
      std::fprintf(stderr, "demo-device: execute %s (%zu bytes of arguments)\n",
                   path.to_string().c_str(), req.payload.size());
      if (path == Path{1, 0, 8}) {
        loop_.schedule(loop_.now(), [this] {
          if (!location_.empty()) {
            request(coap::make_request(codes::kPost, location_), [](const Message&) {});
          }
        });
      }
      return reply(codes::kChanged);
    }
    if (req.code == codes::kPost && path.is_object()) {
      if (!cf) return reply(codes::kBadRequest, "no Content-Format");
      const auto f = fmt::content_format_from(*cf);
      if (!f) return reply(codes::kUnsupportedContentFormat);
      auto tree = fmt::decode(*f, path, req.payload, models_);
      if (!tree) return reply(codes::kBadRequest, tree.error().reason);
      std::uint16_t id = 0;
      while (tree_.contains(path.child(id))) ++id;
      for (const auto& r : tree->records()) {
        Path p = r.path;
        if (p.instance_id() == Path::kUnassigned) {
          p = r.path.is_resource_instance()
                  ? Path{p.object_id(), id, p.resource_id(), p.resource_instance_id()}
                  : Path{p.object_id(), id, p.resource_id()};
        } else {
          id = p.instance_id();
        }
        (void)tree_.set(p, r.value);
      }
      (void)tree_.add_node(path.child(id));
      Message m = reply(codes::kCreated);
      m.options.add(coap::option::kLocationPath, std::to_string(path.object_id()));
      m.options.add(coap::option::kLocationPath, std::to_string(id));
      return m;
    }
    if (req.code == codes::kDelete && path.is_instance()) {
      auto* object = tree_.objects.find(path.object_id());
      if (object == nullptr || !object->instances.erase(path.instance_id())) {
        return reply(codes::kNotFound);
      }
      return reply(codes::kDeleted);
    }
    return reply(codes::kMethodNotAllowed);
  }

  void notify_all() {
    for (const auto& o : std::vector<Observer>(observers_)) {
      auto m = o.composite.empty() ? content(o.path, o.accept)
                                   : composite_content(o.composite, o.accept);
      if (!m) continue;
      transport_.endpoint().notify(o.id, std::move(*m), coap::Type::kNonConfirmable, loop_.now());
    }
    transport_.flush();
  }

  transport::EventLoop& loop_;
  transport::Transport& transport_;
  coap::PeerId server_;
  std::string endpoint_;
  std::uint32_t lifetime_;
  std::string version_;
  lwm2m::model::ObjectRegistry models_;
  lwm2m::Tree tree_;
  std::string location_;
  std::vector<Observer> observers_;
  std::int64_t ticks_ = 0;
  bool bootstrapping_ = false;
};
}  // namespace

int demo_device_command(const std::vector<std::string>& args) {
  std::string server_uri = "coap://127.0.0.1:5683";
  std::string endpoint = "demo-device";
  std::uint32_t lifetime = 300;
  std::string version = "1.1";
  std::string bootstrap_uri;
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--server", "-s")) {
      server_uri = r.value();
    } else if (r.is("--endpoint", "-e")) {
      endpoint = r.value();
    } else if (r.is("--lifetime", "-l")) {
      lifetime = static_cast<std::uint32_t>(parse_number(r.value(), 0xffffffffu));
    } else if (r.is("--bootstrap", "-b")) {
      bootstrap_uri = r.value();
    } else if (r.is("--lwm2m")) {
      version = r.value();
    } else if (r.is("-h", "--help")) {
      std::fputs(
          "usage: tether demo-device [--server coap://HOST:PORT | coap+tcp://HOST:PORT]\n"
          "                          [--bootstrap URI] [--endpoint NAME] [--lifetime S]\n"
          "                          [--lwm2m 1.0|1.1|1.2]\n"
          "  --bootstrap URI  bootstrap first, then register with the server it names\n",
          stdout);
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + r.current());
    }
  }
  auto uri = coap::parse_uri(bootstrap_uri.empty() ? server_uri : bootstrap_uri);
  if (!uri || uri->is_secure())
    throw std::invalid_argument("--server and --bootstrap take a coap:// or coap+tcp:// URI");

  transport::EventLoop loop;
  SystemRandom random;
  coap::EndpointConfig config;
  std::unique_ptr<transport::Transport> t;
  if (uri->is_stream()) {
    transport::TcpOptions o;
    o.listen = false;
    t = std::make_unique<transport::TcpTransport>(loop, config, random, o);
  } else {
    t = std::make_unique<transport::UdpTransport>(loop, config, random, transport::UdpOptions{});
  }
  auto peer = t->peer_for(uri->host, uri->port);
  if (!peer) throw std::invalid_argument(peer.error().reason);
  DemoDevice device(loop, *t, *peer, endpoint, lifetime, version);
  if (bootstrap_uri.empty()) {
    device.register_now();
  } else {
    device.bootstrap_now();
  }
  loop.schedule(loop.now() + Duration{5'000}, [&] { device.tick(); });
  std::signal(SIGINT, on_demo_signal);
  std::signal(SIGTERM, on_demo_signal);
  while (!g_stop) loop.run_once(Duration{200});
  bool done = false;
  device.deregister([&] { done = true; });
  const Instant give_up = loop.now() + Duration{3'000};
  while (!done && loop.now() < give_up) loop.run_once(Duration{100});
  return 0;
}

}  // namespace tether::app
