#pragma once
// Transport TS 7.3: the HTTP status for each LwM2M code, and back. LwM2M codes keep their
// numbers in the 4xx and 5xx classes (4.04 is 404); the success codes become 200, 201 and
// 204, so reading one back needs to know which operation it answers.
#include "lwm2m/operation/status.hpp"

namespace tether::binding::http_binding {

// 2.01 -> 201; 2.05 -> 200; 2.02 and 2.04 -> 204 without a body, 200 with one; 4.xx and
// 5.xx -> class * 100 + detail (4.08, which HTTP has no use for, -> 400).
int http_status_of(lwm2m::Status status, bool has_body);

// What an HTTP status means as the answer to an operation whose success code is `success`
// (2.05 for Read, 2.04 for Write, ...): 200 and 204 are that success, 201 is 2.01, a 4xx or
// 5xx with an LwM2M counterpart is it, any other status is 5.00.
lwm2m::Status status_of_http(int http_status, lwm2m::Status success);

}  // namespace tether::binding::http_binding
