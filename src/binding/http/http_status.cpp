#include "binding/http/http_status.hpp"

namespace tether::binding::http_binding {

namespace status = lwm2m::status;

int http_status_of(lwm2m::Status s, bool has_body) {
  if (s == status::kCreated) return 201;
  if (s.is_success()) return has_body || s == status::kContent ? 200 : 204;
  if (s == status::kRequestEntityIncomplete) return 400;
  if (s.code_class() == 4 || s.code_class() == 5) return s.code_class() * 100 + s.detail();
  return 500;
}

lwm2m::Status status_of_http(int http_status, lwm2m::Status success) {
  if (http_status == 200 || http_status == 204) return success;
  if (http_status == 201) return status::kCreated;
  const int cls = http_status / 100;
  const int detail = http_status % 100;
  if ((cls == 4 || cls == 5) && detail < 32) {
    const lwm2m::Status s(cls, detail);
    // Only the codes the Transport TS names.
    for (const auto known :
         {status::kBadRequest, status::kUnauthorized, status::kForbidden, status::kNotFound,
          status::kMethodNotAllowed, status::kNotAcceptable, status::kConflict,
          status::kPreconditionFailed, status::kRequestEntityTooLarge,
          status::kUnsupportedContentFormat, status::kInternalServerError, status::kNotImplemented,
          status::kServiceUnavailable, status::kGatewayTimeout}) {
      if (s == known) return s;
    }
    return cls == 4 ? status::kBadRequest : status::kInternalServerError;
  }
  return status::kInternalServerError;
}

}  // namespace tether::binding::http_binding
