#include "coap/code.hpp"

#include <cstdio>

namespace tether::coap {

std::string Code::to_string() const {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%d.%02d", code_class(), detail());
  return buf;
}

std::string method_name(Code code) {
  switch (code.value) {
    case codes::kGet.value:
      return "GET";
    case codes::kPost.value:
      return "POST";
    case codes::kPut.value:
      return "PUT";
    case codes::kDelete.value:
      return "DELETE";
    case codes::kFetch.value:
      return "FETCH";
    case codes::kPatch.value:
      return "PATCH";
    case codes::kIPatch.value:
      return "iPATCH";
    default:
      return {};
  }
}

std::string Code::describe() const {
  if (is_request()) return method_name(*this);
  const char* name = nullptr;
  switch (value) {
    case codes::kEmpty.value:
      name = "Empty";
      break;
    case codes::kCreated.value:
      name = "Created";
      break;
    case codes::kDeleted.value:
      name = "Deleted";
      break;
    case codes::kValid.value:
      name = "Valid";
      break;
    case codes::kChanged.value:
      name = "Changed";
      break;
    case codes::kContent.value:
      name = "Content";
      break;
    case codes::kContinue.value:
      name = "Continue";
      break;
    case codes::kBadRequest.value:
      name = "Bad Request";
      break;
    case codes::kUnauthorized.value:
      name = "Unauthorized";
      break;
    case codes::kBadOption.value:
      name = "Bad Option";
      break;
    case codes::kForbidden.value:
      name = "Forbidden";
      break;
    case codes::kNotFound.value:
      name = "Not Found";
      break;
    case codes::kMethodNotAllowed.value:
      name = "Method Not Allowed";
      break;
    case codes::kNotAcceptable.value:
      name = "Not Acceptable";
      break;
    case codes::kRequestEntityIncomplete.value:
      name = "Request Entity Incomplete";
      break;
    case codes::kConflict.value:
      name = "Conflict";
      break;
    case codes::kPreconditionFailed.value:
      name = "Precondition Failed";
      break;
    case codes::kRequestEntityTooLarge.value:
      name = "Request Entity Too Large";
      break;
    case codes::kUnsupportedContentFormat.value:
      name = "Unsupported Content-Format";
      break;
    case codes::kInternalServerError.value:
      name = "Internal Server Error";
      break;
    case codes::kNotImplemented.value:
      name = "Not Implemented";
      break;
    case codes::kServiceUnavailable.value:
      name = "Service Unavailable";
      break;
    case codes::kGatewayTimeout.value:
      name = "Gateway Timeout";
      break;
    case codes::kProxyingNotSupported.value:
      name = "Proxying Not Supported";
      break;
    case codes::kCsm.value:
      name = "CSM";
      break;
    case codes::kPing.value:
      name = "Ping";
      break;
    case codes::kPong.value:
      name = "Pong";
      break;
    case codes::kRelease.value:
      name = "Release";
      break;
    case codes::kAbort.value:
      name = "Abort";
      break;
    default:
      break;
  }
  return name ? to_string() + " " + name : to_string();
}

}  // namespace tether::coap
