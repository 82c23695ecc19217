#include "pseudo_terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
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
  // A link left by an earlier run goes; anything else at that path (a device, a file) stays.
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      ::close(slave_);
      ::close(master_);
      throw std::invalid_argument(link + " exists and is not a symbolic link");
    }
    ::unlink(link.c_str());
  }
  if (::symlink(name, link.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::close(slave_);
    ::close(master_);
    throw std::invalid_argument("cannot link " + link + ": " + why);
  }
  link_ = std::move(link);
}

void PseudoTerminal::write(ByteView bytes) {
  constexpr std::size_t kMaxPending = 64 * 1024;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (pending_.size() > kMaxPending) {
    pending_.erase(pending_.begin(), pending_.end() - kMaxPending);
  }
  while (!pending_.empty()) {
    const ssize_t n = ::write(master_, pending_.data(), pending_.size());
    if (n <= 0) return;  // full (EAGAIN): the next call tries again
    pending_.erase(pending_.begin(), pending_.begin() + n);
  }
}

PseudoTerminal::~PseudoTerminal() {
  ::close(master_);
  ::close(slave_);
  // Ours only: the link, unless something else took its place meanwhile.
  struct stat st {};
  if (::lstat(link_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) ::unlink(link_.c_str());
}

}  // namespace tether::app
