import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../../types";
import * as handlers from "./invitations.handlers";
import * as routes from "./invitations.routes";

export function registerInvitations(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(routes.createInvitation, handlers.create).openapi(routes.listInvitations, handlers.list);
}
