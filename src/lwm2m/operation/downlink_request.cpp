#include "lwm2m/operation/downlink_request.hpp"

namespace tether::lwm2m {

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::kRead:
      return "read";
    case Operation::kDiscover:
      return "discover";
    case Operation::kWrite:
      return "write";
    case Operation::kWriteAttributes:
      return "write-attributes";
    case Operation::kExecute:
      return "execute";
    case Operation::kCreate:
      return "create";
    case Operation::kDelete:
      return "delete";
    case Operation::kObserve:
      return "observe";
    case Operation::kReadComposite:
      return "read-composite";
    case Operation::kWriteComposite:
      return "write-composite";
    case Operation::kObserveComposite:
      return "observe-composite";
    case Operation::kBootstrapFinish:
      return "bootstrap-finish";
  }
  return "unknown";
}

}  // namespace tether::lwm2m
