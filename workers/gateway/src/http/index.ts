export { edge } from "./edge";
export { clientIp, ipLimitKey } from "./client-ip";
export { canonicalRequest, pathnameOf } from "./canonical-path";
export { objectCall, requestSpan, serviceCall } from "./telemetry";
