#include "bootstrap/bootstrap_server.hpp"

#include "common/ordered_walk.hpp"

#include <algorithm>
#include <set>

#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/format/codec.hpp"
#include "server/link/coap_server_link.hpp"
#include "server/oscore_credentials.hpp"

namespace tether::bootstrap {

namespace {
namespace codes = lwm2m::status;
using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::format::ContentFormat;
using server::PeerKey;
using server::ServerLink;
using server::UplinkFrom;

// Transport TS 6.4: the Bootstrap interface uses plain /O/I/R paths, whatever alternate path
// the client has.
constexpr const char* kRootPath = "/";
constexpr std::uint16_t kOscoreObject = 21;

DownlinkRequest at(Operation op, Path path) {
  DownlinkRequest r;
  r.op = op;
  r.path = path;
  return r;
}

// Seed 001: the Bootstrap-Server Account is the Security instance a Bootstrap-Discover shows
// without a Short Server ID (only LwM2M Server Accounts carry ssid=).
std::optional<std::uint16_t> bootstrap_account_in(
    const std::optional<lwm2m::format::link_format::BootstrapDiscovery>& discovery) {
  if (!discovery) return std::nullopt;
  for (const auto& link : discovery->links) {
    if (link.path.is_instance() && link.path.object_id() == 0 && !link.ssid) {
      return link.path.instance_id();
    }
  }
  return std::nullopt;
}
}  // namespace

const char* session_state_name(BootstrapSession::State s) {
  switch (s) {
    case BootstrapSession::State::kRunning:
      return "running";
    case BootstrapSession::State::kFinished:
      return "finished";
    case BootstrapSession::State::kFailed:
      return "failed";
  }
  return "unknown";
}

struct BootstrapServer::Run {
  std::uint64_t id = 0;
  BootstrapSession report;
  ServerLink* link = nullptr;
  PeerKey peer;
  std::string identity;  // PeerIdentity::key() of the client that asked, "" for none
  ContentFormat format = ContentFormat::kTlv;
  std::deque<DownlinkRequest> plan;
  std::optional<AccountReplacement> replacement;
  std::optional<server::Credentials> new_credentials;
  std::optional<std::uint16_t> discovered_account;
  server::ExchangeId exchange = 0;
  bool failed = false;
};

BootstrapServer::BootstrapServer(BootstrapServerConfig config, server::Clock& clock,
                                 BootstrapStore& store, const lwm2m::model::ObjectRegistry& models)
    : config_(config), clock_(clock), store_(store), models_(models) {}

BootstrapServer::~BootstrapServer() = default;

void BootstrapServer::attach(transport::Transport& transport, std::string name) {
  auto link = std::make_unique<server::CoapServerLink>(
      transport, std::move(name), server::UplinkInterface::kBootstrap, models_, clock_);
  link->use_oscore(oscore_);
  coap_links_.push_back(link.get());
  attach(std::move(link));
}

ServerLink& BootstrapServer::attach(std::unique_ptr<ServerLink> link) {
  ServerLink& l = links_.add(std::move(link));
  l.set_uplink_handler(
      [this](const UplinkFrom& from, Result<lwm2m::Uplink> uplink, server::UplinkReply& reply) {
        handle_uplink(from, std::move(uplink), reply);
      });
  return l;
}

void BootstrapServer::use_oscore(oscore::Keyring& keyring) {
  oscore_ = &keyring;
  for (auto* link : coap_links_) link->use_oscore(&keyring);
  // RFC 8613 B.1.1: the bound is durable before a number past it goes out.
  keyring.persist_sequences(server::kOscoreSequenceStep, [this](const std::string& endpoint,
                                                                std::uint64_t bound) {
    auto it = configs_.find(endpoint);
    if (it == configs_.end() || !it->second.credentials || !it->second.credentials->has_oscore()) {
      return false;
    }
    BootstrapConfig updated = it->second;
    updated.credentials->oscore.sequence_bound = bound;
    if (!store_.save_config(updated)) return false;
    it->second = std::move(updated);
    return true;
  });
}

Result<Ok> BootstrapServer::restore() {
  auto loaded = store_.load_configs();
  if (!loaded) return loaded.error();
  for (auto& c : *loaded) {
    index_credentials(c);
    configs_[c.endpoint] = std::move(c);
  }
  return Ok{};
}

// --- configurations ------------------------------------------------------------

Result<Ok> BootstrapServer::check_config(const BootstrapConfig& config) const {
  if (auto ok = validate(config); !ok) return ok;
  // What the client proves must point at this endpoint alone, now and after seed 001.
  auto unique = [this](const std::optional<server::Credentials>& c) -> Result<Ok> {
    return c ? credentials_.check_unique(*c) : Result<Ok>(Ok{});
  };
  if (auto ok = unique(config.credentials); !ok) return ok;
  if (config.credentials && oscore_ != nullptr) {
    if (auto ok = server::check_oscore(*oscore_, *config.credentials); !ok) return ok;
  }
  if (config.replace_account) {
    if (auto ok = unique(config.replace_account->credentials); !ok) return ok;
  }
  return Ok{};
}

void BootstrapServer::walk_configs(std::string_view after, std::string_view prefix,
                                   const std::function<bool(const BootstrapConfig&)>& visit) const {
  walk_ordered(configs_, after, prefix, visit);
}

Result<Ok> BootstrapServer::put_config(BootstrapConfig config) {
  if (auto ok = check_config(config); !ok) return ok;
  const std::string endpoint = config.endpoint;
  auto old = configs_.find(endpoint);
  // Before the sequence bound is carried over: the same keys again are no change.
  const bool changed = old != configs_.end() && old->second.credentials != config.credentials;
  if (oscore_ != nullptr && config.credentials) {
    const server::Credentials* before =
        old != configs_.end() && old->second.credentials ? &*old->second.credentials : nullptr;
    server::carry_sequence_bound(*oscore_, before, *config.credentials);
  }
  if (auto saved = store_.save_config(config); !saved) {
    return lwm2m::reject(lwm2m::status::kInternalServerError, saved.error().reason);
  }
  index_credentials(config);
  configs_[endpoint] = std::move(config);
  if (changed) renew_session(endpoint);
  if (on_change_) on_change_(endpoint);
  return Ok{};
}

bool BootstrapServer::remove_config(const std::string& endpoint) {
  if (configs_.count(endpoint) == 0) return false;
  if (!store_.remove_config(endpoint)) return false;
  configs_.erase(endpoint);
  if (oscore_ != nullptr) oscore_->remove(endpoint);
  if (credentials_.remove(endpoint)) renew_session(endpoint);  // access withdrawn
  if (on_change_) on_change_(endpoint);
  return true;
}

Result<Ok> BootstrapServer::reload_config(const std::string& endpoint) {
  auto stored = store_.load_config(endpoint);
  if (!stored) return stored.error();
  return adopt(endpoint, std::move(*stored));
}

Result<Ok> BootstrapServer::reload_configs() {
  auto loaded = store_.load_configs();
  if (!loaded) return loaded.error();
  std::set<std::string> gone;
  for (const auto& [endpoint, c] : configs_) gone.insert(endpoint);
  for (const auto& c : *loaded) gone.erase(c.endpoint);
  for (const auto& endpoint : gone) (void)adopt(endpoint, std::nullopt);
  // Twice: an identity that moved from one endpoint to another is refused as taken until
  // the endpoint that had it took its new configuration.
  std::vector<BootstrapConfig> refused;
  for (auto& c : *loaded) {
    const std::string endpoint = c.endpoint;
    BootstrapConfig copy = c;
    if (!adopt(endpoint, std::move(c))) refused.push_back(std::move(copy));
  }
  Result<Ok> outcome = Ok{};
  for (auto& c : refused) {
    const std::string endpoint = c.endpoint;
    if (auto ok = adopt(endpoint, std::move(c)); !ok) outcome = ok;
  }
  return outcome;
}

Result<Ok> BootstrapServer::adopt(const std::string& endpoint,
                                  std::optional<BootstrapConfig> stored) {
  auto old = configs_.find(endpoint);
  if (!stored) {
    if (old == configs_.end()) return Ok{};
    configs_.erase(old);
    if (oscore_ != nullptr) oscore_->remove(endpoint);
    if (credentials_.remove(endpoint)) renew_session(endpoint);
    return Ok{};
  }
  BootstrapConfig config = std::move(*stored);
  const server::Credentials* before =
      old != configs_.end() && old->second.credentials ? &*old->second.credentials : nullptr;
  // The OSCORE sequence bound alone (persisted by whichever node served the device last) is
  // no change: the keys, the index and the live context stay; the bound only grows.
  bool same_keys = old != configs_.end() && config.credentials.has_value() == (before != nullptr);
  if (same_keys && before != nullptr) {
    server::Credentials c = *config.credentials;
    c.oscore.sequence_bound = before->oscore.sequence_bound;
    same_keys = c == *before;
  }
  if (same_keys) {
    if (before != nullptr && oscore_ != nullptr) {
      server::carry_sequence_bound(*oscore_, before, *config.credentials);
    }
    old->second = std::move(config);
    return Ok{};
  }
  if (config.credentials) {
    if (auto unique = credentials_.check_unique(*config.credentials); !unique) return unique;
    if (oscore_ != nullptr) {
      server::carry_sequence_bound(*oscore_, before, *config.credentials);
      // Keys the keyring refuses must not leave the old ones working.
      if (auto ok = server::check_oscore(*oscore_, *config.credentials); !ok) {
        oscore_->remove(endpoint);
        credentials_.remove(endpoint);
        configs_.erase(endpoint);
        renew_session(endpoint);
        return ok;
      }
    }
  }
  const bool changed = old != configs_.end();
  index_credentials(config);
  configs_[endpoint] = std::move(config);
  if (changed) renew_session(endpoint);
  return Ok{};
}

const BootstrapConfig* BootstrapServer::config(const std::string& endpoint) const {
  auto it = configs_.find(endpoint);
  return it == configs_.end() ? nullptr : &it->second;
}

const BootstrapSession* BootstrapServer::session(const std::string& endpoint) const {
  if (auto run = runs_.find(endpoint); run != runs_.end()) return &run->second->report;
  auto it = history_.find(endpoint);
  return it == history_.end() ? nullptr : &it->second;
}

std::vector<const BootstrapSession*> BootstrapServer::sessions() const {
  std::map<std::string, const BootstrapSession*> by_endpoint;
  for (const auto& [ep, s] : history_) by_endpoint[ep] = &s;
  for (const auto& [ep, run] : runs_) by_endpoint[ep] = &run->report;
  std::vector<const BootstrapSession*> out;
  for (const auto& [ep, s] : by_endpoint) out.push_back(s);
  return out;
}

// --- the client's requests --------------------------------------------------------

void BootstrapServer::index_credentials(const BootstrapConfig& config) {
  if (config.credentials) {
    credentials_.put(*config.credentials);
  } else {
    credentials_.remove(config.endpoint);
  }
  if (oscore_ == nullptr) return;
  if (!config.credentials) {
    oscore_->remove(config.endpoint);
  } else {
    // Checked by put_config(); a stored configuration that no longer keys is refused at
    // its Bootstrap-Request like any client without a context.
    (void)server::key_oscore(*oscore_, *config.credentials);
  }
}

std::optional<Bytes> BootstrapServer::psk_key_for(ByteView identity) const {
  return credentials_.psk_key_for(identity);
}

bool BootstrapServer::knows_public_key(ByteView spki) const {
  return credentials_.knows_public_key(spki);
}

Result<Ok> BootstrapServer::check_peer(const BootstrapConfig& config, const ServerLink& link,
                                       const PeerKey& peer) const {
  return credentials_.admit(config.endpoint, link.identify(peer), lwm2m::status::kBadRequest);
}

void BootstrapServer::handle_uplink(const UplinkFrom& from, Result<lwm2m::Uplink> uplink,
                                    server::UplinkReply& reply) {
  ServerLink& link = *from.link;
  // A request refused before it names a configuration: counted, answered, reported.
  auto refuse_early = [&](const Error& e) {
    ++metrics_.refused;
    emit_refused(from.endpoint.value_or(""), link, from.peer, e.reason);
    reply.answer(lwm2m::UplinkAnswer::refusal(e));
    flush_transports();
  };
  if (!uplink) return refuse_early(uplink.error());
  // Transport TS 5.2.6: without a name, the (D)TLS identity says who it is. A name taken
  // from a certificate's CN is checked like `ep` (the query's was checked when decoded).
  auto name_from_identity = [&]() -> Result<std::optional<std::string>> {
    auto name = credentials_.endpoint_for(link.identify(from.peer));
    if (name) {
      if (auto ok = lwm2m::check_endpoint_name(*name); !ok) return ok.error();
    }
    return name;
  };
  if (auto* pack = std::get_if<lwm2m::BootstrapPackRequest>(&*uplink)) {
    if (!pack->endpoint) {
      auto name = name_from_identity();
      if (!name) return refuse_early(name.error());
      pack->endpoint = std::move(*name);
    }
    reply.answer(answer_pack_request(from, *pack));
    flush_transports();
    return;
  }
  auto* br = std::get_if<lwm2m::BootstrapRequest>(&*uplink);
  if (br == nullptr) {
    return refuse_early(lwm2m::reject(codes::kNotFound, "not a Bootstrap interface request"));
  }
  if (!br->endpoint) {
    auto name = name_from_identity();
    if (!name) return refuse_early(name.error());
    br->endpoint = std::move(*name);
  }
  bool start_run = false;
  std::optional<ContentFormat> format;
  reply.answer(answer_bootstrap_request(from, *br, start_run, format));
  // The 2.04 goes out first; the session's first request follows it.
  if (start_run) begin(configs_.at(*br->endpoint), link, from.peer, format, false);
  flush_transports();
}

lwm2m::UplinkAnswer BootstrapServer::answer_bootstrap_request(
    const UplinkFrom& from, const lwm2m::BootstrapRequest& br, bool& start_run,
    std::optional<ContentFormat>& format) {
  ++metrics_.requests;
  auto refused = [&](const Error& e) {
    ++metrics_.refused;
    emit_refused(br.endpoint.value_or(""), *from.link, from.peer, e.reason);
    return lwm2m::UplinkAnswer::refusal(e);
  };
  auto refuse = [&](lwm2m::Status code, const std::string& why) {
    return refused(lwm2m::reject(code, why));
  };
  // Transport TS Table 6.7-1: 4.00 for an endpoint name we have no configuration for.
  if (!br.endpoint) return refuse(lwm2m::status::kBadRequest, "ep (the endpoint name) is missing");
  auto it = configs_.find(*br.endpoint);
  if (it == configs_.end()) {
    return refuse(lwm2m::status::kBadRequest, "unknown endpoint client name " + *br.endpoint);
  }
  if (auto ok = check_peer(it->second, *from.link, from.peer); !ok) {
    return refused(ok.error());  // 4.00 (Table 6.7-1), its code already in the reason
  }
  // A session a client asked for is that client's: another peer cannot cut it short (a
  // location or a name is never a credential; Transport TS 5.2.6).
  if (auto run = runs_.find(*br.endpoint);
      run != runs_.end() && !run->second->report.server_initiated &&
      run->second->identity != from.link->identify(from.peer).key()) {
    return refuse(lwm2m::status::kBadRequest,
                  "a bootstrap session of " + *br.endpoint + " is running for another peer");
  }
  if (br.preferred_format) {
    const auto f = lwm2m::format::content_format_from(*br.preferred_format);
    if (!f || !is_bootstrap_write_format(*f)) {
      return refuse(
          lwm2m::status::kUnsupportedContentFormat,
          "pct " + std::to_string(*br.preferred_format) + " is not a format for Bootstrap-Write");
    }
    format = f;
  }
  start_run = true;
  return lwm2m::UplinkAnswer{};  // 2.04
}

lwm2m::UplinkAnswer BootstrapServer::answer_pack_request(const UplinkFrom& from,
                                                         const lwm2m::BootstrapPackRequest& pr) {
  ++metrics_.requests;
  auto refused = [&](const Error& e) {
    ++metrics_.refused;
    emit_refused(pr.endpoint.value_or(""), *from.link, from.peer,
                 "Bootstrap-Pack-Request: " + e.reason);
    return lwm2m::UplinkAnswer::refusal(e);
  };
  auto refuse = [&](lwm2m::Status code, const std::string& why) {
    return refused(lwm2m::reject(code, why));
  };
  if (!pr.endpoint) return refuse(lwm2m::status::kBadRequest, "ep (the endpoint name) is missing");
  auto it = configs_.find(*pr.endpoint);
  if (it == configs_.end()) {
    return refuse(lwm2m::status::kBadRequest, "unknown endpoint client name " + *pr.endpoint);
  }
  const BootstrapConfig& config = it->second;
  if (auto ok = check_peer(config, *from.link, from.peer); !ok) {
    return refused(ok.error());  // 4.00 (Table 6.7-1), its code already in the reason
  }
  if (!config.allow_pack) {
    return refuse(lwm2m::status::kMethodNotAllowed,
                  "Bootstrap-Pack is not enabled for " + *pr.endpoint);
  }
  ContentFormat format = ContentFormat::kSenmlCbor;
  if (pr.accept) {
    const auto f = lwm2m::format::content_format_from(*pr.accept);
    if (!f || !is_bootstrap_pack_format(*f)) {
      return refuse(lwm2m::status::kNotAcceptable,
                    "a Bootstrap-Pack comes as SenML CBOR, SenML JSON or LwM2M CBOR");
    }
    format = *f;
  }
  lwm2m::Tree pack = config.writes;
  // Without a Discover the old account's instance is unknown; the pack then carries the
  // replacement only when the configuration names that instance.
  if (config.replace_account && config.replace_account->instance_id) {
    pack.objects[0].instances[*config.replace_account->instance_id] =
        config.replace_account->security;
  }
  const auto records = pack.records();
  auto body = lwm2m::format::encode_records(format, records, models_);
  if (!body) return refuse(lwm2m::status::kInternalServerError, body.error().reason);
  ++metrics_.packs;
  remember(config.endpoint, *from.link, from.peer);
  emit(config.endpoint, "pack served (" + std::to_string(records.size()) + " values)");
  lwm2m::UplinkAnswer pack_answer;
  pack_answer.code = codes::kContent;
  pack_answer.content_format = static_cast<std::uint16_t>(format);
  pack_answer.body = std::move(*body);
  return pack_answer;
}

// --- sessions ---------------------------------------------------------------------

Result<Ok> BootstrapServer::start(const std::string& endpoint,
                                  const std::optional<std::string>& address,
                                  const std::optional<std::string>& transport) {
  auto it = configs_.find(endpoint);
  if (it == configs_.end()) return fail("no bootstrap configuration for " + endpoint);
  ServerLink* link = nullptr;
  std::string where;
  auto named = [this](const std::string& name) { return links_.find(name); };
  if (address) {
    where = *address;
    link = transport ? named(*transport) : links_.first();
  } else if (auto seen = last_seen_.find(endpoint); seen != last_seen_.end()) {
    link = transport ? named(*transport) : seen->second.link;
    where = seen->second.address;
  } else if (transport) {
    // A binding that names clients by endpoint (MQTT) needs no address.
    link = named(*transport);
  } else {
    return fail("no address for " + endpoint + ": give one, or let the client speak first");
  }
  if (link == nullptr) return fail("no transport named " + transport.value_or("(none)"));
  auto peer = link->peer_at(where, endpoint);
  if (!peer) return peer.error();
  if (oscore_ != nullptr && it->second.credentials && it->second.credentials->has_oscore()) {
    // Our first word to this client carries keys: under its context, never in clear.
    if (!oscore_->find(endpoint)) return fail("no OSCORE context for " + endpoint);
    link->protect(*peer, endpoint);
  }
  ++metrics_.server_initiated;
  begin(it->second, *link, *peer, std::nullopt, true);
  flush_transports();
  return Ok{};
}

void BootstrapServer::begin(const BootstrapConfig& config, ServerLink& link, const PeerKey& peer,
                            std::optional<ContentFormat> format, bool server_initiated) {
  if (auto old = runs_.find(config.endpoint); old != runs_.end()) {
    // A new Bootstrap-Request restarts the sequence; the old exchange is abandoned.
    Run& previous = *old->second;
    if (previous.exchange != 0) previous.link->forget(previous.exchange, clock_.now());
    previous.report.error = "superseded by a new bootstrap session";
    end(previous, BootstrapSession::State::kFailed);
  }
  auto run = std::make_unique<Run>();
  run->id = next_run_++;
  run->link = &link;
  run->peer = peer;
  run->identity = link.identify(peer).key();
  run->format = config.format.value_or(format.value_or(ContentFormat::kTlv));
  run->report.endpoint = config.endpoint;
  run->report.server_initiated = server_initiated;
  run->report.transport = link.name();
  run->report.address = link.describe(peer);
  run->report.started_at = clock_.unix_now();
  remember(config.endpoint, link, peer);

  auto& plan = run->plan;
  run->replacement = config.replace_account;
  if (run->replacement) run->new_credentials = run->replacement->credentials;
  const bool find_account = run->replacement && !run->replacement->instance_id;
  if (config.discover || find_account) plan.push_back(at(Operation::kBootstrapDiscover, Path{}));
  for (const auto& p : config.reads) {
    DownlinkRequest r = at(Operation::kBootstrapRead, p);
    r.format = run->format;
    plan.push_back(std::move(r));
  }
  for (const auto& p : config.deletes) plan.push_back(at(Operation::kBootstrapDelete, p));
  // OSCORE first: Security instances link to it. Then by object ID.
  for (const bool oscore_pass : {true, false}) {
    for (const auto& [oid, object] : config.writes.objects) {
      if ((oid == kOscoreObject) != oscore_pass) continue;
      for (const auto& [iid, instance] : object.instances) {
        DownlinkRequest w = at(Operation::kBootstrapWrite, Path{oid, iid});
        w.content.objects[oid].instances[iid] = instance;
        w.format = run->format;
        plan.push_back(std::move(w));
      }
    }
  }
  if (run->replacement) {
    // The path is settled when this step comes up (after the Discover).
    DownlinkRequest w = at(Operation::kBootstrapWrite, Path{0, Path::kUnassigned});
    w.format = run->format;
    plan.push_back(std::move(w));
  }
  plan.push_back(at(Operation::kBootstrapFinish, Path{}));

  Run& ref = *run;
  runs_[config.endpoint] = std::move(run);
  emit(config.endpoint, std::string("started (") +
                            (server_initiated ? "server-initiated" : "client-initiated") + ", " +
                            std::to_string(ref.plan.size()) + " steps, " +
                            std::string(lwm2m::format::name_of(ref.format)) + ")");
  advance(ref);
}

void BootstrapServer::advance(Run& run) {
  if (run.plan.empty()) return;
  DownlinkRequest& next = run.plan.front();
  if (next.op == Operation::kBootstrapWrite && next.path.is_instance() &&
      next.path.instance_id() == Path::kUnassigned && run.replacement) {
    const auto iid =
        run.replacement->instance_id ? run.replacement->instance_id : run.discovered_account;
    if (!iid) {
      abandon(run, "Bootstrap-Discover showed no Bootstrap-Server Account to replace", true);
      return advance(run);
    }
    next.path = Path{0, *iid};
    next.content.objects[0].instances[*iid] = run.replacement->security;
  }
  const std::string endpoint = run.report.endpoint;
  const std::uint64_t run_id = run.id;
  auto exchange = run.link->request(
      run.peer, next, kRootPath,
      [this, endpoint, run_id](Result<lwm2m::DownlinkResponse> m) {
        on_answer(endpoint, run_id, std::move(m));
      },
      clock_.now());
  if (!exchange) {
    abandon(run, "cannot encode " + next.path.to_string() + ": " + exchange.error().reason, true);
    return advance(run);
  }
  run.exchange = *exchange;
  timers_.schedule(clock_.now() + config_.step_timeout,
                   Timeout{endpoint, run_id, run.report.steps.size()});
}

void BootstrapServer::on_answer(const std::string& endpoint, std::uint64_t run_id,
                                Result<lwm2m::DownlinkResponse> m) {
  auto it = runs_.find(endpoint);
  if (it == runs_.end() || it->second->id != run_id || it->second->plan.empty()) return;
  Run& run = *it->second;
  run.exchange = 0;
  DownlinkRequest request = std::move(run.plan.front());
  run.plan.pop_front();
  BootstrapStep step;
  step.op = request.op;
  step.path = request.path;
  if (!m) {
    step.result = "unreachable";
    run.report.steps.push_back(std::move(step));
    emit(endpoint, std::string(lwm2m::operation_name(request.op)) + " " + request.path.to_string() +
                       ": " + m.error().reason);
    abandon(run, "the client did not answer: " + m.error().reason, false);
    flush_transports();
    return;
  }
  lwm2m::DownlinkResponse& response = *m;
  step.result = response.code.to_string();
  const bool ok = response.code.is_success();
  if (request.op == Operation::kBootstrapDiscover && ok) {
    run.discovered_account = bootstrap_account_in(response.bootstrap_links);
  }
  if (request.op == Operation::kBootstrapDiscover || request.op == Operation::kBootstrapRead) {
    step.response = response;
  }
  emit(endpoint,
       std::string(lwm2m::operation_name(request.op)) + " " + request.path.to_string() + " " +
           response.code.describe(),
       step.response);
  const bool replacement_write =
      request.op == Operation::kBootstrapWrite && run.replacement &&
      request.path.object_id() == 0 && request.content.find_instance(request.path) != nullptr &&
      *request.content.find_instance(request.path) == run.replacement->security;
  run.report.steps.push_back(std::move(step));
  if (request.op == Operation::kBootstrapFinish) {
    // The first failure is the one reported; a Finish after it is a courtesy.
    if (!ok && !run.failed) {
      // Core TS 6.1.7.6: 4.06 means the client found no usable Server Account (or another
      // inconsistency) in what it was given.
      run.report.error = response.code == codes::kNotAcceptable
                             ? "the client found the configuration inconsistent (4.06)"
                             : "Bootstrap-Finish answered " + response.code.describe();
      run.failed = true;
    }
    end(run, run.failed ? BootstrapSession::State::kFailed : BootstrapSession::State::kFinished);
    flush_transports();
    return;
  }
  if (replacement_write && ok) run.report.account_replaced = true;
  // Deleting what is not there leaves the client as asked.
  const bool harmless =
      request.op == Operation::kBootstrapDelete && response.code == codes::kNotFound;
  const bool optional = request.op == Operation::kBootstrapDiscover && !run.replacement;
  if (!ok && !harmless && !optional) {
    abandon(run,
            std::string(lwm2m::operation_name(request.op)) + " " + request.path.to_string() +
                " answered " + response.code.describe(),
            true);
  }
  advance(run);
  flush_transports();
}

void BootstrapServer::abandon(Run& run, const std::string& why, bool send_finish) {
  if (!run.failed) run.report.error = why;
  run.failed = true;
  const bool finish_next =
      !run.plan.empty() && run.plan.back().op == Operation::kBootstrapFinish && send_finish;
  // Transport TS 6.4.2: Bootstrap-Finish goes out also when the sequence is cut short.
  while (!run.plan.empty() && run.plan.front().op != Operation::kBootstrapFinish) {
    BootstrapStep skipped;
    skipped.op = run.plan.front().op;
    skipped.path = run.plan.front().path;
    skipped.result = "skipped";
    run.report.steps.push_back(std::move(skipped));
    run.plan.pop_front();
  }
  if (!finish_next) {
    run.plan.clear();
    end(run, BootstrapSession::State::kFailed);
  }
}

void BootstrapServer::end(Run& run, BootstrapSession::State state) {
  run.report.state = state;
  run.report.ended_at = clock_.unix_now();
  const std::string endpoint = run.report.endpoint;
  if (state == BootstrapSession::State::kFinished) {
    ++metrics_.finished;
    // Seed 001: the client now holds a persistent Bootstrap-Server Account; from here on it
    // authenticates with the new keys, and later bootstraps keep that account.
    auto cfg = configs_.find(endpoint);
    if (run.report.account_replaced && cfg != configs_.end()) {
      BootstrapConfig updated = cfg->second;
      const bool changed = run.new_credentials && run.new_credentials != updated.credentials;
      if (run.new_credentials) updated.credentials = run.new_credentials;
      updated.replace_account.reset();
      if (auto saved = store_.save_config(updated); saved) {
        index_credentials(updated);
        cfg->second = std::move(updated);
        if (changed) renew_session(endpoint);
        if (on_change_) on_change_(endpoint);  // the other nodes take the new account
      } else {
        run.report.error = "the account was replaced but the store failed: " + saved.error().reason;
      }
    }
  } else {
    ++metrics_.failed;
  }
  std::string detail = session_state_name(state);
  if (!run.report.error.empty()) detail += ": " + run.report.error;
  if (run.report.account_replaced) detail += " (Bootstrap-Server Account replaced)";
  history_[endpoint] = run.report;
  runs_.erase(endpoint);  // `run` is gone from here on
  emit(endpoint, std::move(detail));
}

void BootstrapServer::remember(const std::string& endpoint, ServerLink& link, const PeerKey& peer) {
  last_seen_[endpoint] = Seen{&link, peer, link.describe(peer), link.identify(peer)};
}

void BootstrapServer::renew_session(const std::string& endpoint) {
  if (!config_.renew_sessions_on_credential_change) return;
  auto seen = last_seen_.find(endpoint);
  if (seen == last_seen_.end()) return;
  const Seen& s = seen->second;
  if (!s.identity.secure()) return;
  // Only the session this endpoint proved: by now its address may be someone else's.
  const auto now = s.link->identify(s.peer);
  if (now.psk_identity != s.identity.psk_identity || now.public_key != s.identity.public_key ||
      now.certificate_cn != s.identity.certificate_cn) {
    return;
  }
  if (s.link->renew_security(s.peer, clock_.now())) flush_transports();
}

// --- timers ---------------------------------------------------------------------

std::optional<Instant> BootstrapServer::next_deadline() {
  return timers_.next();
}

void BootstrapServer::on_timer() {
  const Instant now = clock_.now();
  while (auto t = timers_.pop_due(now)) {
    auto it = runs_.find(t->endpoint);
    if (it == runs_.end() || it->second->id != t->run_id) continue;
    Run& run = *it->second;
    if (run.report.steps.size() != t->step || run.plan.empty()) continue;
    if (run.exchange != 0) run.link->forget(run.exchange, now);
    run.exchange = 0;
    BootstrapStep step;
    step.op = run.plan.front().op;
    step.path = run.plan.front().path;
    step.result = "timeout";
    run.plan.pop_front();
    run.report.steps.push_back(std::move(step));
    abandon(run, "no answer in time", false);
  }
  flush_transports();
}

void BootstrapServer::emit_refused(const std::string& endpoint, const ServerLink& link,
                                   const PeerKey& peer, const std::string& reason) {
  if (!on_event_) return;
  server::ServerEvent e;
  e.kind = server::ServerEvent::Kind::kRefused;
  e.at = clock_.unix_now();
  e.endpoint = endpoint;
  e.detail = reason;
  e.address = link.name() + " " + link.describe(peer);
  on_event_(e);
}

void BootstrapServer::emit(const std::string& endpoint, std::string detail,
                           std::optional<lwm2m::DownlinkResponse> content) {
  if (!on_event_) return;
  server::ServerEvent e;
  e.kind = server::ServerEvent::Kind::kBootstrap;
  e.at = clock_.unix_now();
  e.endpoint = endpoint;
  e.detail = std::move(detail);
  e.content = std::move(content);
  on_event_(e);
}

void BootstrapServer::flush_transports() {
  links_.flush();
}

}  // namespace tether::bootstrap
