#include "common/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/bytes.hpp"

namespace tether {

std::uint32_t Random::next_u32() {
  std::uint8_t b[4];
  fill(b);
  return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
         static_cast<std::uint32_t>(b[2]) << 8 | b[3];
}

double Random::next_unit() {
  return static_cast<double>(next_u32()) / 4294967296.0;
}

void SystemRandom::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (used_ == sizeof(pool_)) {
      std::size_t got = 0;
      while (got < sizeof(pool_)) {
        ssize_t n = getrandom(pool_ + got, sizeof(pool_) - got, 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          throw std::runtime_error("getrandom failed");
        }
        got += static_cast<std::size_t>(n);
      }
      used_ = 0;
    }
    std::size_t take = std::min(out.size() - done, sizeof(pool_) - used_);
    std::memcpy(out.data() + done, pool_ + used_, take);
    // Never hand out the same pool bytes twice.
    std::memset(pool_ + used_, 0, take);
    used_ += take;
    done += take;
  }
}

void SeededRandom::fill(std::span<std::uint8_t> out) {
  for (auto& byte : out) {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    byte = static_cast<std::uint8_t>(z ^ (z >> 31));
  }
}

}  // namespace tether
