// The management API of endpoint health (issue 16), with the API key:
//   GET /api/v1/endpoints            every endpoint: checked, or marked
//   GET /api/v1/endpoints/ADDRESS    one
//   PUT /api/v1/endpoints/ADDRESS    {"admin_down": true|false}: the
//                                    operator's mark (EndpointHealth)
// A change answers once it is published: the next query sees it.
#ifndef POPDNS_CONTROL_ANSWERS_ENDPOINT_API_H_
#define POPDNS_CONTROL_ANSWERS_ENDPOINT_API_H_

#include <string>

#include "control/answers/endpoint_health.h"
#include "control/server/management_http.h"

namespace popdns::control {

void RegisterEndpointApi(ManagementHttp* http, EndpointHealth* health);

// The same states as text, for `popdnsctl endpoints`.
std::string EndpointsText(const EndpointHealth& health);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ANSWERS_ENDPOINT_API_H_
