#pragma once
// A peer program a test starts itself (mosquitto, redis-server): forked with its output in
// a log file, waited for until its TCP port on 127.0.0.1 accepts (bounded, never a guessed
// sleep), and stopped with SIGTERM, then SIGKILL if it lingers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/local_port.hpp"

namespace tether::testing {

class PeerProcess {
 public:
  PeerProcess() = default;
  ~PeerProcess() { stop(); }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  // argv[0] is the program's absolute path.
  void start(const std::vector<std::string>& argv, const std::filesystem::path& log,
             std::uint16_t port) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "a", stdout);
      std::freopen(log.c_str(), "a", stderr);
      // The peer must not hold the test's sockets: a socket it shares stays open after the
      // test closes it, and epoll goes on reporting it.
      ::close_range(3, ~0U, 0);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::_Exit(127);
    }
    // Up to 10 s for the port to open (a loaded machine starts processes slowly).
    for (int i = 0; i < 200; ++i) {
      if (accepts_connections(port)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error(argv[0] + " exited at start; see " + log.string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(argv[0] + " did not open its port within 10 s");
  }

  void stop() { end(SIGTERM); }
  // As a crash would: no chance to save anything.
  void kill() { end(SIGKILL); }

 private:
  void end(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) != pid_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
};

}  // namespace tether::testing
