#include "api/http_api.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "api/json_mapping.hpp"
#include "api/list_merge.hpp"
#include "api/metrics_sum.hpp"
#include "api/page_query.hpp"
#include "lwm2m/attributes.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/execute_arguments.hpp"

namespace tether::api {

namespace {
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::format::ContentFormat;
using server::DownlinkResult;
constexpr auto kHide = server::Secrets::kHide;

// GET /api/clients?...: the paging parameters and the list's own exact filters.
Result<PageQuery> client_page_query(const Call& call) {
  return parse_page_query(call.params(), {"binding", "version", "transport", "security", "state"});
}

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

constexpr const char* kEndpoint = "/api/clients/{ep}";
constexpr const char* kPath = "/api/clients/{ep}/{path:ids}";
std::string on(const char* base, const char* suffix) {
  return std::string(base) + suffix;
}

DownlinkRequest at(Operation op, const lwm2m::Path& path) {
  DownlinkRequest r;
  r.op = op;
  r.path = path;
  return r;
}

// A device's answer (or why there is none) as the API's JSON.
void answer(const Responder& to, DownlinkResult r, const lwm2m::model::Model& model) {
  switch (r.status) {
    case DownlinkResult::Status::kAnswered: {
      json body = response_json(*r.response, &model);
      if (!r.observation_id.empty()) body["observation"] = r.observation_id;
      return reply(to, http_status_for(r.response->code), body);
    }
    case DownlinkResult::Status::kQueued:
      return reply(to, 202,
                   json{{"status", "queued"}, {"ticket", r.ticket}, {"message", r.message}});
    case DownlinkResult::Status::kNotRegistered:
      return error(to, 404, "4.04", r.message);
    case DownlinkResult::Status::kBadRequest:
      // The code the refusal names (5.01 for an operation the binding has not), else 4.00.
      return error(to, Error{r.message}, lwm2m::status::kBadRequest);
    case DownlinkResult::Status::kTimeout:
      return error(to, 504, "5.04", r.message);
    case DownlinkResult::Status::kUnreachable:
      return error(to, 502, "5.02", r.message);
    case DownlinkResult::Status::kEnded:
      return error(to, 410, "4.04", r.message);
    case DownlinkResult::Status::kBusy:
      return busy(to, r.message, 30);
  }
}
}  // namespace

HttpApi::HttpApi(ApiConfig config, transport::EventLoop& loop, server::Lwm2mServer& server)
    : HttpService(std::move(config), loop, "server"), server_(server) {
  serve_models(server_.models());
  set_event_model(&server_.models());
  routes();
  serve_metrics([this] { return metrics_text(); });
}

// Query parameters other than the API's own are attributes: ?pmin=10&gt=45 sets, ?pmin unsets.
Result<Ok> HttpApi::attributes_from_query(const Call& call, DownlinkRequest& r) {
  for (const auto& p : call.params()) {
    if (p.name == "timeout" || p.name == "queue" || p.name == "format") continue;
    r.attributes.push_back(p.value.empty() ? p.name : p.name + "=" + p.value);
  }
  if (auto parsed = lwm2m::parse_update(std::span<const std::string>(r.attributes)); !parsed) {
    return parsed.error();
  }
  return Ok{};
}

void HttpApi::downlink(Call& call, DownlinkRequest request) {
  server::DownlinkOptions options;
  auto timeout = timeout_of(call);
  if (!timeout) return call.error(400, "4.00", timeout.error().reason);
  options.timeout = *timeout;
  options.return_when_queued = call.has_param("queue") && call.param("queue") != "false";
  if (call.has_param("format")) {
    request.format = parse_format(call.param("format"));
    if (!request.format) {
      return call.error(400, "4.00", "unknown format " + call.param("format"));
    }
  }
  // What the request log keeps of it (the caller, what was asked, then the outcome).
  json entry{{"time", iso8601(SystemClock().unix_now())},
             {"user", call.caller().user ? json(*call.caller().user) : json(nullptr)},
             {"operation", lwm2m::operation_name(request.op)}};
  if (request.paths.empty()) {
    entry["path"] = request.path.to_string();
  } else {
    json paths = json::array();
    for (const auto& p : request.paths) paths.push_back(p.to_string());
    entry["paths"] = std::move(paths);
  }
  if (request.format) entry["format"] = lwm2m::format::name_of(*request.format);
  // The server answers within the timeout; the responder is a no-op if the caller left.
  server_.send(call.capture(0), std::move(request), options,
               [to = call.responder(), models = &server_.models(), ep = call.capture(0),
                entry = std::move(entry), started = loop().now(),
                self = std::weak_ptr<HttpApi*>(self_)](DownlinkResult r) mutable {
                 // A name nobody registered leaves no trace: made-up names could otherwise
                 // push real devices' logs out of the log's cap.
                 if (auto api = self.lock();
                     api && *api != nullptr && r.status != DownlinkResult::Status::kNotRegistered) {
                   entry["result"] = server::downlink_status_name(r.status);
                   if (r.response) entry["code"] = r.response->code.to_string();
                   if (!r.message.empty() && !r.response) entry["message"] = r.message;
                   entry["ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     (*api)->loop().now() - started)
                                     .count();
                   (*api)->log_request(ep, std::move(entry));
                 }
                 answer(to, std::move(r), *models);
               });
}

void HttpApi::device_route(const char* method, std::string_view pattern, Handler handler) {
  route(method, pattern, [this, handler = std::move(handler)](Call& call) {
    const std::string& ep = call.capture(0);
    // Several nodes: a client another node serves is that node's to answer for.
    if (nodes_ != nullptr && !call.caller().forwarded && server_.find(ep) == nullptr) {
      auto owner = nodes_->elsewhere(ep);
      if (!owner) {
        return busy(call.responder(),
                    "cannot ask the store which node serves " + ep + ": " + owner.error().reason,
                    5);
      }
      if (*owner) {
        // A bad ?timeout= is the owner's to refuse; the wait here is then the default.
        auto wait = timeout_of(call);
        return nodes_->forward(**owner, call.request(), call.caller(),
                               wait ? *wait : config().default_timeout, call.responder());
      }
    }
    handler(call);
  });
}

Result<Duration> HttpApi::timeout_of(const Call& call) const {
  if (!call.has_param("timeout")) return config().default_timeout;
  const std::string text = call.param("timeout");
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || !(seconds > 0) || seconds > 3'600) {
    return fail("timeout is a number of seconds, above 0 and up to 3600");
  }
  const Duration timeout{static_cast<std::int64_t>(seconds * 1000)};
  if (timeout.count() <= 0) return fail("timeout must be positive");
  return timeout;
}

void HttpApi::log_request(const std::string& endpoint, json entry) {
  json event = entry;
  event["event"] = "request";
  event["endpoint"] = endpoint;
  requests_.add(endpoint, std::move(entry));
  publish_json("request", endpoint, event);
}

void HttpApi::routes() {
  // Without parameters, every registration as one array (as before paging); with any, a
  // page: {"total", "clients", "next", "matched", "counts"}.
  route("GET", "/api/clients", [this](Call& call) {
    // --workers: every worker lists its own, and the pages are merged.
    if (nodes_ != nullptr && !nodes_->siblings().empty() && !call.caller().forwarded) {
      return gather_clients(call);
    }
    auto row = [this](const server::Registration& r) {
      json j = registration_json(r);
      j["awake"] = server_.is_awake(r.endpoint);
      return j;
    };
    if (call.params().empty()) {
      if (server_.registration_count() > kWholeListMax) {
        return call.error(400, "4.00", whole_list_refusal(server_.registration_count()));
      }
      json list = json::array();
      server_.walk_registrations("", "", [&](const server::Registration& r) {
        list.push_back(row(r));
        return true;
      });
      return call.reply(200, list);
    }
    auto query = client_page_query(call);
    if (!query) return call.error(400, "4.00", query.error().reason);
    const std::string state = query->filter("state");
    if (!state.empty() && state != "online" && state != "awake" && state != "sleeping") {
      return call.error(400, "4.00", "state is online, awake or sleeping");
    }
    // Read once: the scan may visit every registration.
    const std::string binding = query->filter("binding"), version = query->filter("version"),
                      transport = query->filter("transport"), security = query->filter("security");
    auto wanted = [&](const server::Registration& r) {
      auto is = [](const std::string& f, const std::string& value) {
        return f.empty() || f == value;
      };
      if (!is(binding, r.binding) || !is(version, r.version) || !is(transport, r.transport) ||
          (!security.empty() && security != server::security_of(r))) {
        return false;
      }
      if (state.empty()) return true;
      if (!r.queue_mode) return state == "online";
      return state == (server_.is_awake(r.endpoint) ? "awake" : "sleeping");
    };
    Pager pager(*query, server_.registration_count());
    server_.walk_registrations(pager.start_after(), query->prefix,
                               [&](const server::Registration& r) {
                                 return pager.offer(r.endpoint, wanted(r), [&] { return row(r); });
                               });
    json page = std::move(pager).result("clients");
    if (query->counts) page["counts"] = fleet_counts_json();
    call.reply(200, page);
  });

  device_route("GET", kEndpoint, [this](Call& call) {
    const std::string& ep = call.capture(0);
    const auto* r = server_.find(ep);
    if (r == nullptr) return call.error(404, "4.04", "client " + ep + " is not registered");
    json found = registration_json(*r);
    found["awake"] = server_.is_awake(ep);
    found["queueDepth"] = server_.queue_depth(ep);
    call.reply(200, found);
  });

  // Transport TS 6.6: a sleeping client woken by SMS updates (or bootstraps) over its own
  // binding; requests queued for it go then.
  device_route("POST", on(kEndpoint, "/wake"), [this](Call& call) {
    const std::string& ep = call.capture(0);
    const auto* r = server_.find(ep);
    if (r == nullptr) return call.error(404, "4.04", "client " + ep + " is not registered");
    if (!waker_) return call.error(409, "4.09", "this server has no SMS gateway (--sms-gateway)");
    const std::string trigger = call.param("trigger");
    if (!trigger.empty() && trigger != "update" && trigger != "bootstrap") {
      return call.error(400, "4.00", "trigger is update (the default) or bootstrap");
    }
    const bool bootstrap = trigger == "bootstrap";
    auto sent = waker_(*r, bootstrap);
    if (!sent) return call.error(409, "4.09", sent.error().reason);
    call.reply(202, json{{"trigger", bootstrap ? "bootstrap" : "update"}, {"to", *sent}});
  });

  device_route("DELETE", kEndpoint, [this](Call& call) {
    const std::string& ep = call.capture(0);
    if (!server_.evict(ep)) return call.error(404, "4.04", "client " + ep + " is not registered");
    call.no_content();
  });

  // Routes on /api/clients/{ep}/{path}: the path is parsed once, here.
  using PathHandler = std::function<void(Call&, const lwm2m::Path&)>;
  auto on_path = [](PathHandler handler) {
    return [handler = std::move(handler)](Call& call) {
      auto path = lwm2m::Path::parse(call.capture(1));
      if (!path) return call.error(400, "4.00", path.error().reason);
      handler(call, *path);
    };
  };

  device_route("GET", kPath, on_path([this](Call& call, const lwm2m::Path& path) {
                 downlink(call, at(Operation::kRead, path));
               }));

  // Write: PUT replaces, PATCH updates partially.
  auto write = [this](bool partial) {
    return [this, partial](Call& call, const lwm2m::Path& path) {
      if (path.is_object()) {
        return call.error(405, "4.05",
                          "the CoAP binding has no Write on an object (Transport TS 6.4.4)");
      }
      // Transport TS 6.4.4: Partial Update is a POST, which on a single resource would be an
      // Execute; it is only for instances and multiple-instance resources.
      if (partial && !path.is_instance()) {
        const auto* def = server_.models().resource(path.object_id(), path.resource_id());
        if (path.is_resource_instance() || def == nullptr || !def->multiple) {
          return call.error(405, "4.05",
                            "Partial Update targets an instance or a multiple-instance resource");
        }
      }
      auto tree = tree_from_json(call.body(), path, server_.models());
      if (!tree) return call.error(400, "4.00", tree.error().reason);
      DownlinkRequest r = at(Operation::kWrite, path);
      r.partial = partial;
      r.content = std::move(*tree);
      downlink(call, std::move(r));
    };
  };
  device_route("PUT", kPath, on_path(write(false)));
  device_route("PATCH", kPath, on_path(write(true)));

  // Execute (resource) or Create (object).
  device_route(
      "POST", kPath, on_path([this](Call& call, const lwm2m::Path& path) {
        DownlinkRequest r;
        if (path.is_resource()) {
          r = at(Operation::kExecute, path);
          r.arguments = call.body();
          if (auto args = lwm2m::parse_execute_arguments(r.arguments); !args) {
            return call.error(400, "4.00", args.error().reason);
          }
        } else if (path.is_object()) {
          r = at(Operation::kCreate, path);
          auto tree =
              tree_from_json(call.body().empty() ? "{}" : call.body(), path, server_.models());
          if (!tree) return call.error(400, "4.00", tree.error().reason);
          r.content = std::move(*tree);
          if (r.content.empty()) {
            r.content.add_node(path.child(lwm2m::Path::kUnassigned)).value();
          }
        } else {
          return call.error(405, "4.05", "POST executes a resource or creates in an object");
        }
        downlink(call, std::move(r));
      }));

  device_route("DELETE", kPath, on_path([this](Call& call, const lwm2m::Path& path) {
                 downlink(call, at(Operation::kDelete, path));
               }));

  device_route("GET", on(kPath, "/discover"), on_path([this](Call& call, const lwm2m::Path& path) {
                 DownlinkRequest r = at(Operation::kDiscover, path);
                 if (call.has_param("depth")) {
                   const std::string d = call.param("depth");
                   if (d.size() != 1 || d[0] < '0' || d[0] > '3') {
                     return call.error(400, "4.00", "depth is 0 to 3");
                   }
                   r.depth = static_cast<std::uint32_t>(d[0] - '0');
                 }
                 downlink(call, std::move(r));
               }));

  // Write-Attributes (?pmin=10&gt=45 sets, a bare ?pmin unsets) and Observe, which may carry
  // the same attributes.
  auto with_attributes = [this](Operation op) {
    return [this, op](Call& call, const lwm2m::Path& path) {
      DownlinkRequest r = at(op, path);
      if (auto ok = attributes_from_query(call, r); !ok) {
        return call.error(400, "4.00", ok.error().reason);
      }
      if (op == Operation::kWriteAttributes && r.attributes.empty()) {
        return call.error(400, "4.00", "no attributes given");
      }
      downlink(call, std::move(r));
    };
  };
  device_route("PUT", on(kPath, "/attributes"),
               on_path(with_attributes(Operation::kWriteAttributes)));
  device_route("POST", on(kPath, "/observe"), on_path(with_attributes(Operation::kObserve)));

  // Cancels every observation of this path: ?active=true sends the cancelling request.
  device_route(
      "DELETE", on(kPath, "/observe"), on_path([this](Call& call, const lwm2m::Path& path) {
        const std::string& ep = call.capture(0);
        const bool active = call.has_param("active") && call.param("active") != "false";
        if (server_.find(ep) == nullptr) {
          return call.error(404, "4.04", "client " + ep + " is not registered");
        }
        std::vector<std::string> ids;
        for (const auto& o : server_.observations(ep)) {
          if (!o.composite && o.paths.size() == 1 && o.paths[0] == path) ids.push_back(o.id);
        }
        if (ids.empty()) return call.error(404, "4.04", "no observation of " + path.to_string());
        if (!active) {
          for (const auto& id : ids) server_.cancel_observation(id, false);
          return call.reply(200, json{{"cancelled", ids.size()}});
        }
        // Active: the answer says what the client said to each cancel; "cancelled" counts
        // those it confirmed with a success code.
        struct Tally {
          std::size_t waiting = 0;
          std::size_t confirmed = 0;
          json answers = json::array();
        };
        auto tally = std::make_shared<Tally>();
        tally->waiting = ids.size();
        for (const auto& id : ids) {
          server_.cancel_observation(
              id, true, [tally, id, to = call.responder()](server::DownlinkResult r) {
                json one{{"observation", id}};
                if (r.response) {
                  one["code"] = r.response->code.to_string();
                  if (r.response->code.is_success()) ++tally->confirmed;
                } else {
                  one["error"] = r.message;
                }
                tally->answers.push_back(std::move(one));
                if (--tally->waiting == 0) {
                  reply(to, 200,
                        json{{"cancelled", tally->confirmed}, {"answers", tally->answers}});
                }
              });
        }
      }));

  // What operators asked of this client through the API, newest first (?limit=, up to 50).
  device_route("GET", on(kEndpoint, "/requests"), [this](Call& call) {
    const std::string& ep = call.capture(0);
    std::size_t limit = RequestLog::kPerEndpoint;
    if (call.has_param("limit")) {
      auto query = parse_page_query(call.params(), {});
      if (!query || !query->after.empty() || !query->prefix.empty() || !query->q.empty()) {
        return call.error(400, "4.00", "requests take only limit");
      }
      limit = query->limit;
    }
    if (server_.find(ep) == nullptr && !requests_.has(ep)) {
      return call.error(404, "4.04", "client " + ep + " is not registered");
    }
    json list = json::array();
    for (auto& e : requests_.latest(ep, limit)) list.push_back(std::move(e));
    call.reply(200, list);
  });

  device_route("GET", on(kEndpoint, "/observations"), [this](Call& call) {
    const std::string& ep = call.capture(0);
    if (server_.find(ep) == nullptr) {
      return call.error(404, "4.04", "client " + ep + " is not registered");
    }
    json list = json::array();
    for (const auto& o : server_.observations(ep)) {
      json paths = json::array();
      for (const auto& p : o.paths) paths.push_back(p.to_string());
      list.push_back(json{{"id", o.id},
                          {"paths", paths},
                          {"composite", o.composite},
                          {"attributes", o.attributes},
                          {"createdAt", iso8601(o.created_at)}});
    }
    call.reply(200, list);
  });

  device_route("DELETE", on(kEndpoint, "/observations/{id}"), [this](Call& call) {
    const std::string& id = call.capture(1);
    const bool active = call.has_param("active") && call.param("active") != "false";
    // Active: answered like any request to the client, with the code it gave the cancel.
    auto done = active ? server::DownlinkCallback(
                             [to = call.responder(), models = &server_.models()](DownlinkResult r) {
                               answer(to, std::move(r), *models);
                             })
                       : server::DownlinkCallback{};
    if (!server_.cancel_observation(id, active, std::move(done))) {
      return call.error(404, "4.04", "no observation " + id);
    }
    if (!active) call.no_content();
  });

  // Composite operations: {"paths": [...]} to read or observe, {path: value} to write.
  device_route("POST", on(kEndpoint, "/composite/{op}"), [this](Call& call) {
    const std::string& op = call.capture(1);
    if (op != "read" && op != "observe" && op != "write") {
      return call.error(404, "4.04", "composite operations are read, observe and write");
    }
    auto body = call.json_body(json());
    if (!body || !body->is_object()) {
      return call.error(400, "4.00", "the body must be a JSON object");
    }
    DownlinkRequest r;
    if (op == "write") {
      r.op = Operation::kWriteComposite;
      auto records = records_from_body(*body, server_.models());
      if (!records) return call.error(400, "4.00", records.error().reason);
      r.records = std::move(*records);
    } else {
      r.op = op == "read" ? Operation::kReadComposite : Operation::kObserveComposite;
      // Observe-Composite takes pmin, pmax, ... like a single Observe (Core TS 5.4.4).
      if (r.op == Operation::kObserveComposite) {
        if (auto ok = attributes_from_query(call, r); !ok) {
          return call.error(400, "4.00", ok.error().reason);
        }
      }
      const json& paths = (*body)["paths"];
      if (!paths.is_array() || paths.empty()) {
        return call.error(400, "4.00", "\"paths\" must list the paths");
      }
      for (const auto& p : paths) {
        auto path = p.is_string() ? lwm2m::Path::parse(p.get<std::string>())
                                  : Result<lwm2m::Path>(fail("paths are strings"));
        if (!path) return call.error(400, "4.00", path.error().reason);
        r.paths.push_back(*path);
      }
    }
    downlink(call, std::move(r));
  });

  // Security credentials per endpoint (Transport TS 5.2.6). Keys go in, never out: the
  // answers say that a key is set, and for which identity.
  // Without parameters every record; with any, a page as for /api/clients (?mode=psk).
  route("GET", "/api/security/clients", [this](Call& call) {
    if (call.params().empty()) {
      if (server_.credential_count() > kWholeListMax) {
        return call.error(400, "4.00", whole_list_refusal(server_.credential_count()));
      }
      json list = json::array();
      server_.walk_credentials("", "", [&](const server::Credentials& c) {
        list.push_back(credentials_json(c, kHide));
        return true;
      });
      return call.reply(200, list);
    }
    auto query = parse_page_query(call.params(), {"mode"});
    if (!query) return call.error(400, "4.00", query.error().reason);
    const std::string mode = query->filter("mode");
    Pager pager(*query, server_.credential_count());
    server_.walk_credentials(pager.start_after(), query->prefix, [&](const server::Credentials& c) {
      const bool wanted = mode.empty() || mode == server::credentials_kind_name(c.kind);
      return pager.offer(c.endpoint, wanted, [&] { return credentials_json(c, kHide); });
    });
    call.reply(200, std::move(pager).result("credentials"));
  });
  route("GET", "/api/security/clients/{ep}", [this](Call& call) {
    const std::string& ep = call.capture(0);
    auto c = server_.credentials(ep);
    if (!c) return call.error(404, "4.04", "no credentials for " + ep);
    call.reply(200, credentials_json(*c, kHide));
  });
  route("PUT", "/api/security/clients/{ep}", [this](Call& call) {
    const std::string& ep = call.capture(0);
    if (auto ok = lwm2m::check_endpoint_name(ep); !ok) {
      return call.error(400, "4.00", ok.error().reason);
    }
    auto body = call.json_body(json());
    if (!body) return call.error(400, "4.00", body.error().reason);
    auto c = credentials_from_json(ep, *body);
    if (!c) return call.error(400, "4.00", c.error().reason);
    // 4.09 when another endpoint already proves itself this way; 5.00 if the store fails.
    if (auto saved = server_.put_credentials(*c); !saved) {
      return call.error(saved.error(), lwm2m::status::kInternalServerError);
    }
    if (nodes_ != nullptr) nodes_->share_credentials_change(ep);
    call.reply(200, credentials_json(*c, kHide));
  });
  route("DELETE", "/api/security/clients/{ep}", [this](Call& call) {
    const std::string& ep = call.capture(0);
    auto removed = server_.remove_credentials(ep);
    if (!removed) return call.error(removed.error(), lwm2m::status::kInternalServerError);
    if (!*removed) return call.error(404, "4.04", "no credentials for " + ep);
    if (nodes_ != nullptr) nodes_->share_credentials_change(ep);
    call.no_content();
  });
}

void HttpApi::gather_clients(Call& call) {
  // Refused before any worker builds its part (server_.held() counts them all).
  if (call.params().empty() && server_.held() > kWholeListMax) {
    return call.error(400, "4.00", whole_list_refusal(server_.held()));
  }
  std::optional<http::Response> local;
  serve_forwarded(call.request(), call.caller(),
                  Responder::to([&local](http::Response r) { local = std::move(r); }));
  // A refused query is refused alike everywhere; the list route answers before returning.
  if (!local || local->status != 200) {
    if (local) return call.responder().respond(std::move(*local));
    return call.error(500, "5.00", "the list was not answered");
  }
  std::optional<PageQuery> query;
  if (!call.params().empty()) {
    auto parsed = client_page_query(call);
    if (!parsed) return call.error(400, "4.00", parsed.error().reason);
    query = std::move(*parsed);
  }
  nodes_->gather(call.request(), call.caller(), config().default_timeout,
                 [to = call.responder(), local = std::move(*local),
                  query = std::move(query)](std::vector<http::Response> parts) {
                   parts.push_back(local);
                   MergedList merged = merge_lists(parts, query, "clients", "endpoint");
                   if (merged.failed) return to.respond(std::move(*merged.failed));
                   if (merged.refusal) return error(to, 400, "4.00", *merged.refusal);
                   reply(to, 200, merged.body);
                 });
}

json HttpApi::fleet_counts_json() const {
  const server::FleetCounts& c = server_.fleet_counts();
  const std::size_t total = server_.registration_count();
  const std::size_t awake = std::min(server_.awake_count(), c.queue_mode);
  return json{
      {"binding", c.binding},
      {"version", c.version},
      {"transport", c.transport},
      {"security", c.security},
      {"state",
       {{"online", total - c.queue_mode}, {"awake", awake}, {"sleeping", c.queue_mode - awake}}}};
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
  counter("tether_registers_refused_full_total",
          "Registers answered 5.03 because the server held --max-registrations.", m.refused_full);
  counter("tether_store_failures_total",
          "Periodic store flushes refused (the writes stay pending and are tried again).",
          m.store_failures);
  counter("tether_takeovers_total",
          "Registrations taken over from another node sharing the store, or handed over by "
          "another worker (--workers), when their device reached this one.",
          m.takeovers);
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
  out << "# HELP tether_link_events_total Messages a binding dropped (malformed, unmatched, "
         "echo), answered again (duplicate) or gave up on (timeout).\n"
         "# TYPE tether_link_events_total counter\n";
  for (const auto& [link, counts] : server_.link_counters()) {
    for (const auto& [event, n] : counts) {
      out << "tether_link_events_total{link=\"" << link << "\",event=\"" << event << "\"} " << n
          << '\n';
    }
  }
  out << "# HELP tether_queue_depth Requests waiting for or in flight to clients.\n"
         "# TYPE tether_queue_depth gauge\ntether_queue_depth "
      << server_.total_queue_depth() << '\n';
  if (nodes_ != nullptr) out << nodes_->metrics_text();
  return out.str();
}

void HttpApi::set_nodes(NodeRouting* nodes) {
  nodes_ = nodes;
  nodes->set_local([this](const http::Request& request, ApiCaller caller, Responder to) {
    serve_forwarded(request, std::move(caller), std::move(to));
  });
  nodes->set_event_sink([this](std::string_view kind, const std::string& endpoint,
                               const std::string& text) { publish_text(kind, endpoint, text); });
  set_node(
      nodes->node(), [nodes](std::string_view kind) { return nodes->wanted_elsewhere(kind); },
      [nodes](std::string_view kind, const std::string& endpoint, const std::string& data) {
        nodes->share_event(kind, endpoint, data);
      });
  nodes->set_wants_source([this] { return wanted_kinds(); });
  // This node first, then its siblings: the order gather() answers in.
  auto worker_names = [nodes] {
    std::vector<std::string> names{nodes->node()};
    names.insert(names.end(), nodes->siblings().begin(), nodes->siblings().end());
    return names;
  };
  set_metrics_gather([this, worker_names](const Call& call, std::string own) {
    if (nodes_->siblings().empty()) return false;
    // Within a scraper's usual 10 s timeout (2 s and the routing's 5 s margin).
    nodes_->gather(
        call.request(), call.caller(), Duration{2'000},
        [to = call.responder(), own = std::move(own),
         names = worker_names()](std::vector<http::Response> parts) {
          std::vector<std::string> texts{own};
          for (auto& p : parts) {
            // Counters without a worker's share would look like a reset to a scraper:
            // the scrape fails instead.
            if (p.status != 200) return to.respond(std::move(p));
            texts.push_back(std::move(p.body));
          }
          std::vector<std::pair<std::string, std::string>> by_worker;
          for (std::size_t k = 0; k < texts.size() && k < names.size(); ++k) {
            by_worker.emplace_back(names[k], texts[k]);
          }
          to.respond(http::Response::text(
              200,
              sum_metrics(texts) +
                  metrics_by_worker(by_worker, {"tether_registrations", "tether_updates_total"}),
              "text/plain; version=0.0.4"));
        });
    return true;
  });
  set_new_stream_handler([nodes] { nodes->tell_wants(); });
}

}  // namespace tether::api
