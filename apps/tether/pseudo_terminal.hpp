#pragma once
// A pseudo-terminal standing in for a modem's serial port in our simulators (`tether
// lorawan-ns --modem`, `tether scef --ue`): raw mode, its device linked at a path a client
// opens as it would /dev/ttyUSB0. The simulator reads and writes the master side.
#include <string>

#include "common/bytes.hpp"

namespace tether::app {

class PseudoTerminal {
 public:
  // Throws std::invalid_argument when it cannot make the terminal or the link (start-up
  // configuration). A link left at `link` by an earlier run is replaced.
  explicit PseudoTerminal(std::string link);
  ~PseudoTerminal();
  PseudoTerminal(const PseudoTerminal&) = delete;
  PseudoTerminal& operator=(const PseudoTerminal&) = delete;

  int master() const { return master_; }  // non-blocking
  const std::string& link() const { return link_; }
  // Writes what the terminal takes now; the rest waits for the next call (at most 64 KiB:
  // beyond that, with nobody reading, the oldest goes). write({}) just retries.
  void write(ByteView bytes);

 private:
  std::string link_;
  int master_ = -1;
  int slave_ = -1;  // kept open: the master reads no hang-up while no client is there
  Bytes pending_;
};

}  // namespace tether::app
