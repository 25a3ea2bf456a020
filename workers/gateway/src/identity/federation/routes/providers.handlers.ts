import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, count, eq, ne } from "drizzle-orm";
import { ApiError, isUniqueViolation, newId, nowIso } from "@buildly/shared";
import { rolesByName } from "../../accounts";
import { currentPrincipal } from "../../authenticate";
import { authConfig } from "../../config";
import { db } from "../../db/client";
import { encryptText } from "../../sealing";
import { actorOf, identityEvent, outboxInsert, relaySoon } from "../../../events";
import type { GatewayEnv } from "../../../types";
import { federatedIdentities, identityProviders, organizationSso, type IdentityProviderRow } from "../db";
import { discover, UpstreamError } from "../upstream";
import { callbackUrl } from "../flow";
import { MAX_PROVIDERS } from "./providers.schemas";
import type * as routes from "./providers.routes";

const notFound = () => new ApiError(404, "No identity provider of this organization has this id.");

function toProvider(r: IdentityProviderRow, issuer: string) {
  return {
    id: r.id,
    name: r.name,
    issuer: r.issuer,
    client_id: r.client_id,
    allowed_domains: r.allowed_domains,
    role_claim: r.role_claim,
    role_mapping: r.role_mapping,
    default_role: r.default_role,
    jit_provisioning: r.jit_provisioning,
    redirect_uri: callbackUrl(issuer),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** The audit view: what changed, never the secret. */
function auditData(r: IdentityProviderRow, secretChanged = false) {
  const { client_secret_sealed: _, ...rest } = r;
  return { ...rest, ...(secretChanged ? { client_secret_changed: true } : {}) };
}

/** The discovery document must be readable and consistent before a provider is saved. */
async function checkIssuer(issuer: string, gatewayIssuer: string) {
  try {
    await discover(issuer, gatewayIssuer, { fresh: true });
  } catch (err) {
    if (err instanceof UpstreamError) throw new ApiError(422, err.message, { errors: [{ path: "issuer", message: err.message }] });
    throw err;
  }
}

/** Mapped and default roles must exist in the organization (422 names the unknown ones). */
async function checkRoles(d1: D1Database, organizationId: string, mapping: Record<string, string>, defaultRole: string | null) {
  await rolesByName(d1, organizationId, [...new Set([...Object.values(mapping), ...(defaultRole ? [defaultRole] : [])])]);
}

/** An email domain belongs to at most one provider of an organization (home realm discovery must be unambiguous). */
async function checkDomains(d1: D1Database, organizationId: string, domains: string[], exceptId?: string) {
  const others = await db(d1)
    .select({ id: identityProviders.id, allowed_domains: identityProviders.allowed_domains })
    .from(identityProviders)
    .where(and(eq(identityProviders.organization_id, organizationId), exceptId ? ne(identityProviders.id, exceptId) : undefined));
  const taken = domains.filter((d) => others.some((o) => o.allowed_domains.includes(d)));
  if (taken.length) {
    throw new ApiError(409, `Another identity provider of this organization already signs in ${taken.join(", ")}.`, {
      errors: taken.map((d) => ({ path: "allowed_domains", message: `${d} belongs to another provider` })),
    });
  }
}

const issuerTaken = () =>
  new ApiError(409, "This organization already connected a provider with this issuer.", { errors: [{ path: "issuer", message: "Already connected" }] });

export const create: RouteHandler<typeof routes.createIdentityProvider, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const input = c.req.valid("json");
  const cfg = authConfig(c.env, c.req.url);
  const d = db(c.env.DB);
  const [counted] = await d.select({ n: count() }).from(identityProviders).where(eq(identityProviders.organization_id, organization_id));
  if ((counted?.n ?? 0) >= MAX_PROVIDERS) throw new ApiError(409, `An organization connects at most ${MAX_PROVIDERS} identity providers.`);
  const domains = [...new Set(input.allowed_domains)];
  await checkRoles(c.env.DB, organization_id, input.role_mapping, input.default_role);
  await checkDomains(c.env.DB, organization_id, domains);
  await checkIssuer(input.issuer, cfg.issuer);
  const now = nowIso();
  const row: IdentityProviderRow = {
    id: newId(),
    organization_id,
    name: input.name,
    issuer: input.issuer,
    client_id: input.client_id,
    client_secret_sealed: await encryptText(cfg.signingSecret, input.client_secret),
    allowed_domains: domains,
    role_claim: input.role_claim,
    role_mapping: input.role_mapping,
    default_role: input.default_role,
    jit_provisioning: input.jit_provisioning,
    created_at: now,
    updated_at: now,
  };
  const event = identityEvent(actorOf(c), "identity.identity_provider.created", { subject: row.id, organizationid: organization_id, data: auditData(row) });
  try {
    await d.batch([d.insert(identityProviders).values(row), outboxInsert(d, event)]);
  } catch (err) {
    if (isUniqueViolation(err)) throw issuerTaken();
    throw err;
  }
  relaySoon(c);
  return c.json(toProvider(row, cfg.issuer), 201);
};

export const list: RouteHandler<typeof routes.listIdentityProviders, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const cfg = authConfig(c.env, c.req.url);
  const rows = await db(c.env.DB)
    .select()
    .from(identityProviders)
    .where(eq(identityProviders.organization_id, organization_id))
    .orderBy(asc(identityProviders.created_at), asc(identityProviders.id))
    .limit(MAX_PROVIDERS);
  return c.json({ data: rows.map((r) => toProvider(r, cfg.issuer)), next_cursor: null }, 200);
};

