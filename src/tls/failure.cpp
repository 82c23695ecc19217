#include "tls/failure.hpp"

namespace tether::tls {

const char* recovery_name(Recovery r) {
  switch (r) {
    case Recovery::kRetry:
      return "retry";
    case Recovery::kFail:
      return "fail";
    case Recovery::kIgnore:
      return "ignore";
  }
  return "?";
}

Recovery recovery_for_alert(std::uint8_t alert) {
  switch (alert) {
    case 30:
    case 41:
    case 60:
    case 110:
      return Recovery::kIgnore;
    case 42:
    case 43:
    case 44:
    case 45:
    case 46:
    case 48:
    case 49:
    case 112:
    case 113:
    case 114:
    case 115:
      return Recovery::kFail;
    default:
      return Recovery::kRetry;
  }
}

std::string Failure::describe() const {
  std::string out = reason;
  if (alert_received) out += " (alert " + std::to_string(*alert_received) + " received)";
  if (alert_sent) out += " (alert " + std::to_string(*alert_sent) + " sent)";
  return out + ", " + recovery_name(recovery);
}

}  // namespace tether::tls
