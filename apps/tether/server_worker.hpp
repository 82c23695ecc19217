#pragma once
// `tether server --workers N`: workers 1..N-1, each an event loop on its own thread with its
// own CoAP listeners (SO_REUSEPORT on worker 0's ports), LwM2M server and store. Worker 0
// is the main thread: it also runs the REST API, SSE, MQTT, SMS and the HTTP binding, and
// hands calls about a worker's devices to it over the LocalNodeHub (docs/architecture.md,
// "Workers").
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/http_api.hpp"
#include "api/node_routing.hpp"
#include "common/random.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "oscore/keyring.hpp"
#include "server/clock.hpp"
#include "server/lwm2m_server.hpp"
#include "server/store/redis/redis_node_bus.hpp"
#include "server/store/redis/redis_store.hpp"
#include "server/workers/group_node_bus.hpp"
#include "server/workers/local_node_bus.hpp"
#include "server/workers/worker_group.hpp"
#include "server/workers/worker_store.hpp"
#include "service_runtime.hpp"

namespace tether::app {

// What every worker is made from; worker 0 (server_command) makes it.
struct WorkerSetup {
  const ServiceOptions& options;
  const lwm2m::model::ObjectRegistry& models;  // copied by each worker
  server::ServerConfig config;
  Bytes ticket_key;            // shared, so a session resumes on any worker
  const CoapListeners& first;  // worker 0's listeners: the ports the others join
  server::SharedCredentials& credentials;
  server::WorkerDirectory& directory;
  server::LocalNodeHub& hub;
  server::WorkerGroup& group;
  api::ApiConfig api;  // worker 0's, without HTTPS: the others serve handed-over calls only
  server::WorkerStore::MovedHandler moved;
  oscore::ContextHolders& context_holders;  // which worker acted under each context last
  std::size_t worker_count;
  api::HttpApi::Waker waker;                    // --sms-gateway: wakes through worker 0
  server::Lwm2mServer::SleeperHandler sleeper;  // --sms-auto-wake: likewise
  // --store redis://: each worker is a node on that Redis, named names[k].
  const server::RedisConnection::Address* redis = nullptr;
  std::vector<std::string> names;
};

// On Redis, worker k's node name: the node's own for worker 0 (so a node that ran with one
// worker keeps its registrations), NODE/w<k> for the others.
std::string worker_node_name(const std::string& node, std::size_t worker);
// The workers of this process other than `self`, as a GroupNodeBus reaches them.
std::vector<server::GroupNodeBus::Sibling> group_siblings(const std::vector<std::string>& names,
                                                          std::size_t self);
// A node bus on Redis, subscribed (or trying again later), whose losses and recoveries are
// logged; `worker` names the worker in those lines (empty: the node's only one).
std::unique_ptr<server::RedisNodeBus> start_node_bus(transport::EventLoop& loop,
                                                     const server::RedisConnection::Address& redis,
                                                     const std::string& node,
                                                     const std::string& worker);

// SQLite: worker k keeps its registrations in DIR/tether-w<k>.db (worker 0 in tether.db).
std::string worker_database(const std::string& dir, std::size_t worker);
// A start with fewer workers than the files left by the last run: the registrations and
// observations of each file beyond `stores` go to the store of worker (k mod N), and the
// file is removed once they are durable there. Throws std::invalid_argument on a failure
// (nothing is removed then).
void fold_worker_files(const std::string& dir, const std::vector<server::ServerStore*>& stores);

class ServerWorker {
 public:
  // `own`: this worker's registrations and observations. Throws std::invalid_argument for
  // a listener that cannot be made.
  ServerWorker(std::size_t index, transport::EventLoop& loop, const WorkerSetup& setup,
               std::unique_ptr<server::ServerStore> own);
  ~ServerWorker();
  ServerWorker(const ServerWorker&) = delete;
  ServerWorker& operator=(const ServerWorker&) = delete;

  server::Lwm2mServer& server() { return *server_; }
  server::ServerStore& store() { return store_; }
  CoapListeners& listeners() { return listeners_; }
  // Loads what this worker's store holds (before start()).
  void restore();
  // Serves on a thread of its own until stop_requested() or stop(), then makes its store
  // durable.
  void start();
  void stop() { stop_ = true; }
  void join();

 private:
  void run();
  // On Redis: this worker as a node on the bus (API calls, events, takeovers).
  void join_redis(const WorkerSetup& setup);

  std::size_t index_;
  transport::EventLoop& loop_;
  bool quiet_;
  SystemRandom random_;
  server::SystemClock clock_;
  lwm2m::model::ObjectRegistry models_;
  server::Lwm2mServer* credentials_source_ = nullptr;
  oscore::Keyring keyring_;
  CoapListeners listeners_;
  std::unique_ptr<server::ServerStore> own_;
  // On Redis: own_, and the credentials read through it (each worker its own connection).
  server::RedisStore* redis_ = nullptr;
  std::unique_ptr<server::SharedCredentials> own_credentials_;
  server::WorkerStore store_;
  std::unique_ptr<server::Lwm2mServer> server_;
  std::unique_ptr<server::RedisNodeBus> redis_bus_;
  std::unique_ptr<server::GroupNodeBus> group_bus_;
  std::unique_ptr<api::NodeRouting> routing_;
  std::unique_ptr<api::HttpApi> api_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tether::app
