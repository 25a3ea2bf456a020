import type { PermissionAction } from "@buildly/shared";
import type { Principal } from "./identity/tokens";
import type { ServiceEntry } from "./upstream/registry";

export interface GatewayVariables {
  requestId: string;
  traceparent: string | undefined;
  /** The logic service a request was routed to, for the log line. */
  service: string;
  /** Its registry entry, once the route resolved it. */
  entry?: ServiceEntry;
  /** Set by `authenticate` once the bearer token is verified. */
  principal?: Principal;
  permissions?: Record<string, PermissionAction[]>;
  /** Time spent waiting for the logic service, for the log line. */
  upstreamMs?: number;
}

export type GatewayEnv = { Bindings: Env; Variables: GatewayVariables };
