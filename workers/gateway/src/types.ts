import type { PermissionAction, Telemetry } from "@buildly/shared";
import type { Principal } from "./identity/principal";
import type { ServiceEntry } from "./upstream/registry";

/** One call the gateway made to a logic service while answering a request. */
export interface ServiceCallTiming {
  service: string;
  /** The RPC method: handle, getMany, findBy, search... */
  method: string;
  ms: number;
}

export interface GatewayVariables {
  requestId: string;
  /** The gateway's own span as a `traceparent`, sent on to every hop. */
  traceparent: string | undefined;
  /** The request's trace and metrics (http/edge.ts); records nothing when export is off. */
  telemetry: Telemetry;
  /** The logic service a request was routed to, for the log line. */
  service: string;
  /** Its registry entry, once the route resolved it. */
  entry?: ServiceEntry;
  /** Set by `authenticate` once the bearer token is verified. */
  principal?: Principal;
  permissions?: Record<string, PermissionAction[]>;
  /** Time spent waiting for the logic service, for the log line. */
  upstreamMs?: number;
  /** Every call to a logic service this request made, for the Server-Timing header. */
  serviceCalls?: ServiceCallTiming[];
}

export type GatewayEnv = { Bindings: Env; Variables: GatewayVariables };
