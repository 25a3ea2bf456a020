import type { OpenAPIHono } from "@hono/zod-openapi";
import { OPENAPI_VERSION, ProblemSchema, logError } from "@buildly/shared";
import { serviceRegistry } from "../upstream/registry";
import type { GatewayEnv } from "../types";
import { issuerOf } from "../identity/config";
import { SCOPES } from "../identity/scopes";
import { fetchServiceDoc, mergeServiceDoc } from "./aggregate";
import { addGatewayAnswers } from "./gateway-answers";

/** client_credentials has no refresh token and no OpenID identity: read and write only. */
const CLIENT_SCOPES = { read: SCOPES.read, write: SCOPES.write };

/** Per-isolate cache: services' documents change only when they are deployed. */
const CACHE_MS = 30_000;
const cache = new Map<string, { at: number; doc: Record<string, unknown> }>();

export function registerOpenApi(app: OpenAPIHono<GatewayEnv>) {
  // Services' identical Problem schemas fold into this one when documents are merged.
  app.openAPIRegistry.register("Problem", ProblemSchema);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from the gateway's token endpoint.",
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This document: the gateway's endpoints and every logic service's under /v1/<service>",
    tags: ["Platform"],
    security: [],
    responses: { 200: { description: "An OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } } },
  });

  app.get("/openapi.json", async (c) => {
    // The configured issuer, not the request's Host: this document names the token URL and is cached.
    const { issuer: origin, localIssuer } = issuerOf(c.env, c.req.url);
    c.header("cache-control", localIssuer ? "no-store" : "public, max-age=30");
    const hit = cache.get(origin);
    if (hit && Date.now() - hit.at < CACHE_MS) return c.json(hit.doc);
    const doc = app.getOpenAPI31Document({
      openapi: OPENAPI_VERSION,
      info: {
        title: "Buildly Edge API",
        version: "1.0.0",
        description:
          "One document for the whole platform: the gateway's own endpoints and every logic service under /v1/<service>. " +
          "Errors are application/problem+json (RFC 9457).",
      },
      servers: [{ url: origin }],
      security: [{ bearerAuth: [] }, { oauth2: [] }],
      // biome-ignore lint/suspicious/noExplicitAny: the document is edited as untyped JSON below
    }) as unknown as Record<string, any>;
    // OAuth2 flows, so OpenAPI tooling (and the docs page's Authorize button) can get tokens.
    doc.components.securitySchemes.oauth2 = {
      type: "oauth2",
      description:
        "Tokens from the gateway's token endpoint (RFC 6749). Scopes narrow what the roles allow: `read` is needed for GET and HEAD, " +
        "`write` for POST, PUT, PATCH and DELETE, `offline_access` for a refresh token. Asking for none grants every scope of the grant.",
      flows: {
        password: { tokenUrl: `${origin}/v1/auth/token`, refreshUrl: `${origin}/v1/auth/token`, scopes: { ...SCOPES } },
        clientCredentials: { tokenUrl: `${origin}/v1/auth/token`, scopes: CLIENT_SCOPES },
      },
    };
    doc.tags = [
      { name: "Platform", description: "The gateway itself" },
      { name: "Data mesh", description: "Across services: the model catalog, search, and checked references (guide: docs/data-mesh.md)" },
    ];
    const missing: string[] = [];
    // Paths the gateway answers itself, even under a service's prefix (a calendar's secret feed URL).
    const own = new Set(Object.keys(doc.paths ?? {}));
    for (const entry of serviceRegistry(c.env)) {
      try {
        mergeServiceDoc(doc, entry, await fetchServiceDoc(c.env, entry, c.get("requestId")));
      } catch (err) {
        missing.push(entry.name);
        logError(c.get("requestId"), "gateway", err, { during: "openapi aggregation", target: entry.name });
      }
    }
    const prefixes = serviceRegistry(c.env).map((e) => e.prefix);
    addGatewayAnswers(doc, (path) => !own.has(path) && prefixes.some((p) => path === p || path.startsWith(`${p}/`)));
    if (missing.length) {
      doc.info.description += ` Unavailable while this document was built: ${missing.join(", ")}.`;
    } else {
      if (cache.size > 16) cache.clear();
      cache.set(origin, { at: Date.now(), doc });
    }
    return c.json(doc);
  });
  return app;
}
