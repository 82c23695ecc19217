#pragma once
// A Redis Cluster for tests: three redis-server primaries on free ports of 127.0.0.1, each
// serving a third of the slots (CLUSTER ADDSLOTSRANGE and MEET, as redis-cli --cluster
// create would), with their own cluster-bus ports. move_slot() moves one slot and its keys
// to another primary, as a resharding does, so that clients meet MOVED and ASK.
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/local_port.hpp"
#include "support/redis_server.hpp"

namespace tether::testing {

class RedisCluster {
 public:
  static constexpr int kNodes = 3;

  RedisCluster() {
    for (int i = 0; i < kNodes; ++i) {
      buses_.push_back(free_tcp_port());
      nodes_.push_back(std::make_unique<RedisServer>(
          false, std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-config-file",
                                          "nodes.conf", "--cluster-node-timeout", "2000",
                                          "--cluster-port", std::to_string(buses_.back())}));
    }
    for (int i = 0; i < kNodes; ++i) {
      const int first = i * 5462;
      const int last = std::min(16383, first + 5461);
      expect_ok(node(i).command(
          {"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)}));
    }
    for (int i = 1; i < kNodes; ++i) {
      expect_ok(node(0).command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(i).port()),
                                 std::to_string(buses_[static_cast<std::size_t>(i)])}));
    }
    wait_until_ready();
  }

  RedisServer& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
  // Two of the three as seeds: the client finds the third from the slot map.
  std::string url() const {
    return "redis+cluster://127.0.0.1:" + std::to_string(nodes_[0]->port()) +
           ",127.0.0.1:" + std::to_string(nodes_[1]->port());
  }
  // The primary serving `slot`, as set up (or moved since).
  int owner_of(std::uint16_t slot) const {
    return owners_.count(slot) ? owners_.at(slot) : slot / 5462;
  }

  void flush_all() {
    for (auto& n : nodes_) (void)n->command({"FLUSHALL"});
  }

  // Moves `slot` to primary `to`. With `finish` false it stops half-way (the slot is
  // migrating: keys not moved yet are answered where they were, new keys get ASK).
  void move_slot(std::uint16_t slot, int to, bool finish = true) {
    const int from = owner_of(slot);
    const std::string s = std::to_string(slot);
    const std::string from_id = node(from).command({"CLUSTER", "MYID"});
    const std::string to_id = node(to).command({"CLUSTER", "MYID"});
    if (!migrating_) {
      expect_ok(node(to).command({"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}));
      expect_ok(node(from).command({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}));
      migrating_ = true;
    }
    if (!finish) return;
    const std::string keys = node(from).command({"CLUSTER", "GETKEYSINSLOT", s, "1000"});
    std::vector<std::string> migrate = {
        "MIGRATE", "127.0.0.1", std::to_string(node(to).port()), "", "0", "5000", "KEYS"};
    std::size_t start = 0;
    while (start < keys.size()) {
      const auto end = keys.find('\n', start);
      migrate.push_back(keys.substr(start, end - start));
      start = end == std::string::npos ? keys.size() : end + 1;
    }
    if (migrate.size() > 7) expect_ok(node(from).command(migrate));
    for (int i = 0; i < kNodes; ++i) {
      expect_ok(node(i).command({"CLUSTER", "SETSLOT", s, "NODE", to_id}));
    }
    owners_[slot] = to;
    migrating_ = false;
  }

 private:
  static void expect_ok(const std::string& reply) {
    if (reply != "OK" && reply != "NOKEY") throw std::runtime_error("redis cluster: " + reply);
  }
  void wait_until_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      bool ok = true;
      for (auto& n : nodes_) {
        ok = ok && n->command({"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
      }
      if (ok) return;
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("the test's redis cluster did not become ready");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::vector<std::uint16_t> buses_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::map<std::uint16_t, int> owners_;
  bool migrating_ = false;
};

}  // namespace tether::testing
