#include "api/http_api.hpp"

#include <httplib.h>

#include <chrono>
#include <future>
#include <sstream>

#include "api/json_mapping.hpp"
#include "lwm2m/attributes.hpp"

namespace tether::api {

namespace {
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
using server::DownlinkResult;

std::optional<ContentFormat> parse_format(const std::string& name) {
  static const std::pair<const char*, ContentFormat> kNames[] = {
      {"text", ContentFormat::kText},
      {"opaque", ContentFormat::kOpaque},
      {"tlv", ContentFormat::kTlv},
      {"senml-json", ContentFormat::kSenmlJson},
      {"senml-cbor", ContentFormat::kSenmlCbor},
      {"lwm2m-cbor", ContentFormat::kLwm2mCbor},
      {"json", ContentFormat::kOldJson},
  };
  for (const auto& [n, f] : kNames) {
    if (name == n || name == lwm2m::format::name_of(f)) return f;
  }
  try {
    std::size_t used = 0;
    const unsigned long number = std::stoul(name, &used);
    if (used == name.size() && number <= 65535) {
      return lwm2m::format::content_format_from(static_cast<std::uint16_t>(number));
    }
  } catch (...) {
  }
  return std::nullopt;
}

// /api/clients/{ep}/3/0/1 -> "/3/0/1" (match 2 of the route regexes below).
Result<lwm2m::Path> path_of(const httplib::Request& req, int index) {
  return lwm2m::Path::parse(req.matches[static_cast<std::size_t>(index)].str());
}

constexpr const char* kEndpoint = R"(/api/clients/([^/]+))";
constexpr const char* kPath = R"(((?:/[0-9]+){1,4}))";
std::string route(const char* suffix) {
  return std::string(kEndpoint) + kPath + suffix;
}
}  // namespace

HttpApi::HttpApi(ApiConfig config, transport::EventLoop& loop, server::Lwm2mServer& server)
    : HttpService(std::move(config), loop), server_(server) {
  routes();
  serve_metrics([this] { return metrics_text(); });
}

void HttpApi::downlink(const std::string& endpoint, DownlinkRequest request,
                       const httplib::Request& http, httplib::Response& res) {
  server::DownlinkOptions options;
  options.timeout = config().default_timeout;
  if (http.has_param("timeout")) {
    try {
      options.timeout =
          Duration{static_cast<std::int64_t>(std::stod(http.get_param_value("timeout")) * 1000)};
    } catch (...) {
      return error(res, 400, "4.00", "timeout must be a number of seconds");
    }
    if (options.timeout.count() <= 0) return error(res, 400, "4.00", "timeout must be positive");
  }
  options.return_when_queued = http.has_param("queue") && http.get_param_value("queue") != "false";
  if (http.has_param("format")) {
    request.format = parse_format(http.get_param_value("format"));
    if (!request.format)
      return error(res, 400, "4.00", "unknown format " + http.get_param_value("format"));
  }
  auto promise = std::make_shared<std::promise<DownlinkResult>>();
  auto future = promise->get_future();
  loop().post([this, endpoint, request = std::move(request), options, promise]() mutable {
    server_.send(endpoint, std::move(request), options,
                 [promise](DownlinkResult r) { promise->set_value(std::move(r)); });
  });
  // The server enforces the timeout; the margin only guards against a stalled loop.
  if (future.wait_for(options.timeout + std::chrono::seconds(5)) != std::future_status::ready) {
    return error(res, 504, "5.04", "no answer from the server loop");
  }
  DownlinkResult r = future.get();
  switch (r.status) {
    case DownlinkResult::Status::kAnswered: {
      json body = response_json(*r.response);
      if (!r.observation_id.empty()) body["observation"] = r.observation_id;
      return reply(res, http_status_for(r.response->code), body);
    }
    case DownlinkResult::Status::kQueued:
      return reply(res, 202,
                   json{{"status", "queued"}, {"ticket", r.ticket}, {"message", r.message}});
    case DownlinkResult::Status::kNotRegistered:
      return error(res, 404, "4.04", r.message);
    case DownlinkResult::Status::kBadRequest:
      return error(res, 400, "4.00", r.message);
    case DownlinkResult::Status::kTimeout:
      return error(res, 504, "5.04", r.message);
    case DownlinkResult::Status::kUnreachable:
      return error(res, 502, "5.02", r.message);
    case DownlinkResult::Status::kEnded:
      return error(res, 410, "4.04", r.message);
  }
}

void HttpApi::routes() {
  auto& h = http();

  h.Get("/api/clients", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    on_loop([&] {
      for (const auto* r : server_.registrations()) {
        json j = registration_json(*r);
        j["awake"] = server_.is_awake(r->endpoint);
        list.push_back(std::move(j));
      }
    });
    std::sort(list.begin(), list.end(),
              [](const json& a, const json& b) { return a["endpoint"] < b["endpoint"]; });
    reply(res, 200, list);
  });

