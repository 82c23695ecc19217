#pragma once
// Transport TS 5.2.9: a Security object instance read as the (D)TLS client credentials for
// its server. Mode 0 PSK, 1 RPK, 2 certificate; NoSec (3) needs none, and EST (4) is not
// supported yet.
#include <cstdint>
#include <string>

#include "binding/mqtt/cose_encrypt0.hpp"
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

// Transport TS 8.8: the COSE key of Security instance `security_instance`, from the COSE
// instance (object 23) its LwM2M COSE Security resource (/0/x/27) links to; none when it
// links nowhere. The KID resource is a string (its bytes are the kid), the Key resource the
// key in hex. Fails for a link to nothing usable or a key we cannot use (algorithm 10 and
// 16 bytes only).
Result<std::optional<binding::mqtt::CoseKey>> cose_from_security(const DataModel& data,
                                                                 std::uint16_t security_instance);

// Transport TS 8.8: how to connect to the MQTT server, from the MQTT Server instance (object
// 24) that Security instance `security_instance` links at /0/x/26; each field only when the
// instance sets it. None when the link goes nowhere.
struct MqttServerSettings {
  std::optional<std::string> client_id;  // /24/x/6
  std::optional<bool> clean_session;     // /24/x/3
  std::optional<int> keep_alive_s;       // /24/x/5
  std::optional<std::string> username;   // /24/x/7
  std::optional<std::string> password;   // /24/x/8
  // The Will, when /24/x/1 names its topic: message /24/x/2, QoS /24/x/4, retain /24/x/0.
  struct Will {
    std::string topic;
    std::string message;
    int qos = 0;
    bool retain = false;
  };
  std::optional<Will> will;
};
Result<std::optional<MqttServerSettings>> mqtt_server_from_security(
    const DataModel& data, std::uint16_t security_instance);

}  // namespace tether::client
