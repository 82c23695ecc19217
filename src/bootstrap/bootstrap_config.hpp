#pragma once
// What the bootstrap server does for one endpoint (Core TS 5.2, 6.1): which Bootstrap-
// Deletes to send, which instances to write (Security, Server, Access Control, OSCORE or any
// other object), optional Bootstrap-Discover and Bootstrap-Read steps, and the credentials
// the client proves to the bootstrap server itself.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/format/content_format.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"
#include "server/store/server_store.hpp"

namespace tether::bootstrap {

// Seed 001 (clean-up after bootstrap): a Bootstrap-Server Account holding non-persistent
// keys is replaced by one with persistent keys. The new account is written over the old
// one's instance, so the client never holds two (at most one Bootstrap-Server Account), and
// afterwards the client authenticates to us with `credentials`.
struct AccountReplacement {
  lwm2m::InstanceNode security;  // the new /0 instance (Bootstrap-Server resource true)
  // The old account's instance; when absent, a Bootstrap-Discover of "/" finds it (the
  // Security instance that names no Short Server ID).
  std::optional<std::uint16_t> instance_id;
  std::optional<server::Credentials> credentials;
};

struct BootstrapConfig {
  std::string endpoint;
  // Bootstrap-Delete targets, in order ("/" deletes all but the Bootstrap-Server Account and
  // the Device object). The default, like Leshan's, clears the Security and Server objects.
  std::vector<lwm2m::Path> deletes{lwm2m::Path{0}, lwm2m::Path{1}};
  bool discover = false;           // a Bootstrap-Discover of "/" first
  std::vector<lwm2m::Path> reads;  // Bootstrap-Reads: /1 and /2 objects or instances only
  lwm2m::Tree writes;              // each instance goes out as one Bootstrap-Write
  std::optional<lwm2m::format::ContentFormat> format;  // else the client's pct, else TLV
  std::optional<server::Credentials> credentials;      // what the client proves to us
  std::optional<AccountReplacement> replace_account;
  bool allow_pack = true;  // answer Bootstrap-Pack-Request (else 4.05)
};

// Rejects what would leave a client unusable or break the Bootstrap interface's rules:
// Reads outside /1 and /2, more than one Bootstrap-Server Account, a Server instance without
// a Security instance of the same Short Server ID, writes below the instance level.
Result<Ok> validate(const BootstrapConfig& config);

// The formats a Bootstrap-Write or a Bootstrap-Pack may use.
bool is_bootstrap_write_format(lwm2m::format::ContentFormat f);
bool is_bootstrap_pack_format(lwm2m::format::ContentFormat f);

}  // namespace tether::bootstrap
