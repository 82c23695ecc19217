#pragma once
// GnuTLS reads the time itself: seconds for certificate validity and tickets, milliseconds
// for DTLS retransmissions. Tests on virtual time point both at their clock (one per
// process; GnuTLS keeps these hooks globally). Production code never calls this.
#include <functional>

#include "common/time.hpp"

namespace tether::tls::testing {

// `now` gives the virtual instant; `unix_at_epoch` is the Unix time (ms) at `epoch`.
void use_virtual_time(std::function<Instant()> now, Instant epoch, std::int64_t unix_at_epoch);
// Back to the real clock (before the virtual one goes away).
void use_real_time();

}  // namespace tether::tls::testing