async function findProvider(d1: D1Database, organizationId: string, id: string) {
  return db(d1)
    .select()
    .from(identityProviders)
    .where(and(eq(identityProviders.id, id), eq(identityProviders.organization_id, organizationId)))
    .get();
}

export const get: RouteHandler<typeof routes.getIdentityProvider, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const row = await findProvider(c.env.DB, organization_id, c.req.valid("param").id);
  if (!row) throw notFound();
  return c.json(toProvider(row, authConfig(c.env, c.req.url).issuer), 200);
};

export const update: RouteHandler<typeof routes.updateIdentityProvider, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  const input = c.req.valid("json");
  const cfg = authConfig(c.env, c.req.url);
  const row = await findProvider(c.env.DB, organization_id, id);
  if (!row) throw notFound();
  const { client_secret, ...plain } = input;
  const next: IdentityProviderRow = {
    ...row,
    ...Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined)),
    ...(input.allowed_domains ? { allowed_domains: [...new Set(input.allowed_domains)] } : {}),
    ...(client_secret !== undefined ? { client_secret_sealed: await encryptText(cfg.signingSecret, client_secret) } : {}),
    updated_at: nowIso(),
  };
  await checkRoles(c.env.DB, organization_id, next.role_mapping, next.default_role);
  if (input.allowed_domains) await checkDomains(c.env.DB, organization_id, next.allowed_domains, id);
  if (input.issuer !== undefined && input.issuer !== row.issuer) await checkIssuer(next.issuer, cfg.issuer);
  const d = db(c.env.DB);
  const event = identityEvent(actorOf(c), "identity.identity_provider.updated", {
    subject: id,
    organizationid: organization_id,
    data: auditData(next, client_secret !== undefined),
  });
  const { id: _id, organization_id: _org, created_at: _created, ...changes } = next;
  try {
    await d.batch([
      d
        .update(identityProviders)
        .set(changes)
        .where(and(eq(identityProviders.id, id), eq(identityProviders.organization_id, organization_id))),
      outboxInsert(d, event, { onlyIfChanged: true }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw issuerTaken();
    throw err;
  }
  relaySoon(c);
  return c.json(toProvider(next, cfg.issuer), 200);
};

export const remove: RouteHandler<typeof routes.deleteIdentityProvider, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  const d = db(c.env.DB);
  const row = await findProvider(c.env.DB, organization_id, id);
  if (!row) throw notFound();
  const [org, [counted]] = await Promise.all([
    d.select({ require_sso: organizationSso.require_sso }).from(organizationSso).where(eq(organizationSso.id, organization_id)).get(),
    d.select({ n: count() }).from(identityProviders).where(eq(identityProviders.organization_id, organization_id)),
  ]);
  if (org?.require_sso && (counted?.n ?? 0) <= 1) {
    throw new ApiError(409, "This organization requires SSO: stop requiring it (PUT /v1/organizations/current/sso) before removing its last provider.");
  }
  const event = identityEvent(actorOf(c), "identity.identity_provider.deleted", {
    subject: id,
    organizationid: organization_id,
    data: { id, issuer: row.issuer },
  });
  await d.batch([
    d.delete(federatedIdentities).where(and(eq(federatedIdentities.provider_id, id), eq(federatedIdentities.organization_id, organization_id))),
    d.delete(identityProviders).where(and(eq(identityProviders.id, id), eq(identityProviders.organization_id, organization_id))),
    outboxInsert(d, event, { onlyIfChanged: true }),
  ]);
  relaySoon(c);
  return c.body(null, 204);
};

export const getPolicy: RouteHandler<typeof routes.getSsoPolicy, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const org = await db(c.env.DB)
    .select({ require_sso: organizationSso.require_sso })
    .from(organizationSso)
    .where(eq(organizationSso.id, organization_id))
    .get();
  if (!org) throw new ApiError(404, "The organization named by your token does not exist.");
  return c.json({ require_sso: org.require_sso }, 200);
};

export const putPolicy: RouteHandler<typeof routes.putSsoPolicy, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { require_sso } = c.req.valid("json");
  const d = db(c.env.DB);
  if (require_sso) {
    const [counted] = await d.select({ n: count() }).from(identityProviders).where(eq(identityProviders.organization_id, organization_id));
    if (!counted?.n)
      throw new ApiError(422, "Connect an identity provider before requiring SSO.", { errors: [{ path: "require_sso", message: "No provider connected" }] });
  }
  const event = identityEvent(actorOf(c), "identity.organization.sso_policy_changed", {
    subject: organization_id,
    organizationid: organization_id,
    data: { id: organization_id, require_sso },
  });
  const [rows] = await d.batch([
    d
      .update(organizationSso)
      .set({ require_sso, updated_at: nowIso() })
      .where(and(eq(organizationSso.id, organization_id), ne(organizationSso.require_sso, require_sso)))
      .returning({ id: organizationSso.id }),
    outboxInsert(d, event, { onlyIfChanged: true }),
  ]);
  if (!rows.length) {
    const exists = await d.select({ id: organizationSso.id }).from(organizationSso).where(eq(organizationSso.id, organization_id)).get();
    if (!exists) throw new ApiError(404, "The organization named by your token does not exist.");
  } else relaySoon(c);
  return c.json({ require_sso }, 200);
};
