#include "server_worker.hpp"

#include <filesystem>
#include <map>

#include "common/logfmt.hpp"
#include "option_table.hpp"
#include "server/server_loop.hpp"
#include "server/store/sqlite/sqlite_store.hpp"

namespace tether::app {

std::string worker_database(const std::string& dir, std::size_t worker) {
  return dir + (worker == 0 ? "/tether.db" : "/tether-w" + std::to_string(worker) + ".db");
}

void fold_worker_files(const std::string& dir, const std::vector<server::ServerStore*>& stores) {
  for (std::size_t k = stores.size(); k < 256; ++k) {
    const std::string file = worker_database(dir, k);
    if (!std::filesystem::exists(file)) continue;
    auto opened = server::SqliteStore::open(file, true);
    if (!opened) throw std::invalid_argument(opened.error().reason);
    server::ServerStore& from = **opened;
    server::ServerStore& to = *stores[k % stores.size()];
    auto registrations = from.load_registrations();
    auto observations = from.load_observations();
    if (!registrations || !observations) {
      throw std::invalid_argument(
          "cannot read " + file + ": " +
          (registrations ? observations.error() : registrations.error()).reason);
    }
    // An endpoint in both (it moved between workers, and the release did not reach the
    // file before a crash): the newer record stays.
    auto held = to.load_registrations();
    if (!held) throw std::invalid_argument(held.error().reason);
    std::map<std::string, UnixMillis> newest;
    for (const auto& r : *held) newest[r.endpoint] = r.updated_at;
    for (const auto& r : *registrations) {
      if (auto it = newest.find(r.endpoint); it != newest.end() && it->second >= r.updated_at) {
        continue;
      }
      if (auto ok = to.save_registration(r); !ok) throw std::invalid_argument(ok.error().reason);
    }
    for (const auto& ob : *observations) {
      if (auto ok = to.save_observation(ob); !ok) throw std::invalid_argument(ok.error().reason);
    }
    if (auto ok = to.flush(); !ok) throw std::invalid_argument(ok.error().reason);
    opened->reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
    log_line("event=worker_store_folded" + logfmt_field("file", file) +
             " registrations=" + std::to_string(registrations->size()) +
             logfmt_field("into", worker_database(dir, k % stores.size())));
  }
}

std::string worker_node_name(const std::string& node, std::size_t worker) {
  return worker == 0 ? node : node + "/" + server::LocalNodeHub::name_of(worker);
}

std::vector<server::GroupNodeBus::Sibling> group_siblings(const std::vector<std::string>& names,
                                                          std::size_t self) {
  std::vector<server::GroupNodeBus::Sibling> siblings;
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (k != self) siblings.push_back({names[k], server::LocalNodeHub::name_of(k)});
  }
  return siblings;
}

std::unique_ptr<server::RedisNodeBus> start_node_bus(transport::EventLoop& loop,
                                                     const server::RedisConnection::Address& redis,
                                                     const std::string& node,
                                                     const std::string& worker) {
  auto bus = std::make_unique<server::RedisNodeBus>(loop, redis, node);
  const std::string who = worker.empty() ? std::string{} : logfmt_field("worker", worker);
  bus->set_status_handler([who](const std::string& error) {
    if (error.empty()) {
      log_line("event=node_bus_recovered" + who);
    } else {
      log_line("event=node_bus_failing" + who + logfmt_field("error", error), "error");
    }
  });
  if (auto started = bus->start(); !started) {
    log_line("event=node_bus_failing" + who + logfmt_field("error", started.error().reason),
             "error");
  }
  return bus;
}

namespace {
// Each worker on Redis reads credentials through its own connection; otherwise all share
// worker 0's store.
server::SharedCredentials& credentials_for(const WorkerSetup& setup, server::ServerStore& own,
                                           std::unique_ptr<server::SharedCredentials>& mine) {
  if (setup.redis == nullptr) return setup.credentials;
  mine = std::make_unique<server::SharedCredentials>(own);
  return *mine;
}
}  // namespace

