import type { RouteHandler } from "@hono/zod-openapi";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import * as deliveries from "../../deliveries";
import type * as routes from "./deliveries.routes";

export const list: RouteHandler<typeof routes.listDeliveries, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  return c.json(await deliveries.listDeliveries(c.env.DB, organization_id, c.req.valid("param").id, c.req.valid("query")), 200);
};

export const redeliver: RouteHandler<typeof routes.redeliver, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id, delivery_id } = c.req.valid("param");
  return c.json(await deliveries.redeliver(c.env, organization_id, id, delivery_id), 202);
};