  h.Get(kEndpoint, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string ep = req.matches[1];
    std::optional<json> found;
    on_loop([&] {
      if (const auto* r = server_.find(ep)) {
        found = registration_json(*r);
        (*found)["awake"] = server_.is_awake(ep);
        (*found)["queueDepth"] = server_.queue_depth(ep);
      }
    });
    if (!found) return error(res, 404, "4.04", "client " + ep + " is not registered");
    reply(res, 200, *found);
  });

  h.Delete(kEndpoint, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string ep = req.matches[1];
    bool removed = false;
    on_loop([&] { removed = server_.evict(ep); });
    if (!removed) return error(res, 404, "4.04", "client " + ep + " is not registered");
    res.status = 204;
  });

  // Routes on /api/clients/{ep}/{path}: the path is parsed once, here.
  using PathHandler = std::function<void(const std::string& ep, const lwm2m::Path& path,
                                         const httplib::Request&, httplib::Response&)>;
  auto on_path = [](PathHandler handler) {
    return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
      auto path = path_of(req, 2);
      if (!path) return error(res, 400, "4.00", path.error().reason);
      handler(req.matches[1], *path, req, res);
    };
  };
  auto at = [](Operation op, const lwm2m::Path& path) {
    DownlinkRequest r;
    r.op = op;
    r.path = path;
    return r;
  };

  h.Get(route(""), on_path([this, at](const std::string& ep, const lwm2m::Path& path,
                                      const httplib::Request& req, httplib::Response& res) {
          downlink(ep, at(Operation::kRead, path), req, res);
        }));

  // Write: PUT replaces, PATCH updates partially.
  auto write = [this, at](bool partial) {
    return [this, at, partial](const std::string& ep, const lwm2m::Path& path,
                               const httplib::Request& req, httplib::Response& res) {
      if (path.is_object()) {
        return error(res, 405, "4.05",
                     "the CoAP binding has no Write on an object (Transport TS 6.4.4)");
      }
      // Transport TS 6.4.4: Partial Update is a POST, which on a single resource would be an
      // Execute; it is only for instances and multiple-instance resources.
      if (partial && !path.is_instance()) {
        const auto* def = server_.models().resource(path.object_id(), path.resource_id());
        if (path.is_resource_instance() || def == nullptr || !def->multiple) {
          return error(res, 405, "4.05",
                       "Partial Update targets an instance or a multiple-instance resource");
        }
      }
      Result<lwm2m::Tree> tree = fail("unset");
      on_loop([&] { tree = tree_from_json(req.body, path, server_.models()); });
      if (!tree) return error(res, 400, "4.00", tree.error().reason);
      DownlinkRequest r = at(Operation::kWrite, path);
      r.partial = partial;
      r.content = std::move(*tree);
      downlink(ep, std::move(r), req, res);
    };
  };
  h.Put(route(""), on_path(write(false)));
  h.Patch(route(""), on_path(write(true)));

  // Execute (resource) or Create (object).
  h.Post(route(""), on_path([this, at](const std::string& ep, const lwm2m::Path& path,
                                       const httplib::Request& req, httplib::Response& res) {
           DownlinkRequest r;
           if (path.is_resource()) {
             r = at(Operation::kExecute, path);
             r.arguments = req.body;
           } else if (path.is_object()) {
             r = at(Operation::kCreate, path);
             Result<lwm2m::Tree> tree = fail("unset");
             on_loop([&] {
               tree = tree_from_json(req.body.empty() ? "{}" : req.body, path, server_.models());
             });
             if (!tree) return error(res, 400, "4.00", tree.error().reason);
             r.content = std::move(*tree);
             if (r.content.empty()) {
               r.content.add_node(path.child(lwm2m::Path::kUnassigned)).value();
             }
           } else {
             return error(res, 405, "4.05", "POST executes a resource or creates in an object");
           }
           downlink(ep, std::move(r), req, res);
         }));

  h.Delete(route(""), on_path([this, at](const std::string& ep, const lwm2m::Path& path,
                                         const httplib::Request& req, httplib::Response& res) {
             downlink(ep, at(Operation::kDelete, path), req, res);
           }));

  h.Get(route("/discover"),
        on_path([this, at](const std::string& ep, const lwm2m::Path& path,
                           const httplib::Request& req, httplib::Response& res) {
          DownlinkRequest r = at(Operation::kDiscover, path);
          if (req.has_param("depth")) {
            const std::string d = req.get_param_value("depth");
            if (d.size() != 1 || d[0] < '0' || d[0] > '3') {
              return error(res, 400, "4.00", "depth is 0 to 3");
            }
            r.depth = static_cast<std::uint32_t>(d[0] - '0');
          }
          downlink(ep, std::move(r), req, res);
        }));

  // Write-Attributes (?pmin=10&gt=45 sets, a bare ?pmin unsets) and Observe, which may carry
  // the same attributes.
  auto with_attributes = [this, at](Operation op) {
    return [this, at, op](const std::string& ep, const lwm2m::Path& path,
                          const httplib::Request& req, httplib::Response& res) {
      DownlinkRequest r = at(op, path);
      for (const auto& [name, value] : req.params) {
        if (name == "timeout" || name == "queue" || name == "format") continue;
        r.attributes.push_back(value.empty() ? name : name + "=" + value);
      }
      if (auto parsed = lwm2m::parse_update(std::span<const std::string>(r.attributes)); !parsed) {
        return error(res, 400, "4.00", parsed.error().reason);
      }
      if (op == Operation::kWriteAttributes && r.attributes.empty()) {
        return error(res, 400, "4.00", "no attributes given");
      }
      downlink(ep, std::move(r), req, res);
    };
  };
  h.Put(route("/attributes"), on_path(with_attributes(Operation::kWriteAttributes)));
  h.Post(route("/observe"), on_path(with_attributes(Operation::kObserve)));

  // Cancels every observation of this path: ?active=true sends the cancelling request.
  h.Delete(route("/observe"), on_path([this](const std::string& ep, const lwm2m::Path& path,
                                             const httplib::Request& req, httplib::Response& res) {
             const bool active =
                 req.has_param("active") && req.get_param_value("active") != "false";
             bool registered = false;
             std::size_t cancelled = 0;
             on_loop([&] {
               registered = server_.find(ep) != nullptr;
               for (const auto& o : server_.observations(ep)) {
                 if (!o.composite && o.paths.size() == 1 && o.paths[0] == path) {
                   cancelled += server_.cancel_observation(o.id, active) ? 1U : 0U;
                 }
               }
             });
             if (!registered) return error(res, 404, "4.04", "client " + ep + " is not registered");
             if (cancelled == 0) {
               return error(res, 404, "4.04", "no observation of " + path.to_string());
             }
             reply(res, 200, json{{"cancelled", cancelled}});
           }));

  h.Get(std::string(kEndpoint) + "/observations",
        [this](const httplib::Request& req, httplib::Response& res) {
          const std::string ep = req.matches[1];
          json list = json::array();
          bool registered = false;
          on_loop([&] {
            registered = server_.find(ep) != nullptr;
            for (const auto& o : server_.observations(ep)) {
              json paths = json::array();
              for (const auto& p : o.paths) paths.push_back(p.to_string());
              list.push_back(json{{"id", o.id},
                                  {"paths", paths},
                                  {"composite", o.composite},
                                  {"attributes", o.attributes},
                                  {"createdAt", iso8601(o.created_at)}});
            }
          });
          if (!registered) return error(res, 404, "4.04", "client " + ep + " is not registered");
          reply(res, 200, list);
        });

  h.Delete(std::string(kEndpoint) + "/observations/([0-9a-f]+)", [this](const httplib::Request& req,
                                                                        httplib::Response& res) {
    const std::string id = req.matches[2];
    const bool active = req.has_param("active") && req.get_param_value("active") != "false";
    bool cancelled = false;
    on_loop([&] { cancelled = server_.cancel_observation(id, active); });
    if (!cancelled) return error(res, 404, "4.04", "no observation " + id);
    res.status = 204;
  });

  // Composite operations: {"paths": [...]} to read or observe, {path: value} to write.
  h.Post(std::string(kEndpoint) + "/composite/(read|observe|write)",
         [this](const httplib::Request& req, httplib::Response& res) {
           const std::string ep = req.matches[1];
           const std::string op = req.matches[2];
           json body = json::parse(req.body, nullptr, false);
           if (body.is_discarded() || !body.is_object()) {
             return error(res, 400, "4.00", "the body must be a JSON object");
           }
           DownlinkRequest r;
           if (op == "write") {
             r.op = Operation::kWriteComposite;
             Result<std::vector<lwm2m::Record>> records = fail("unset");
             on_loop([&] { records = records_from_body(body, server_.models()); });
             if (!records) return error(res, 400, "4.00", records.error().reason);
             r.records = std::move(*records);
           } else {
             r.op = op == "read" ? Operation::kReadComposite : Operation::kObserveComposite;
             if (!body.contains("paths") || !body["paths"].is_array() || body["paths"].empty()) {
               return error(res, 400, "4.00", "\"paths\" must list the paths");
             }
             for (const auto& p : body["paths"]) {
               auto path = p.is_string() ? lwm2m::Path::parse(p.get<std::string>())
                                         : Result<lwm2m::Path>(fail("paths are strings"));
               if (!path) return error(res, 400, "4.00", path.error().reason);
               r.paths.push_back(*path);
             }
           }
           downlink(ep, std::move(r), req, res);
         });

  // Security credentials per endpoint (Transport TS 5.2.6).
  h.Get("/api/security/clients", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    on_loop([&] {
      for (const auto& c : server_.all_credentials()) list.push_back(credentials_json(c));
    });
    reply(res, 200, list);
  });
  h.Get("/api/security/clients/([^/]+)",
        [this](const httplib::Request& req, httplib::Response& res) {
          const std::string ep = req.matches[1];
          std::optional<server::Credentials> c;
          on_loop([&] { c = server_.credentials(ep); });
          if (!c) return error(res, 404, "4.04", "no credentials for " + ep);
          reply(res, 200, credentials_json(*c));
        });
  h.Put("/api/security/clients/([^/]+)",
        [this](const httplib::Request& req, httplib::Response& res) {
          const std::string ep = req.matches[1];
          json body = json::parse(req.body, nullptr, false);
          if (body.is_discarded()) return error(res, 400, "4.00", "the body is not JSON");
          auto c = credentials_from_json(ep, body);
          if (!c) return error(res, 400, "4.00", c.error().reason);
          Result<Ok> saved = Ok{};
          on_loop([&] { saved = server_.put_credentials(*c); });
          // 4.09 when another endpoint already proves itself this way; 5.00 if the store fails.
          if (!saved) return error(res, saved.error(), lwm2m::status::kInternalServerError);
          reply(res, 200, credentials_json(*c));
        });
  h.Delete("/api/security/clients/([^/]+)",
           [this](const httplib::Request& req, httplib::Response& res) {
             const std::string ep = req.matches[1];
             bool removed = false;
             on_loop([&] { removed = server_.remove_credentials(ep); });
             if (!removed) return error(res, 404, "4.04", "no credentials for " + ep);
             res.status = 204;
           });
}

