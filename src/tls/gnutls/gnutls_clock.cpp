#include "tls/gnutls/gnutls_clock.hpp"

#include <gnutls/gnutls.h>

#include <ctime>

// Exported by libgnutls as a private symbol (GNUTLS_PRIVATE_3_4) and used by GnuTLS's own
// tests: without it, DTLS retransmission timers follow the real clock.
extern "C" void _gnutls_global_set_gettime_function(void (*)(struct timespec*));

namespace tether::tls::testing {

namespace {
std::function<Instant()> g_now;  // empty: the real clock
Instant g_epoch{};
std::int64_t g_unix_at_epoch = 0;

std::int64_t unix_ms() {
  return g_unix_at_epoch +
         std::chrono::duration_cast<std::chrono::milliseconds>(g_now() - g_epoch).count();
}
void virtual_gettime(struct timespec* t) {
  if (!g_now) {
    clock_gettime(CLOCK_REALTIME, t);
    return;
  }
  const auto ms = unix_ms();
  t->tv_sec = static_cast<time_t>(ms / 1000);
  t->tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
}
time_t virtual_time(time_t* t) {
  if (!g_now) return time(t);
  const auto s = static_cast<time_t>(unix_ms() / 1000);
  if (t != nullptr) *t = s;
  return s;
}
}  // namespace

void use_virtual_time(std::function<Instant()> now, Instant epoch, std::int64_t unix_at_epoch) {
  g_now = std::move(now);
  g_epoch = epoch;
  g_unix_at_epoch = unix_at_epoch;
  gnutls_global_set_time_function(virtual_time);
  _gnutls_global_set_gettime_function(virtual_gettime);
}

}  // namespace tether::tls::testing

namespace tether::tls::testing {

void use_real_time() {
  g_now = nullptr;
}

}  // namespace tether::tls::testing
