#pragma once
// A real redis-server for tests (Debian's `redis-server`, installed by scripts/setup) on a
// free port of 127.0.0.1, in its own folder, never the machine's Redis service. By default
// it keeps nothing on disk; `persistent` turns on the append-only file, so that a restart
// keeps what was written. command() talks to it directly, as an operator's redis-cli would.
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/peer_process.hpp"

namespace tether::testing {

class RedisServer {
 public:
  explicit RedisServer(bool persistent = false, std::vector<std::string> extra = {})
      : port_(free_tcp_port()), persistent_(persistent), extra_(std::move(extra)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("tether-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
    start();
  }
  ~RedisServer() {
    process_.stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void start() {
    std::vector<std::string> argv = {"/usr/bin/redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_.string(),
                                     "--save",
                                     "",
                                     "--appendonly",
                                     persistent_ ? "yes" : "no",
                                     "--appendfsync",
                                     "always"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_.start(argv, dir_ / "redis.log", port_);
    wait_loaded();
  }
  void stop() { process_.stop(); }
  void kill() { process_.kill(); }

  // One command; the reply as text (a status, a string, a number), "(nil)", or the elements
  // of an array joined by '\n'. An error reply is returned as "ERR ..." text.
  std::string command(const std::vector<std::string>& args) const {
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", port_),
                                                             redisFree);
    if (!c || c->err != 0) throw std::runtime_error("cannot reach the test's redis-server");
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (reply == nullptr) throw std::runtime_error("the test's redis-server did not answer");
    std::string out = text(reply);
    freeReplyObject(reply);
    return out;
  }

 private:
  // Redis accepts connections while it reads its append-only file back, and answers every
  // command LOADING meanwhile (slow on a loaded machine): ready is the first other answer
  // (PONG, or NOAUTH with --requirepass). Bounded at 10 s.
  void wait_loaded() const {
    for (int i = 0; i < 500; ++i) {
      std::string answer;
      try {
        answer = command({"PING"});
      } catch (const std::runtime_error&) {
        answer = "LOADING";  // not answering yet
      }
      if (!answer.starts_with("LOADING")) return;
      ::usleep(20'000);
    }
    throw std::runtime_error("the test's redis-server did not finish loading in 10 s");
  }

  static std::string text(const redisReply* r) {
    switch (r->type) {
      case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_ARRAY: {
        std::string out;
        for (std::size_t i = 0; i < r->elements; ++i) {
          if (i > 0) out += '\n';
          out += text(r->element[i]);
        }
        return out;
      }
      default:
        return std::string(r->str, r->len);
    }
  }

  std::uint16_t port_;
  bool persistent_;
  std::vector<std::string> extra_;
  std::filesystem::path dir_;
  PeerProcess process_;
};

}  // namespace tether::testing
