import type { RouteHandler } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { ApiError, nowIso } from "@buildly/shared";
import { db } from "../../db/client";
import { organizations } from "../../db/schema";
import { currentPrincipal } from "../../middleware/authenticate";
import type { GatewayEnv } from "../../types";
import type * as routes from "./organizations.routes";

// A token from a trusted external issuer may name an organization this gateway does not hold.
const notFound = () => new ApiError(404, "The organization named by your token does not exist.");

export const getCurrent: RouteHandler<typeof routes.getCurrentOrganization, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const org = await db(c.env.DB).select().from(organizations).where(eq(organizations.id, organization_id)).get();
  if (!org) throw notFound();
  return c.json(org, 200);
};

export const updateCurrent: RouteHandler<typeof routes.updateCurrentOrganization, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  const org = await db(c.env.DB)
    .update(organizations)
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.settings !== undefined ? { settings: input.settings } : {}),
      updated_at: nowIso(),
    })
    .where(eq(organizations.id, organization_id))
    .returning()
    .get();
  if (!org) throw notFound();
  return c.json(org, 200);
};
