import type { Context } from "hono";
import { ApiError, type IdentityContext } from "@buildly/shared";
import type { GatewayEnv } from "../types";

/** The identity context a logic service receives: built only from a verified token. */
export function identityFor(c: Context<GatewayEnv>): IdentityContext {
  const principal = c.get("principal");
  const permissions = c.get("permissions");
  if (!principal || !permissions) throw new ApiError(401, "This call needs an access token.");
  return {
    request_id: c.get("requestId"),
    traceparent: c.get("traceparent"),
    user_id: principal.subject,
    // A client acting for itself (client_credentials): its events name it as the actor.
    client_id: principal.kind === "client" ? principal.subject : null,
    organization_id: principal.organization_id,
    roles: principal.roles,
    permissions,
    system: false,
  };
}

/** The context for the gateway's own calls (health, OpenAPI aggregation): no organization's data. */
export function systemIdentity(requestId: string): IdentityContext {
  return {
    request_id: requestId,
    user_id: null,
    client_id: null,
    organization_id: "system",
    roles: [],
    permissions: {},
    system: true,
  };
}
