import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServiceEnv } from "@buildly/shared";
import * as handlers from "./feeds.handlers";
import * as routes from "./feeds.routes";

export { feedForTokenHash } from "./feeds.handlers";

export function registerFeeds(app: OpenAPIHono<ServiceEnv<Env>>) {
  return app
    .openapi(routes.getCalendarFeed, handlers.get)
    .openapi(routes.rotateCalendarFeedUrl, handlers.rotate)
    .openapi(routes.revokeCalendarFeedUrl, handlers.revoke);
}
