#pragma once
// A real Mosquitto broker for tests (Debian's `mosquitto`, installed by scripts/setup): its
// own config in a temporary folder, a free port on 127.0.0.1, started and stopped by the
// test.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/peer_process.hpp"

namespace tether::testing {

class MosquittoBroker {
 public:
  // `extra` goes into the config after the listener (ACLs, TLS files, ...).
  explicit MosquittoBroker(std::string extra = "allow_anonymous true\n")
      : port_(free_tcp_port()), extra_(std::move(extra)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("tether-mosquitto-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
    start();
  }
  ~MosquittoBroker() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  std::uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }

  void start() {
    const auto conf = dir_ / "mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n" << extra_;
    process_.start({"/usr/sbin/mosquitto", "-c", conf.string()}, dir_ / "mosquitto.log", port_);
  }

  void stop() { process_.stop(); }

 private:
  std::uint16_t port_;
  std::string extra_;
  std::filesystem::path dir_;
  PeerProcess process_;
};

}  // namespace tether::testing
