#pragma once
// Access Control (Core TS 7.3.x and Appendix E.1, object 2): which rights a server holds
// over an object instance. Pure functions over the ACL object's values.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "lwm2m/tree.hpp"

namespace tether::client::access {

enum Right : std::uint8_t { kRead = 1, kWrite = 2, kExecute = 4, kDelete = 8, kCreate = 16 };
inline constexpr std::uint8_t kAll = kRead | kWrite | kExecute | kDelete;

// ACL object resources.
inline constexpr std::uint16_t kObjectId = 0, kInstanceId = 1, kAcl = 2, kOwner = 3;

// The ACL instance that governs /oid/iid (iid 65535: Create on the object).
std::optional<std::uint16_t> find_acl(const lwm2m::ObjectNode& acl, std::uint16_t oid,
                                      std::uint16_t iid);

// The rights of server `ssid` over /oid/iid. With an ACL instance: its entry for the server,
// else its default entry (instance 0), else full rights for the instance's owner. Without
// one: full rights when the client has a single server account (no ACL is needed then),
// none otherwise. Create rights come only from the object's ACL instance (iid 65535), or
// from being the only server.
std::uint8_t rights(const lwm2m::ObjectNode& acl, std::uint16_t ssid, std::uint16_t oid,
                    std::uint16_t iid, std::size_t server_count);

}  // namespace tether::client::access
