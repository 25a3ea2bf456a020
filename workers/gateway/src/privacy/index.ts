import type { OpenAPIHono } from "@hono/zod-openapi";
import { lazyRoutes } from "@buildly/shared/service";
import { registerLocalModels } from "../mesh";
import type { GatewayEnv } from "../types";

export { PrivacyRequest } from "./request-object";

/*
 * Privacy (issue 23, docs/privacy.md): subject requests over the data mesh. The services declare
 * their personal data in their catalogs and erase through their own contracts (findBySubject,
 * eraseBySubject); this room resolves the person, drives the run from a Durable Object's alarm
 * and redacts what the gateway holds about them (join records, events, audit payloads).
 */

// The consent records in the data mesh, built by the first mesh call that needs them.
registerLocalModels("privacy", () => import("./consents").then((m) => m.PRIVACY_MODELS));

/** Each group is built on its first request (lazyRoutes): a new route goes in its group's list. */
export function registerPrivacy(app: OpenAPIHono<GatewayEnv>) {
  lazyRoutes(
    app,
    [
      ["post", "/v1/privacy/holds"],
      ["get", "/v1/privacy/holds"],
      ["get", "/v1/privacy/holds/{id}"],
      ["post", "/v1/privacy/holds/{id}/release"],
    ],
    () => import("./holds").then((m) => m.registerLegalHolds),
  );
  lazyRoutes(
    app,
    [
      ["post", "/v1/privacy/consents"],
      ["get", "/v1/privacy/consents"],
      ["get", "/v1/privacy/consents/history"],
    ],
    () => import("./consents").then((m) => m.registerConsents),
  );
  lazyRoutes(
    app,
    [
      ["get", "/v1/privacy/retention"],
      ["put", "/v1/privacy/retention"],
    ],
    () => import("./retention").then((m) => m.registerRetention),
  );
  lazyRoutes(
    app,
    [
      ["post", "/v1/privacy/requests"],
      ["get", "/v1/privacy/requests/{id}"],
      ["delete", "/v1/privacy/requests/{id}/archive"],
      ["get", "/v1/privacy/requests/{id}/archive"],
    ],
    () => import("./requests").then((m) => m.registerPrivacyRequests),
  );
}
