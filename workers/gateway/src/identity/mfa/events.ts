import type { Context } from "hono";
import { db } from "../db/client";
import { gatewayEvent, outboxInsert, relaySoon, userActor } from "../../events";
import type { GatewayEnv } from "../../types";

/** A user's second factor changed: an event for the organization's audit trail (never a secret, code or key). */
export async function recordFactorChange(
  c: Context<GatewayEnv>,
  user: { id: string; organization_id: string },
  type: "identity.user.second_factor_added" | "identity.user.second_factor_removed" | "identity.user.recovery_codes_regenerated",
  data: Record<string, unknown>,
) {
  const event = gatewayEvent(userActor(c, user.id), type, { subject: user.id, organizationid: user.organization_id, data: { id: user.id, ...data } });
  await outboxInsert(db(c.env.DB), event);
  relaySoon(c);
}
