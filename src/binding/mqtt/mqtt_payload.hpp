#pragma once
// Transport TS 8.3-8.4 and 8.7: every LwM2M message over MQTT is one CBOR map whose keys are
// the small integers of table 8.7. This is that map as a value, one optional field per key,
// and its strict codec; what an operation code means depends on the topic's interface (the
// same code 6 is Bootstrap-Pack-Request on "bs" and Register on "rd"), which the mappings
// above this decide.
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tether::binding::mqtt {

// Table 8.7. The table gives no key to the Write-Attributes parameter "lt" nor to the
// Registration parameters "pid" and "Q" (queue mode) although the interfaces use them: we
// send them under the first keys after the table's (extensions, which the CDDL's
// `$$extensions` allows).
namespace key {
inline constexpr std::uint64_t kOperation = 1;
inline constexpr std::uint64_t kToken = 2;
inline constexpr std::uint64_t kEndpoint = 3;
inline constexpr std::uint64_t kPreferredContentFormat = 4;
inline constexpr std::uint64_t kUri = 5;
inline constexpr std::uint64_t kPaths = 6;
inline constexpr std::uint64_t kPayload = 7;
inline constexpr std::uint64_t kLifetime = 8;
inline constexpr std::uint64_t kVersion = 9;
inline constexpr std::uint64_t kBinding = 10;
inline constexpr std::uint64_t kSms = 11;
inline constexpr std::uint64_t kPmin = 12;
inline constexpr std::uint64_t kPmax = 13;
inline constexpr std::uint64_t kGt = 14;
inline constexpr std::uint64_t kSt = 15;
inline constexpr std::uint64_t kEpmin = 16;
inline constexpr std::uint64_t kEpmax = 17;
inline constexpr std::uint64_t kResult = 18;
inline constexpr std::uint64_t kContentType = 19;
inline constexpr std::uint64_t kEdge = 20;
inline constexpr std::uint64_t kHqmax = 21;
inline constexpr std::uint64_t kDepth = 22;
inline constexpr std::uint64_t kLt = 23;         // ours: no key in table 8.7
inline constexpr std::uint64_t kProfileId = 24;  // ours: no key in table 8.7
inline constexpr std::uint64_t kQueueMode = 25;  // ours: no key in table 8.7 (0 / 1)
}  // namespace key

// Sections 8.3.1-8.3.4: operation codes. Bootstrap codes live on "bs" topics, the others on
// "rd" topics; 6 is on both.
namespace opcode {
inline constexpr std::uint64_t kBootstrapRequest = 0;
inline constexpr std::uint64_t kBootstrapWrite = 1;
inline constexpr std::uint64_t kBootstrapRead = 2;
inline constexpr std::uint64_t kBootstrapDelete = 3;
inline constexpr std::uint64_t kBootstrapDiscover = 4;
inline constexpr std::uint64_t kBootstrapFinish = 5;
inline constexpr std::uint64_t kBootstrapPackRequest = 6;
inline constexpr std::uint64_t kRegister = 6;
inline constexpr std::uint64_t kUpdate = 7;
inline constexpr std::uint64_t kDeregister = 8;
inline constexpr std::uint64_t kRead = 9;
inline constexpr std::uint64_t kReadComposite = 10;
inline constexpr std::uint64_t kDiscover = 11;
inline constexpr std::uint64_t kWriteReplace = 12;
inline constexpr std::uint64_t kWritePartialUpdate = 13;
inline constexpr std::uint64_t kWriteAttributes = 14;
inline constexpr std::uint64_t kWriteComposite = 15;
inline constexpr std::uint64_t kExecute = 16;
inline constexpr std::uint64_t kCreate = 17;
inline constexpr std::uint64_t kDelete = 18;
inline constexpr std::uint64_t kObserve = 20;
inline constexpr std::uint64_t kObserveComposite = 21;
inline constexpr std::uint64_t kCancelObserve = 22;
inline constexpr std::uint64_t kNotify = 23;
inline constexpr std::uint64_t kSend = 24;
}  // namespace opcode

struct Payload {
  std::optional<std::uint64_t> operation;  // a request (or Notify) has one...
  std::optional<std::uint64_t> result;     // ...a response (8.4) has this instead
  std::optional<std::uint64_t> token;      // every message
  std::optional<std::string> endpoint;
  std::optional<std::uint64_t> preferred_content_format;
  std::optional<std::string> uri;
  std::optional<Bytes> paths;  // SenML-ETCH CBOR (Read-/Observe-Composite)
  std::optional<Bytes> payload;
  std::optional<std::uint64_t> lifetime;
  std::optional<std::string> version;
  std::optional<std::string> binding;
  std::optional<std::string> sms;
  std::optional<std::string> profile_id;
  std::optional<bool> queue_mode;  // 0 / 1 on the wire
  std::optional<std::uint64_t> pmin;
  std::optional<std::uint64_t> pmax;
  std::optional<double> gt;
  std::optional<double> lt;
  std::optional<double> st;
  std::optional<std::uint64_t> epmin;
  std::optional<std::uint64_t> epmax;
  std::optional<bool> edge;  // 0 / 1 on the wire
  std::optional<std::uint64_t> hqmax;
  std::optional<std::uint64_t> depth;  // 0..3
  std::optional<std::uint64_t> content_type;

  friend bool operator==(const Payload&, const Payload&) = default;
};

// The map in ascending key order, each integer in its shortest form (deterministic, RFC 8949
// 4.2.1), floats in the shortest precision that holds them exactly.
Bytes encode(const Payload& p);

// Strict: one definite- or indefinite-length map and nothing after it; integer keys only,
// each at most once; each known key with its type (a float parameter also takes an
// integer); text as valid UTF-8; edge 0 or 1, depth 0..3; unknown keys (extensions) are
// skipped. Presence rules per operation are the mappings' business; this says only whether
// the bytes are a well-formed map of table 8.7.
Result<Payload> decode(ByteView bytes);

}  // namespace tether::binding::mqtt
