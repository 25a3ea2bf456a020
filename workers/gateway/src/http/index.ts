export { corsPolicy } from "./cors";
export { requestContext } from "./request-context";
export { clientIp, ipLimitKey } from "./client-ip";
export { privateResponses } from "./cache-control";
export { canonicalRequest, pathnameOf, refuseOddPaths } from "./canonical-path";
export { objectCall, requestSpan, serviceCall } from "./telemetry";
