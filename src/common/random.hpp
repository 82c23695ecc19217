#pragma once
// Randomness is injected so tests are repeatable; production draws from the OS CSPRNG
// because tokens must be unpredictable to off-path attackers (RFC 7252 5.3.1).
#include <cstdint>
#include <memory>
#include <span>

namespace tether {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;

  std::uint32_t next_u32();
  // Uniform in [0, 1).
  double next_unit();
};

// Reads getrandom(2) in batches.
class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint8_t pool_[256]{};
  std::size_t used_ = sizeof(pool_);
};

// Deterministic (splitmix64) for tests and simulations.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

}  // namespace tether
