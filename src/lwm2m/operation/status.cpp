#include "lwm2m/operation/status.hpp"

namespace tether::lwm2m {

Status status_of(const Error& error, Status fallback) {
  const std::string& r = error.reason;
  if (r.size() < 4 || r[1] != '.' || r[0] < '2' || r[0] > '5' || r[2] < '0' || r[2] > '9' ||
      r[3] < '0' || r[3] > '9') {
    return fallback;
  }
  return Status(r[0] - '0', (r[2] - '0') * 10 + (r[3] - '0'));
}

Error reject(Status code, const std::string& reason) {
  return fail(code.describe() + ": " + reason);
}

}  // namespace tether::lwm2m
