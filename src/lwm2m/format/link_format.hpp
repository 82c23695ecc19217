#pragma once
// application/link-format (40, RFC 6690) and the two LwM2M uses of it: the Register/Update
// payload (Transport TS 6.4.1, Core TS 6.2) and Discover answers (Core TS 5.4.2).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lwm2m/attributes.hpp"
#include "lwm2m/path.hpp"

namespace tether::lwm2m::format::link_format {

struct Param {
  std::string name;
  std::optional<std::string> value;  // unquoted; nullopt for a bare name
  bool quoted = false;               // written as "value"
  friend bool operator==(const Param&, const Param&) = default;
};

struct Link {
  std::string target;  // the URI between < and >
  std::vector<Param> params;
  const Param* param(std::string_view name) const;
  friend bool operator==(const Link&, const Link&) = default;
};

// Strict RFC 6690 parsing: targets in <>, ';'-separated parameters, quoted strings with
// backslash escapes, ','-separated links; at most kMaxLinks links.
inline constexpr std::size_t kMaxLinks = 65536;
Result<std::vector<Link>> parse(std::string_view text);
std::string serialize(std::span<const Link> links);

// What a client registers: an optional alternate path (the link with rt="oma.lwm2m"), the
// content formats it accepts (ct= on that link) and its objects and instances.
struct RegisteredObject {
  std::uint16_t id = 0;
  std::string version;                   // ver=, empty when not given (1.0)
  std::vector<std::uint16_t> instances;  // sorted
  friend bool operator==(const RegisteredObject&, const RegisteredObject&) = default;
};
struct RegistrationPayload {
  std::string alternate_path = "/";
  bool alternate_path_link = false;  // the </...>;rt="oma.lwm2m" link was present
  std::vector<std::uint16_t> content_formats;
  std::vector<RegisteredObject> objects;  // sorted by id
  friend bool operator==(const RegistrationPayload&, const RegistrationPayload&) = default;
};
Result<RegistrationPayload> parse_registration(std::string_view text);
std::string serialize_registration(const RegistrationPayload& payload);

// One Discover entry: a node, its object version (objects only), the number of resource
// instances (dim=, multiple resources only) and the attributes attached to it.
struct DiscoverEntry {
  Path path;
  std::string version;
  std::optional<std::uint32_t> dim;
  Attributes attributes;
  friend bool operator==(const DiscoverEntry&, const DiscoverEntry&) = default;
};
Result<std::vector<DiscoverEntry>> parse_discover(std::string_view text);

// A Bootstrap-Discover answer (Core TS 5.2.7.3): an optional root link </>;lwm2m=1.2, then the
// objects and instances, Security and Server instances with their ssid= and the Security instances
// with their uri=.
struct BootstrapLink {
  Path path;
  std::optional<std::uint16_t> ssid;
  std::string uri;
  friend bool operator==(const BootstrapLink&, const BootstrapLink&) = default;
};
struct BootstrapDiscovery {
  std::string version;  // the root link's lwm2m=, empty when absent (a 1.0 client)
  std::vector<BootstrapLink> links;
  friend bool operator==(const BootstrapDiscovery&, const BootstrapDiscovery&) = default;
};
Result<BootstrapDiscovery> parse_bootstrap_discover(std::string_view text);
std::string serialize_bootstrap_discover(const BootstrapDiscovery& discovery);
std::string serialize_discover(std::span<const DiscoverEntry> entries);

}  // namespace tether::lwm2m::format::link_format
