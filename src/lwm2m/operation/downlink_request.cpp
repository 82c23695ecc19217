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
    case Operation::kBootstrapRead:
      return "bootstrap-read";
    case Operation::kBootstrapWrite:
      return "bootstrap-write";
    case Operation::kBootstrapDiscover:
      return "bootstrap-discover";
    case Operation::kBootstrapDelete:
      return "bootstrap-delete";
    case Operation::kBootstrapFinish:
      return "bootstrap-finish";
  }
  return "unknown";
}

bool is_bootstrap_operation(Operation op) {
  return op == Operation::kBootstrapRead || op == Operation::kBootstrapWrite ||
         op == Operation::kBootstrapDiscover || op == Operation::kBootstrapDelete ||
         op == Operation::kBootstrapFinish;
}

}  // namespace tether::lwm2m
