#pragma once
// A process's resident memory (VmRSS in /proc/PID/status), for the load generators' memory
// per registration; -1 when it cannot be read.
#include <fstream>
#include <string>

namespace tether::app {

inline long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

}  // namespace tether::app
