#include "api/bootstrap_api.hpp"

#include <algorithm>
#include <sstream>

#include "api/json_mapping.hpp"
#include "api/page_query.hpp"
#include "bootstrap/bootstrap_config_json.hpp"
#include "lwm2m/endpoint_name.hpp"

namespace tether::api {

namespace {
constexpr const char* kConfigRoute = "/api/bootstrap/{ep}";
}  // namespace

json session_json(const bootstrap::BootstrapSession& s) {
  json steps = json::array();
  for (const auto& step : s.steps) {
    json j{{"operation", lwm2m::operation_name(step.op)},
           {"path", step.path.to_string()},
           {"result", step.result}};
    if (step.response) {
      if (step.response->bootstrap_links) {
        json links = json::array();
        for (const auto& l : step.response->bootstrap_links->links) {
          json link{{"path", l.path.to_string()}};
          if (l.ssid) link["ssid"] = *l.ssid;
          if (!l.uri.empty()) link["uri"] = l.uri;
          links.push_back(std::move(link));
        }
        j["content"] =
            json{{"version", step.response->bootstrap_links->version}, {"links", std::move(links)}};
      } else {
        j["content"] = response_json(*step.response);
      }
    }
    steps.push_back(std::move(j));
  }
  json out{{"endpoint", s.endpoint},
           {"state", bootstrap::session_state_name(s.state)},
           {"serverInitiated", s.server_initiated},
           {"transport", s.transport},
           {"address", s.address},
           {"startedAt", iso8601(s.started_at)},
           {"accountReplaced", s.account_replaced},
           {"steps", std::move(steps)}};
  if (s.ended_at != 0) out["endedAt"] = iso8601(s.ended_at);
  if (!s.error.empty()) out["error"] = s.error;
  return out;
}

BootstrapApi::BootstrapApi(ApiConfig config, transport::EventLoop& loop,
                           bootstrap::BootstrapServer& server)
    : HttpService(std::move(config), loop, "bootstrap"), server_(server) {
  serve_models(server_.models());
  routes();
  serve_metrics([this] { return metrics_text(); });
}

void BootstrapApi::routes() {
  // Secrets (PSK keys, secret keys, OSCORE master secrets) go in, never out.
  // Without parameters, every configuration keyed by endpoint; with any, a page of them
  // ({"total", "configs": [{"endpoint", ...}], "next", "matched"}) as for /api/clients.
  route("GET", "/api/bootstrap", [this](Call& call) {
    auto shown = [](const bootstrap::BootstrapConfig& c) {
      return bootstrap::config_to_json(c, server::Secrets::kHide);
    };
    if (call.params().empty()) {
      if (server_.config_count() > kWholeListMax) {
        return call.error(400, "4.00", whole_list_refusal(server_.config_count()));
      }
      json all = json::object();
      server_.walk_configs("", "", [&](const bootstrap::BootstrapConfig& c) {
        all[c.endpoint] = shown(c);
        return true;
      });
      return call.reply(200, all);
    }
    auto query = parse_page_query(call.params(), {});
    if (!query) return call.error(400, "4.00", query.error().reason);
    Pager pager(*query, server_.config_count());
    server_.walk_configs(pager.start_after(), query->prefix,
                         [&](const bootstrap::BootstrapConfig& c) {
                           return pager.offer(c.endpoint, true, [&] {
                             json j = shown(c);
                             j["endpoint"] = c.endpoint;
                             return j;
                           });
                         });
    call.reply(200, std::move(pager).result("configs"));
  });

  // Sessions (running, else the last), by endpoint; with parameters a page (?state=failed).
  route("GET", "/api/bootstrap/sessions", [this](Call& call) {
    const auto sessions = server_.sessions();  // sorted by endpoint
    if (call.params().empty()) {
      if (sessions.size() > kWholeListMax) {
        return call.error(400, "4.00", whole_list_refusal(sessions.size()));
      }
      json list = json::array();
      for (const auto* s : sessions) list.push_back(session_json(*s));
      return call.reply(200, list);
    }
    auto query = parse_page_query(call.params(), {"state"});
    if (!query) return call.error(400, "4.00", query.error().reason);
    const std::string state = query->filter("state");
    Pager pager(*query, sessions.size());
    // As walk_ordered: from the prefix, or from just after the cursor when that is later.
    const std::string_view after = pager.start_after();
    const bool from_prefix = after.empty() || after < query->prefix;
    auto it = std::partition_point(
        sessions.begin(), sessions.end(), [&](const bootstrap::BootstrapSession* s) {
          return from_prefix ? s->endpoint < query->prefix : s->endpoint <= after;
        });
    for (; it != sessions.end() && (*it)->endpoint.starts_with(query->prefix); ++it) {
      const auto& s = **it;
      const bool wanted = state.empty() || state == bootstrap::session_state_name(s.state);
      if (!pager.offer(s.endpoint, wanted, [&] { return session_json(s); })) break;
    }
    call.reply(200, std::move(pager).result("sessions"));
  });

  route("GET", kConfigRoute, [this](Call& call) {
    const std::string& ep = call.capture(0);
    const auto* c = server_.config(ep);
    if (c == nullptr) return call.error(404, "4.04", "no bootstrap configuration for " + ep);
    call.reply(200, bootstrap::config_to_json(*c, server::Secrets::kHide));
  });

  route("PUT", kConfigRoute, [this](Call& call) {
    const std::string& ep = call.capture(0);
    if (auto ok = lwm2m::check_endpoint_name(ep); !ok) {
      return call.error(400, "4.00", ok.error().reason);
    }
    auto body = call.json_body(json());
    if (!body) return call.error(400, "4.00", body.error().reason);
    auto c = bootstrap::config_from_json(ep, *body, server_.models());
    if (!c) return call.error(c.error(), lwm2m::status::kBadRequest);
    json normalised = bootstrap::config_to_json(*c, server::Secrets::kHide);
    // ?dryRun=true: every check a PUT makes, and its answer, with nothing stored.
    if (call.has_param("dryRun") && call.param("dryRun") != "false") {
      if (auto ok = server_.check_config(*c); !ok) {
        return call.error(ok.error(), lwm2m::status::kBadRequest);
      }
      return call.reply(200, normalised);
    }
    if (auto saved = server_.put_config(std::move(*c)); !saved) {
      return call.error(saved.error(), lwm2m::status::kBadRequest);
    }
    call.reply(200, normalised);
  });

  route("DELETE", kConfigRoute, [this](Call& call) {
    const std::string& ep = call.capture(0);
    if (!server_.remove_config(ep)) {
      return call.error(404, "4.04", "no bootstrap configuration for " + ep);
    }
    call.no_content();
  });

  // Server-initiated bootstrap: {"address": "host:port", "transport": "udp"}, both optional.
  route("POST", std::string(kConfigRoute) + "/start", [this](Call& call) {
    const std::string& ep = call.capture(0);
    auto body = call.json_body();
    if (!body || !body->is_object()) {
      return call.error(400, "4.00", "the body must be a JSON object");
    }
    std::optional<std::string> address, transport;
    for (auto it = body->begin(); it != body->end(); ++it) {
      if (!it.value().is_string()) return call.error(400, "4.00", it.key() + " is a string");
      if (it.key() == "address") {
        address = it.value().get<std::string>();
      } else if (it.key() == "transport") {
        transport = it.value().get<std::string>();
      } else {
        return call.error(400, "4.00", "unknown setting " + it.key());
      }
    }
    if (server_.config(ep) == nullptr) {
      return call.error(404, "4.04", "no bootstrap configuration for " + ep);
    }
    if (auto started = server_.start(ep, address, transport); !started) {
      return call.error(400, "4.00", started.error().reason);
    }
    call.reply(202, json{{"status", "started"}});
  });

  route("GET", std::string(kConfigRoute) + "/session", [this](Call& call) {
    const std::string& ep = call.capture(0);
    const auto* s = server_.session(ep);
    if (s == nullptr) return call.error(404, "4.04", "no bootstrap session of " + ep);
    call.reply(200, session_json(*s));
  });
}

std::string BootstrapApi::metrics_text() {
  const auto& m = server_.metrics();
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << v << '\n';
  };
  metric("tether_bootstrap_requests_total", "counter",
         "Bootstrap-Requests and Bootstrap-Pack-Requests received.", m.requests);
  metric("tether_bootstrap_refused_total", "counter", "Requests refused with an error code.",
         m.refused);
  metric("tether_bootstrap_packs_total", "counter", "Bootstrap-Packs served.", m.packs);
  metric("tether_bootstrap_server_initiated_total", "counter",
         "Sessions started by the bootstrap server.", m.server_initiated);
  metric("tether_bootstrap_finished_total", "counter", "Sessions that ended with 2.04 at Finish.",
         m.finished);
  metric("tether_bootstrap_failed_total", "counter", "Sessions that failed.", m.failed);
  metric("tether_bootstrap_configs", "gauge", "Endpoints with a configuration.",
         server_.config_count());
  metric("tether_bootstrap_sessions_running", "gauge", "Sessions in progress.", server_.running());
  return out.str();
}

}  // namespace tether::api
