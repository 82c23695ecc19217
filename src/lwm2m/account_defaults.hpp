#pragma once
// Security (0) and Server (1) instances carry every mandatory resource (Core TS Appendix E.1,
// E.2): strict clients refuse a whole Bootstrap-Write or -Pack when one is missing. Those with
// a sensible default get it, the same defaults Leshan's bootstrap server uses; those without
// one (the Server URI, the Short Server ID, a secure mode's keys) are an error.
#include <cstdint>

#include "common/result.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m {

// Fills the defaults into /0/`iid` or /1/`iid`; other objects are left as they are.
Result<Ok> complete_account_instance(std::uint16_t object, std::uint16_t iid,
                                     InstanceNode& instance);
// complete_account_instance for every Security and Server instance of `tree`.
Result<Ok> complete_account_instances(Tree& tree);

}  // namespace tether::lwm2m
