import type { RouteHandler } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { ApiError, logError, nowIso } from "@buildly/shared";
import { db } from "../../db/client";
import { organizations } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import type { GatewayEnv } from "../../../types";
import { actorOf, identityEvent, outboxInsert, relaySoon } from "../../../events";
import { rateLimitConfig, withinMaximums } from "../../../limits/policies";
import { dropLeases } from "../../../limits/leases";
import type * as routes from "./organizations.routes";

// A token from a trusted external issuer may name an organization this gateway does not hold.
const notFound = () => new ApiError(404, "The organization named by your token does not exist.");

function limiterOf(env: Env, organizationId: string) {
  return env.RATE_LIMITER.getByName(`org:${organizationId}`);
}

/** The limits in force: the organization's own where it set them, the platform's otherwise. */
async function effectiveLimits(env: Env, organizationId: string) {
  const cfg = rateLimitConfig(env);
  const own = await limiterOf(env, organizationId).overrides();
  const pick = (scope: "user" | "client" | "organization") => {
    const o = own[scope];
    return o ? { limit: o.limit, window_seconds: o.windowSeconds } : { limit: cfg[scope].limit, window_seconds: cfg[scope].window_seconds };
  };
  return { user: pick("user"), client: pick("client"), organization: pick("organization") };
}

export const getCurrent: RouteHandler<typeof routes.getCurrentOrganization, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const org = await db(c.env.DB).select().from(organizations).where(eq(organizations.id, organization_id)).get();
  if (!org) throw notFound();
  return c.json({ ...org, rate_limits: await effectiveLimits(c.env, organization_id) }, 200);
};

export const updateCurrent: RouteHandler<typeof routes.updateCurrentOrganization, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  let undo: (() => Promise<unknown>) | undefined;
  if (input.rate_limits) {
    const cfg = rateLimitConfig(c.env);
    const errors = withinMaximums(cfg, input.rate_limits);
    if (errors.length) throw new ApiError(422, "These limits are above the platform's maximums.", { errors });
    const stub = limiterOf(c.env, organization_id);
    const current = await stub.overrides();
    const next = { ...current };
    for (const [scope, l] of Object.entries(input.rate_limits)) {
      if (l) next[scope] = { limit: l.limit, windowSeconds: l.window_seconds };
    }
    await stub.setOverrides(next);
    // Undone if the row's update (which carries the change's event) does not go through: a
    // change is in force exactly when its event is in the outbox (issue 17).
    undo = () => stub.setOverrides(current);
    // This isolate's leases were granted under the old limits (other isolates' end within a second).
    dropLeases(`org:${organization_id}`);
  }
  const d = db(c.env.DB);
  const actor = actorOf(c);
  const changed = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.settings !== undefined ? { settings: input.settings } : {}),
  };
  // The limits themselves live in the organization's limiter (set above, undone below if the row's
  // update fails); their event goes in with the row's update.
  const events = [
    ...(Object.keys(changed).length
      ? [
          identityEvent(actor, "identity.organization.updated", {
            subject: organization_id,
            organizationid: organization_id,
            data: { id: organization_id, ...changed },
          }),
        ]
      : []),
    ...(input.rate_limits
      ? [
          identityEvent(actor, "identity.organization.rate_limits_changed", {
            subject: organization_id,
            organizationid: organization_id,
            data: { id: organization_id, rate_limits: input.rate_limits },
          }),
        ]
      : []),
  ];
  let org: typeof organizations.$inferSelect | undefined;
  try {
    const [rows] = await d.batch([
      d
        .update(organizations)
        .set({ ...changed, updated_at: nowIso() })
        .where(eq(organizations.id, organization_id))
        .returning(),
      ...events.map((e) => outboxInsert(d, e, { onlyIfChanged: true })),
    ]);
    org = rows[0];
    if (!org) throw notFound();
  } catch (err) {
    if (undo) {
      await undo().catch((e: unknown) => logError(c.get("requestId"), "gateway", e, { during: "undoing a rate limit change", organization_id }));
      dropLeases(`org:${organization_id}`);
    }
    throw err;
  }
  relaySoon(c);
  return c.json({ ...org, rate_limits: await effectiveLimits(c.env, organization_id) }, 200);
};
