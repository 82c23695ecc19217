#include "server/server_event.hpp"

namespace tether::server {

const char* event_kind_name(ServerEvent::Kind kind) {
  switch (kind) {
    case ServerEvent::Kind::kRegistered:
      return "registered";
    case ServerEvent::Kind::kUpdated:
      return "updated";
    case ServerEvent::Kind::kDeregistered:
      return "deregistered";
    case ServerEvent::Kind::kExpired:
      return "expired";
    case ServerEvent::Kind::kAwake:
      return "awake";
    case ServerEvent::Kind::kSleeping:
      return "sleeping";
    case ServerEvent::Kind::kNotification:
      return "notification";
    case ServerEvent::Kind::kObservationEnded:
      return "observation-ended";
    case ServerEvent::Kind::kSend:
      return "send";
    case ServerEvent::Kind::kResponse:
      return "response";
    case ServerEvent::Kind::kBootstrap:
      return "bootstrap";
    case ServerEvent::Kind::kRefused:
      return "refused";
  }
  return "unknown";
}

}  // namespace tether::server
