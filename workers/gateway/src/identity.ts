import type { Context } from "hono";
import { PERMISSION_ACTIONS, type IdentityContext } from "@buildly/shared";
import type { GatewayEnv } from "./types";

/**
 * Who a call acts for. Until the identity issue (OAuth2/JWT) lands, every call acts
 * for the demo organization with full permissions; this is the one place to replace.
 */
export function resolveIdentity(c: Context<GatewayEnv>, services: string[]): IdentityContext {
  const permissions = Object.fromEntries(services.map((s) => [s, [...PERMISSION_ACTIONS]]));
  return {
    request_id: c.get("requestId"),
    traceparent: c.get("traceparent"),
    user_id: null,
    organization_id: c.env.DEFAULT_ORGANIZATION_ID,
    roles: [],
    permissions,
    system: false,
  };
}

/** The context for the gateway's own calls (health, OpenAPI aggregation). */
export function systemIdentity(requestId: string, organizationId: string): IdentityContext {
  return {
    request_id: requestId,
    user_id: null,
    organization_id: organizationId,
    roles: [],
    permissions: {},
    system: true,
  };
}
