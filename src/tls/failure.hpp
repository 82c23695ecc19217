#pragma once
// Why a (D)TLS session ended, and whether trying again may help (Transport TS 5.2.10,
// Table 5.2.10-1): "Retry" failures may be transient, "Fail" ones need new credentials.
#include <cstdint>
#include <optional>
#include <string>

namespace tether::tls {

enum class Recovery : std::uint8_t { kRetry, kFail, kIgnore };
const char* recovery_name(Recovery r);

// Table 5.2.10-1 for an alert description value; values the table does not name: Retry.
Recovery recovery_for_alert(std::uint8_t alert);

struct Failure {
  Recovery recovery = Recovery::kRetry;
  std::optional<std::uint8_t> alert_received;  // the peer's fatal alert
  std::optional<std::uint8_t> alert_sent;      // ours
  std::string reason;
  std::string describe() const;
};

// Alert description values used by name.
namespace alert {
inline constexpr std::uint8_t kCloseNotify = 0;
inline constexpr std::uint8_t kHandshakeFailure = 40;
inline constexpr std::uint8_t kBadCertificate = 42;
inline constexpr std::uint8_t kCertificateRevoked = 44;
inline constexpr std::uint8_t kCertificateExpired = 45;
inline constexpr std::uint8_t kCertificateUnknown = 46;
inline constexpr std::uint8_t kUnknownCa = 48;
inline constexpr std::uint8_t kAccessDenied = 49;
inline constexpr std::uint8_t kInsufficientSecurity = 71;
inline constexpr std::uint8_t kUnknownPskIdentity = 115;
}  // namespace alert

}  // namespace tether::tls
