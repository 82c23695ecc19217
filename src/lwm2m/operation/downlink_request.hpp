#pragma once
// Server-initiated operations as values (Core TS 6.3 and 6.4: Device Management & Service
// Enablement, Information Reporting; the Bootstrap interface's server-side operations). Cancelling
// an observation is not a request of its own here: the exchange layer that holds the token sends
// it. The server and its API build a DownlinkRequest; a binding mapping turns it into CoAP
// (Transport TS 6.4.4/6.4.5), HTTP or MQTT, and the answer back into a DownlinkResponse.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "lwm2m/format/content_format.hpp"
#include "lwm2m/format/link_format.hpp"
#include "lwm2m/operation/status.hpp"
#include "lwm2m/path.hpp"
#include "lwm2m/tree.hpp"

namespace tether::lwm2m {

enum class Operation : std::uint8_t {
  kRead,
  kDiscover,
  kWrite,  // Replace, or Partial Update with `partial`
  kWriteAttributes,
  kExecute,
  kCreate,
  kDelete,
  kObserve,
  kReadComposite,
  kWriteComposite,
  kObserveComposite,
  // The Bootstrap interface (Core TS 6.1.7): Bootstrap-Read (/1 and /2 only), -Write
  // (regardless of existence and rights), -Discover ("/" allowed), -Delete ("/" allowed).
  kBootstrapRead,
  kBootstrapWrite,
  kBootstrapDiscover,
  kBootstrapDelete,
  kBootstrapFinish,
};
bool is_bootstrap_operation(Operation op);
const char* operation_name(Operation op);

struct DownlinkRequest {
  Operation op = Operation::kRead;
  Path path;                // single-target operations
  std::vector<Path> paths;  // Read-/Observe-Composite
  // Reads and observations: the Accept format (empty: the client picks). Writes and
  // Create: the body's format (empty: the server's default for this client).
  std::optional<format::ContentFormat> format;
  Tree content;                         // Write and Create
  std::vector<Record> records;          // Write-Composite
  bool partial = false;                 // Write: Partial Update instead of Replace
  std::string arguments;                // Execute (Core TS 5.4.5 argument list)
  std::optional<std::uint32_t> depth;   // Discover
  std::vector<std::string> attributes;  // Write-Attributes and Observe: "pmin=10", "gt"
};

struct DownlinkResponse {
  Status code;
  std::optional<format::ContentFormat> format;
  Tree content;                 // Read and single notifications
  std::vector<Record> records;  // Read-Composite, composite notifications, time series
  std::vector<format::link_format::DiscoverEntry> links;                   // Discover
  std::optional<format::link_format::BootstrapDiscovery> bootstrap_links;  // Bootstrap-Discover
  std::optional<Path> created;           // Create: where the new instance lives
  std::optional<std::uint32_t> observe;  // a notification's sequence number
  Bytes payload;                         // as received
  // Set when the payload could not be decoded (the code is still the client's).
  std::string decode_error;
};

}  // namespace tether::lwm2m
