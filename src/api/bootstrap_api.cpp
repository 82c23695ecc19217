#include "api/bootstrap_api.hpp"

#include <httplib.h>

#include <sstream>

#include "api/json_mapping.hpp"
#include "bootstrap/bootstrap_config_json.hpp"

namespace tether::api {

namespace {
constexpr const char* kConfigRoute = R"(/api/bootstrap/([^/]+))";
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
    : HttpService(std::move(config), loop), server_(server) {
  routes();
  serve_metrics([this] { return metrics_text(); });
}

void BootstrapApi::routes() {
  auto& h = http();

  h.Get("/api/bootstrap", [this](const httplib::Request&, httplib::Response& res) {
    json all = json::object();
    on_loop([&] {
      for (const auto* c : server_.configs()) all[c->endpoint] = bootstrap::config_to_json(*c);
    });
    reply(res, 200, all);
  });

  h.Get("/api/bootstrap/sessions", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    on_loop([&] {
      for (const auto* s : server_.sessions()) list.push_back(session_json(*s));
    });
    reply(res, 200, list);
  });

  h.Get(kConfigRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string ep = req.matches[1];
    std::optional<json> found;
    on_loop([&] {
      if (const auto* c = server_.config(ep)) found = bootstrap::config_to_json(*c);
    });
    if (!found) return error(res, 404, "4.04", "no bootstrap configuration for " + ep);
    reply(res, 200, *found);
  });

  h.Put(kConfigRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string ep = req.matches[1];
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return error(res, 400, "4.00", "the body is not JSON");
    Result<Ok> saved = Ok{};
    json normalised;
    on_loop([&] {
      auto c = bootstrap::config_from_json(ep, body, server_.models());
      if (!c) {
        saved = c.error();
        return;
      }
      normalised = bootstrap::config_to_json(*c);
      saved = server_.put_config(std::move(*c));
    });
    if (!saved) return error(res, saved.error(), lwm2m::status::kBadRequest);
    reply(res, 200, normalised);
  });

  h.Delete(kConfigRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string ep = req.matches[1];
    bool removed = false;
    on_loop([&] { removed = server_.remove_config(ep); });
    if (!removed) return error(res, 404, "4.04", "no bootstrap configuration for " + ep);
    res.status = 204;
  });

  // Server-initiated bootstrap: {"address": "host:port", "transport": "udp"}, both optional.
  h.Post(std::string(kConfigRoute) + "/start",
         [this](const httplib::Request& req, httplib::Response& res) {
           const std::string ep = req.matches[1];
           json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
           if (body.is_discarded() || !body.is_object()) {
             return error(res, 400, "4.00", "the body must be a JSON object");
           }
           std::optional<std::string> address, transport;
           for (auto it = body.begin(); it != body.end(); ++it) {
             if (!it.value().is_string()) return error(res, 400, "4.00", it.key() + " is a string");
             if (it.key() == "address") {
               address = it.value().get<std::string>();
             } else if (it.key() == "transport") {
               transport = it.value().get<std::string>();
             } else {
               return error(res, 400, "4.00", "unknown setting " + it.key());
             }
           }
           bool known = false;
           Result<Ok> started = Ok{};
           on_loop([&] {
             known = server_.config(ep) != nullptr;
             if (known) started = server_.start(ep, address, transport);
           });
           if (!known) return error(res, 404, "4.04", "no bootstrap configuration for " + ep);
           if (!started) return error(res, 400, "4.00", started.error().reason);
           reply(res, 202, json{{"status", "started"}});
         });

  h.Get(std::string(kConfigRoute) + "/session",
        [this](const httplib::Request& req, httplib::Response& res) {
          const std::string ep = req.matches[1];
          std::optional<json> found;
          on_loop([&] {
            if (const auto* s = server_.session(ep)) found = session_json(*s);
          });
          if (!found) return error(res, 404, "4.04", "no bootstrap session of " + ep);
          reply(res, 200, *found);
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
         server_.configs().size());
  metric("tether_bootstrap_sessions_running", "gauge", "Sessions in progress.", server_.running());
  return out.str();
}

}  // namespace tether::api