ServerWorker::ServerWorker(std::size_t index, transport::EventLoop& loop, const WorkerSetup& setup,
                           std::unique_ptr<server::ServerStore> own)
    : index_(index),
      loop_(loop),
      quiet_(setup.options.quiet),
      models_(setup.models),
      listeners_(listen_coap(loop, random_, setup.options, credentials_lookup(credentials_source_),
                             keyring_, setup.ticket_key,
                             PortSharing{true, &setup.first, setup.worker_count})),
      own_(std::move(own)),
      redis_(setup.redis != nullptr ? dynamic_cast<server::RedisStore*>(own_.get()) : nullptr),
      store_(*own_, credentials_for(setup, *own_, own_credentials_), setup.directory, index,
             setup.moved) {
  if (setup.redis != nullptr && redis_ == nullptr) {
    throw std::invalid_argument("worker " + std::to_string(index) + ": not a Redis store");
  }
  store_.set_naming({setup.names, redis_ != nullptr});
  log_loop_errors(loop_);
  keyring_.share_holding(setup.context_holders, static_cast<std::uint32_t>(index_));
  server_ = std::make_unique<server::Lwm2mServer>(setup.config, clock_, random_, store_, models_);
  credentials_source_ = server_.get();
  setup.group.join(index, loop_, *server_);
  server_->use_oscore(keyring_);
  listeners_.attach_to(*server_);
  if (redis_ != nullptr) {
    join_redis(setup);
  } else {
    routing_ = std::make_unique<api::NodeRouting>(
        loop_, setup.hub.bus(index), [this](const std::string& ep) { return store_.owner_of(ep); });
    routing_->serve_as_worker();
  }
  api::ApiConfig api = setup.api;
  api.tls = nullptr;
  api_ = std::make_unique<api::HttpApi>(std::move(api), loop_, *server_);
  api_->set_nodes(routing_.get());
  if (setup.waker) api_->set_waker(setup.waker);
  if (setup.sleeper) server_->set_sleeper_handler(setup.sleeper);
  api_->set_extra_metrics([this] {
    return listeners_.session_metrics() + (redis_bus_ ? redis_bus_->metrics_text() : std::string{});
  });
  routing_->set_credentials_sink([this](const std::string& ep) {
    if (auto ok = server_->reload_credentials(ep); !ok) {
      log_line("event=credentials_reload_failed" + logfmt_field("ep", ep) +
                   logfmt_field("detail", ok.error().reason),
               "error");
    }
  });
  const std::string worker = server::LocalNodeHub::name_of(index_);
  server_->set_store_health_handler([worker](const std::string& error) {
    if (error.empty()) {
      log_line("event=store_recovered" + logfmt_field("worker", worker));
    } else {
      log_line(
          "event=store_failing" + logfmt_field("worker", worker) + logfmt_field("error", error),
          "error");
    }
  });
  server_->set_event_handler([this](const server::ServerEvent& e) {
    if (!quiet_ || e.kind == server::ServerEvent::Kind::kRefused) log_event(e);
    api_->publish(e);
  });
  server_->set_event_filter([this](server::ServerEvent::Kind kind, const std::string& endpoint) {
    const char* name = server::event_kind_name(kind);
    return !quiet_ || api_->anyone_wants(name, endpoint) || routing_->wanted_elsewhere(name);
  });
}

void ServerWorker::join_redis(const WorkerSetup& setup) {
  const std::string& name = setup.names.at(index_);
  redis_bus_ = start_node_bus(loop_, *setup.redis, name, server::LocalNodeHub::name_of(index_));
  auto siblings = group_siblings(setup.names, index_);
  std::vector<std::string> group;
  for (const auto& s : siblings) group.push_back(s.node);
  group_bus_ = std::make_unique<server::GroupNodeBus>(*redis_bus_, setup.hub.bus(index_),
                                                      std::move(siblings));
  routing_ = std::make_unique<api::NodeRouting>(
      loop_, *group_bus_, [this](const std::string& ep) { return store_.owner_of(ep); });
  routing_->set_group(std::move(group));
  // As between nodes: a registration another node (or worker) took from this one is let
  // go here, and one this worker took or replaced is let go where it was.
  server_->set_taken_handler(
      [this](const std::string& ep, const std::string& id, const std::string& from) {
        routing_->tell_taken(from, ep, id);
      });
  routing_->set_taken_sink(
      [this](const std::string& ep, const std::string& id) { server_->release_taken(ep, id); });
  redis_->set_replaced_handler(
      [this](const std::string& ep, const std::string& id, const std::string& owner) {
        routing_->tell_taken(owner, ep, id);
      });
}

// Unwinding (worker 0 failed to start) must not wait for a signal.
ServerWorker::~ServerWorker() {
  stop();
  join();
  // The store's last flush must not tell through the routing, which goes first.
  if (redis_ != nullptr) redis_->set_replaced_handler(nullptr);
}

void ServerWorker::restore() {
  if (auto restored = server_->restore(); !restored) {
    throw std::invalid_argument("worker " + std::to_string(index_) +
                                " cannot restore state: " + restored.error().reason);
  }
}

void ServerWorker::start() {
  thread_ = std::thread([this] { run(); });
}

void ServerWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void ServerWorker::run() {
  // What escapes here would end the process (std::terminate) with nothing flushed.
  try {
    while (!stop_requested() && !stop_) server::run_step(loop_, *server_, Duration{200});
  } catch (const std::exception& e) {
    log_line("event=worker_failed" + logfmt_field("worker", server::LocalNodeHub::name_of(index_)) +
                 logfmt_field("detail", e.what()),
             "error");
  }
  try {
    server_->shutdown();
    if (redis_ != nullptr) redis_->set_replaced_handler(nullptr);
  } catch (const std::exception& e) {
    log_line("event=worker_shutdown_failed" +
                 logfmt_field("worker", server::LocalNodeHub::name_of(index_)) +
                 logfmt_field("detail", e.what()),
             "error");
  }
}

}  // namespace tether::app
