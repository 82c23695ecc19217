#pragma once
// Transport TS 5.2.9: a Security object instance read as the (D)TLS client credentials for
// its server. Mode 0 PSK, 1 RPK, 2 certificate; NoSec (3) needs none, and EST (4) is not
// supported yet.
#include <cstdint>
#include <string>

#include "client/data_model.hpp"
#include "common/result.hpp"
#include "oscore/security_context.hpp"
#include "tls/credentials.hpp"

namespace tether::client {

// `host` is the server URI's host: the reference identifier when no SNI resource is set.
Result<tls::ClientCredentials> credentials_from_security(const DataModel& data,
                                                         std::uint16_t security_instance,
                                                         const std::string& host);

// Transport TS 5.5.3: the OSCORE context of Security instance `security_instance`, from the
// OSCORE instance its OSCORE Security Mode resource (/0/x/17) links to; none when it links
// nowhere. Fails when the linked instance cannot make a context.
Result<std::optional<oscore::ContextInput>> oscore_from_security(const DataModel& data,
                                                                 std::uint16_t security_instance);

}  // namespace tether::client
