#include "pseudo_terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tether::app {

PseudoTerminal::PseudoTerminal(std::string link) {
  master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) {
    const std::string why = std::strerror(errno);
    if (master_ >= 0) ::close(master_);
    throw std::invalid_argument("cannot make a pseudo-terminal: " + why);
  }
  const char* name = ::ptsname(master_);
  slave_ = name != nullptr ? ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
  if (slave_ < 0) {
    ::close(master_);
    throw std::invalid_argument("cannot open the pseudo-terminal's other end");
  }
  termios t{};
  if (::tcgetattr(slave_, &t) == 0) {
    ::cfmakeraw(&t);
    ::tcsetattr(slave_, TCSANOW, &t);
  }
  ::unlink(link.c_str());  // a link left by an earlier run
  if (::symlink(name, link.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::close(slave_);
    ::close(master_);
    throw std::invalid_argument("cannot link " + link + ": " + why);
  }
  link_ = std::move(link);
}

PseudoTerminal::~PseudoTerminal() {
  ::close(master_);
  ::close(slave_);
  ::unlink(link_.c_str());
}

}  // namespace tether::app
