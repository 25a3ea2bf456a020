import type { RouteHandler } from "@hono/zod-openapi";
import { forgetOrganizationPrincipals } from "../../principal-status";
import { and, asc, eq, ne } from "drizzle-orm";
import { ApiError, decodeCursor, newId, nowIso, paginate, afterCursor } from "@buildly/shared";
import { rolesByName } from "../../accounts";
import { randomToken, sha256Hex } from "../../crypto";
import { db } from "../../db/client";
import { clients, type ClientRow } from "../../db/schema";
import { currentPrincipal } from "../../authenticate";
import type { GatewayEnv } from "../../../types";
import { actorOf, identityEvent, outboxInsert, relaySoon } from "../../../events";
import type * as routes from "./clients.routes";
import { SCOPE_NAMES } from "../../scopes";
import { consoleClient } from "../../signin/app-clients";

function toClient(r: ClientRow) {
  return {
    client_id: r.id,
    name: r.name,
    roles: r.roles,
    status: r.status,
    client_type: r.client_type,
    first_party: r.first_party,
    token_endpoint_auth_method: r.token_endpoint_auth_method,
    grant_types: r.grant_types,
    redirect_uris: r.redirect_uris,
    post_logout_redirect_uris: r.post_logout_redirect_uris,
    scopes: r.scopes,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** The scopes a client may have when it names none: everything its grants allow. */
function defaultScopes(grants: string[]): string[] {
  if (grants.some((g) => g !== "client_credentials")) return [...SCOPE_NAMES];
  return ["read", "write"];
}

export const create: RouteHandler<typeof routes.createClient, GatewayEnv> = async (c) => {
  const p = currentPrincipal(c);
  const input = c.req.valid("json");
  const granted = await rolesByName(c.env.DB, p.organization_id, [...new Set(input.roles ?? [])]);
  const method = input.token_endpoint_auth_method ?? (input.client_type === "public" ? "none" : "client_secret_basic");
  const hasSecret = method === "client_secret_basic" || method === "client_secret_post";
  // Clients without a secret still get a hash: of 256 random bits nobody holds.
  const secret = randomToken(32);
  const now = nowIso();
  const row: ClientRow = {
    id: newId(),
    organization_id: p.organization_id,
    name: input.name,
    secret_hash: await sha256Hex(secret),
    roles: granted.map((r) => r.name).sort(),
    status: "active",
    created_by: p.subject,
    created_at: now,
    updated_at: now,
    client_type: input.client_type,
    first_party: false,
    token_endpoint_auth_method: method,
    redirect_uris: input.redirect_uris,
    post_logout_redirect_uris: input.post_logout_redirect_uris,
    grant_types: [...new Set(input.grant_types)],
    scopes: input.scopes ? [...new Set(input.scopes)] : defaultScopes(input.grant_types),
    jwks: (input.jwks as { keys: JsonWebKey[] } | undefined) ?? null,
  };
  const d = db(c.env.DB);
  const event = identityEvent(actorOf(c), "identity.client.created", { subject: row.id, organizationid: row.organization_id, data: toClient(row) });
  await d.batch([d.insert(clients).values(row), outboxInsert(d, event)]);
  relaySoon(c);
  c.header("cache-control", "no-store");
  return c.json({ ...toClient(row), ...(hasSecret ? { client_secret: secret } : {}) }, 201);
};

export const list: RouteHandler<typeof routes.listClients, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  // The organization's first-party console client is always there to be listed.
  if (!after) await consoleClient(c.env.DB, organization_id);
  const rows = await db(c.env.DB)
    .select()
    .from(clients)
    .where(and(eq(clients.organization_id, organization_id), afterCursor(clients.created_at, clients.id, after)))
    .orderBy(asc(clients.created_at), asc(clients.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toClient), next_cursor: page.next_cursor }, 200);
};

export const revoke: RouteHandler<typeof routes.revokeClient, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  const d = db(c.env.DB);
  const client = await d
    .select({ status: clients.status, first_party: clients.first_party })
    .from(clients)
    .where(and(eq(clients.id, id), eq(clients.organization_id, organization_id)))
    .get();
  if (!client) throw new ApiError(404, "No client of this organization has this id.");
  if (client.first_party) throw new ApiError(409, "The console client is the platform's own; it cannot be revoked.");
  if (client.status !== "revoked") {
    const event = identityEvent(actorOf(c), "identity.client.revoked", {
      subject: id,
      organizationid: organization_id,
      data: { client_id: id, status: "revoked" },
    });
    await d.batch([
      d
        .update(clients)
        .set({ status: "revoked", updated_at: nowIso() })
        .where(and(eq(clients.id, id), eq(clients.organization_id, organization_id), ne(clients.status, "revoked"))),
      outboxInsert(d, event, { onlyIfChanged: true }),
    ]);
    relaySoon(c);
    // This client and the clients it created stop on the next request.
    forgetOrganizationPrincipals(organization_id);
  }
  return c.body(null, 204);
};