std::string HttpApi::metrics_text() {
  const auto& m = server_.metrics();
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n"
        << name << ' ' << v << '\n';
  };
  out << "# HELP tether_registrations Clients registered now.\n# TYPE tether_registrations gauge\n"
      << "tether_registrations " << server_.registration_count() << '\n';
  counter("tether_registers_total", "Register operations accepted.", m.registers);
  counter("tether_updates_total", "Registration updates accepted.", m.updates);
  counter("tether_deregisters_total", "De-registrations.", m.deregisters);
  counter("tether_expirations_total", "Registrations removed when their lifetime ran out.",
          m.expirations);
  counter("tether_rejected_uplinks_total", "Registration-interface requests refused.",
          m.rejected_uplinks);
  counter("tether_sends_total", "Send operations accepted.", m.sends);
  counter("tether_notifications_total", "Notifications received.", m.notifications);
  out << "# HELP tether_requests_total Requests to clients by operation and result.\n"
         "# TYPE tether_requests_total counter\n";
  for (const auto& [key, v] : m.requests) {
    out << "tether_requests_total{operation=\"" << key.first << "\",result=\"" << key.second
        << "\"} " << v << '\n';
  }
  out << "# HELP tether_request_latency_seconds Time from sending a request to its answer.\n"
         "# TYPE tether_request_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < server::ServerMetrics::kLatencyBoundsMs.size(); ++i) {
    cumulative += m.latency_buckets[i];
    out << "tether_request_latency_seconds_bucket{le=\""
        << static_cast<double>(server::ServerMetrics::kLatencyBoundsMs[i]) / 1000 << "\"} "
        << cumulative << '\n';
  }
  cumulative += m.latency_buckets.back();
  out << "tether_request_latency_seconds_bucket{le=\"+Inf\"} " << cumulative << '\n'
      << "tether_request_latency_seconds_sum " << static_cast<double>(m.latency_sum_ms) / 1000
      << '\n'
      << "tether_request_latency_seconds_count " << m.latency_count << '\n';
  out << "# HELP tether_queue_depth Requests waiting for or in flight to clients.\n"
         "# TYPE tether_queue_depth gauge\ntether_queue_depth "
      << server_.total_queue_depth() << '\n';
  return out.str();
}

}  // namespace tether::api
