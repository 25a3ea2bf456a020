import { WORKFLOWS } from "../identity/rbac";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { OPENAPI_VERSION, ProblemSchema, loadLazyRoutes, logError, stateTrimmedStrings } from "@buildly/shared";
import { serviceRegistry } from "../upstream/registry";
import type { GatewayEnv } from "../types";
import { issuerOf } from "../identity/config";
import { SCOPES } from "../identity/scopes";
import { meshCatalog } from "../mesh";
import { rateLimitConfig } from "../limits/policies";
import { fetchServiceDoc } from "../upstream/service-doc";
import { mergeServiceDoc } from "./aggregate";
import { addGatewayAnswers } from "./gateway-answers";

/** client_credentials has no refresh token and no OpenID identity: read and write only. */
const CLIENT_SCOPES = { read: SCOPES.read, write: SCOPES.write };

/** Per-isolate cache: services' documents change only when they are deployed. */
const CACHE_MS = 30_000;
const cache = new Map<string, { at: number; doc: Record<string, unknown> }>();

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/**
 * Every operation that needs a token accepts the document's schemes (a bearer token, or the OAuth2
 * flows the docs page's Authorize button uses): services declare only their own `bearerAuth`.
 */
// biome-ignore lint/suspicious/noExplicitAny: the document is edited as untyped JSON
function sameSecurityEverywhere(doc: Record<string, any>): void {
  for (const item of Object.values(doc.paths ?? {}) as Record<string, { security?: unknown[] }>[]) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (op?.security?.length) op.security = structuredClone(doc.security);
    }
  }
}

/** Every schema object of the document (components and inline), once each. */
// biome-ignore lint/suspicious/noExplicitAny: the document is edited as untyped JSON
function eachNode(node: any, visit: (n: Record<string, any>) => void): void {
  if (Array.isArray(node)) for (const n of node) eachNode(n, visit);
  else if (node && typeof node === "object") {
    visit(node);
    for (const v of Object.values(node)) eachNode(v, visit);
  }
}

/**
 * Constraints the server checks that the schemas cannot say on their own: the email rule of zod
 * (every Worker validates with z.email(), stricter than the format: `0@com` is refused), the
 * registered services as a role's permission keys, and this deployment's rate-limit maximums.
 */
// biome-ignore lint/suspicious/noExplicitAny: the document is edited as untyped JSON
function statedConstraints(doc: Record<string, any>, env: Env): void {
  eachNode([doc.paths, doc.components?.schemas], (n) => {
    if (n.format === "email" && n.type === "string" && !n.pattern) n.pattern = z.regexes.email.source;
  });
  const permissions = doc.components?.schemas?.RolePermissionsInput;
  if (permissions) permissions.propertyNames = { enum: ["*", ...serviceRegistry(env).map((e) => e.name), WORKFLOWS] };
  const limits = doc.components?.schemas?.OrganizationUpdate?.properties?.rate_limits?.properties;
  const max = rateLimitConfig(env).max;
  for (const scope of ["user", "client", "organization"] as const) {
    const limit = limits?.[scope]?.properties?.limit;
    if (!limit) continue;
    limit.maximum = max[scope].limit;
    limit.description = `At most ${max[scope].limit}, and at most ${max[scope].limit} per ${max[scope].window_seconds} s as a rate.`;
  }
}

/** GET /openapi.json (registered in openapi.ts): loaded with what it merges on its first request, not at start-up. */
export async function serveOpenApi(
  app: OpenAPIHono<GatewayEnv>,
  c: Context<GatewayEnv>,
  placeProblem: (schema: typeof ProblemSchema) => void,
): Promise<Response> {
  // The configured issuer, not the request's Host: this document names the token URL and is cached.
  const { issuer: origin, localIssuer } = issuerOf(c.env, c.req.url);
  c.header("cache-control", localIssuer ? "no-store" : "public, max-age=30");
  const hit = cache.get(origin);
  if (hit && Date.now() - hit.at < CACHE_MS) return c.json(hit.doc);
  // The route groups not built yet (lazyRoutes) put their definitions in the registry first.
  await loadLazyRoutes(app);
  placeProblem(ProblemSchema);
  stateTrimmedStrings(app.openAPIRegistry.definitions);
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
  // The models' paths say where `join` applies: without them (the service could not describe its
  // models just now) its operations are documented without `join`, and the document is not cached.
  const catalog = await meshCatalog(c);
  for (const entry of serviceRegistry(c.env)) {
    try {
      const models = catalog.services.find((s) => s.entry.name === entry.name)?.catalog.models;
      if (!models) missing.push(`${entry.name}'s models (the data mesh's join)`);
      mergeServiceDoc(doc, entry, await fetchServiceDoc(c.env, entry, c.get("requestId")), models ?? []);
    } catch (err) {
      missing.push(entry.name);
      logError(c.get("requestId"), "gateway", err, { during: "openapi aggregation", target: entry.name });
    }
  }
  sameSecurityEverywhere(doc);
  statedConstraints(doc, c.env);
  const prefixes = serviceRegistry(c.env).map((e) => e.prefix);
  addGatewayAnswers(doc, (path) => !own.has(path) && prefixes.some((p) => path === p || path.startsWith(`${p}/`)));
  if (missing.length) {
    doc.info.description += ` Unavailable while this document was built: ${missing.join(", ")}.`;
  } else {
    if (cache.size > 16) cache.clear();
    cache.set(origin, { at: Date.now(), doc });
  }
  return c.json(doc);
}
