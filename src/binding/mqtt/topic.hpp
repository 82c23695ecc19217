#pragma once
// Transport TS 8.2 and 8.3: the topics LwM2M uses on an MQTT server,
// `[PREFIX/]lwm2m/{bs|rd}/ENDPOINT`. Client and server publish on the same topic (the
// endpoint's); the server subscribes to every endpoint's with a wildcard.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tether::binding::mqtt {

enum class Interface : std::uint8_t {
  kBootstrap,     // "bs"
  kRegistration,  // "rd": registration, device management and information reporting
};

struct Topic {
  std::string prefix;  // empty: none (the tenant, a server's name; 8.2)
  Interface interface = Interface::kRegistration;
  std::string endpoint;

  friend bool operator==(const Topic&, const Topic&) = default;
};

// A prefix names one or more topic levels: valid UTF-8 without controls, no wildcard ('+',
// '#'), no empty level, and not starting with '$' (MQTT 4.7.2 keeps those for the broker).
Result<Ok> check_prefix(std::string_view prefix);

// An endpoint name (lwm2m::check_endpoint_name) that is also one topic level: no '/', '+'
// or '#'. A name that fails cannot be carried over MQTT; the 4.00 says why.
Result<Ok> check_topic_endpoint(std::string_view endpoint);

// The topic name, for a checked prefix and endpoint.
std::string topic_name(const Topic& topic);

// What a server subscribes to for one interface (8.3): `[PREFIX/]lwm2m/rd/+`. One level
// ('+') rather than the spec's '#': a deeper topic cannot name an endpoint anyway.
std::string server_subscription(std::string_view prefix, Interface interface);

// A topic a message arrived on, for the configured `prefix`: fails for another prefix,
// another namespace, or an endpoint level check_topic_endpoint refuses.
Result<Topic> parse_topic(std::string_view topic, std::string_view prefix);

}  // namespace tether::binding::mqtt
