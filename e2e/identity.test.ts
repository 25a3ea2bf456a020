import * as oidc from "openid-client";
import { SignJWT, decodeJwt, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { activeSigningKey } from "./forge";
import { DEMO_ADMIN, DEMO_ORG, anon, api, baseUrl, checkedFetch, expectProblem, passwordToken, postJson, unique } from "./helpers";

const PASSWORD = "a long enough password";

async function registerOrg(name: string) {
  const email = `${unique("owner")}@e2e.example`;
  const res = await anon("/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, name: "Owner", organization_name: name }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { user: { id: string }; organization: { id: string } };
  return { email, user_id: body.user.id, organization_id: body.organization.id, token: await passwordToken(email, PASSWORD) };
}

describe("a standard OAuth2/OpenID client library against the gateway", () => {
  it("discovers, obtains, refreshes and revokes tokens (openid-client)", async () => {
    // The library's own calls are checked against the API document like every other.
    const opts = { execute: [oidc.allowInsecureRequests], [oidc.customFetch]: checkedFetch };
    const publicClient = await oidc.discovery(new URL(baseUrl()), "e2e-public-client", undefined, oidc.None(), opts);
    expect(publicClient.serverMetadata().token_endpoint).toBe(`${baseUrl()}/v1/auth/token`);

    const tokens = await oidc.genericGrantRequest(publicClient, "password", {
      username: DEMO_ADMIN,
      password: "buildly-demo-password",
      scope: "api",
    });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBe(900);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ org: DEMO_ORG, roles: ["admin"] });
    expect((await api("/v1/crm/contacts?limit=1", { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(200);

    const refreshed = await oidc.refreshTokenGrant(publicClient, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await oidc.tokenRevocation(publicClient, refreshed.refresh_token!);
    await expect(oidc.refreshTokenGrant(publicClient, refreshed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });

    // A machine client, created by an admin, uses client_credentials with HTTP Basic.
    const created = await postJson("/v1/clients", { name: unique("e2e-machine"), roles: ["viewer"] });
    expect(created.status).toBe(201);
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };
    const machine = await oidc.discovery(new URL(baseUrl()), client_id, undefined, oidc.ClientSecretBasic(client_secret), opts);
    const cc = await oidc.clientCredentialsGrant(machine, { scope: "api" });
    expect(cc.refresh_token).toBeUndefined();
    const auth = { authorization: `Bearer ${cc.access_token}` };
    expect((await api("/v1/crm/contacts?limit=1", { headers: auth })).status).toBe(200);
    await expectProblem(await api("/v1/crm/contacts", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{}" }), 403);
  });
});

describe("bad tokens over HTTP: 401 and nothing changed", () => {
  let claims: Record<string, unknown>;
  beforeAll(async () => {
    claims = decodeJwt(await passwordToken(DEMO_ADMIN));
  });

  async function refused(token: string, label: string) {
    const email = `${unique("forged")}@e2e.example`;
    const res = await api("/v1/crm/contacts", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ first_name: "Eve", last_name: "Forger", email }),
    });
    await expectProblem(res, 401);
    expect(res.headers.get("www-authenticate"), label).toMatch(/^Bearer/);
    const search = (await (await api("/v1/crm/contacts?limit=100")).json()) as { data: { email: string }[] };
    expect(search.data.some((c) => c.email === email), label).toBe(false);
  }

  type SigningKey = Parameters<SignJWT["sign"]>[0];
  const sign = (payload: Record<string, unknown>, key: SigningKey, kid: string, exp: number, aud = "buildly-api") =>
    new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid }).setIssuer(baseUrl()).setAudience(aud).setIssuedAt(exp - 900).setExpirationTime(exp).setJti(crypto.randomUUID()).sign(key);

  it("refuses expired, tampered, unknown-key, other-audience and alg:none tokens", async () => {
    const { iss: _i, aud: _a, exp: _e, iat: _t, jti: _j, ...base } = claims;
    const now = Math.floor(Date.now() / 1000);
    const real = await activeSigningKey();
    await refused(await sign(base, real.key, real.kid, now - 300), "expired");
    await refused(await sign(base, real.key, real.kid, now + 600, "another-api"), "other audience");
    const stranger = await generateKeyPair("ES256");
    await refused(await sign(base, stranger.privateKey, "not-our-kid", now + 600), "unknown key");
    const good = await passwordToken(DEMO_ADMIN);
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    payload.roles = ["admin", "superuser"];
    await refused(`${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`, "tampered");
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify({ ...claims, exp: now + 600 })).toString("base64url")}.`;
    await refused(none, "alg none");
  });
});

/**
 * Two organizations on every resource of every service: what one creates, the other can
 * neither read, change, delete nor list; the answer is 404 exactly as for a missing id.
 */
type Created = { path: string; id: string };
type Resource = { name: string; list: string; patch?: unknown; create: (token: string) => Promise<Created> };

async function createAs(token: string, path: string, body: unknown, raw?: { contentType: string; data: string }): Promise<Created> {
  const res = await api(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": raw?.contentType ?? "application/json" },
    body: raw ? raw.data : JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, `${path}: ${text}`).toBe(201);
  const { id } = JSON.parse(text) as { id: string };
  return { path: `${path.split("?")[0]}/${id}`, id };
}

/**
 * Every resource of every service. Records that need another record (a deal needs a
 * pipeline, an appointment a calendar) create it first, in the same organization.
 */
const RESOURCES: Resource[] = [
  { name: "crm companies", list: "/v1/crm/companies", patch: { name: "Changed" }, create: (t) => createAs(t, "/v1/crm/companies", { name: unique("Co") }) },
  {
    name: "crm contacts",
    list: "/v1/crm/contacts",
    patch: { first_name: "Changed" },
    create: (t) => createAs(t, "/v1/crm/contacts", { first_name: "Iso", last_name: "Lation", email: `${unique("iso")}@e2e.example` }),
  },
  { name: "crm pipelines", list: "/v1/crm/pipelines", patch: { name: "Changed" }, create: (t) => createAs(t, "/v1/crm/pipelines", { name: unique("Pipe"), stages: [{ name: "Open" }, { name: "Won" }] }) },
  { name: "crm deals", list: "/v1/crm/deals", patch: { title: "Changed" }, create: (t) => createAs(t, "/v1/crm/deals", { title: unique("Deal"), amount: 12000, currency: "EUR" }) },
  {
    name: "crm activities",
    list: "/v1/crm/activities",
    patch: { body: "Changed" },
    create: async (t) => {
      const company = await createAs(t, "/v1/crm/companies", { name: unique("Co") });
      return createAs(t, "/v1/crm/activities", { type: "note", body: "Met at the fair", company_id: company.id, occurred_at: "2026-11-20T10:00:00Z" });
    },
  },
  { name: "documents folders", list: "/v1/documents/folders", patch: { name: "Changed" }, create: (t) => createAs(t, "/v1/documents/folders", { name: unique("Folder") }) },
  {
    name: "documents files",
    list: "/v1/documents/files",
    patch: { name: "changed.txt" },
    create: (t) => createAs(t, `/v1/documents/files?name=${unique("iso")}.txt`, null, { contentType: "text/plain", data: "tenant data" }),
  },
  { name: "appointments calendars", list: "/v1/appointments/calendars", patch: { name: "Changed" }, create: (t) => createAs(t, "/v1/appointments/calendars", { name: unique("cal"), time_zone: "Europe/Berlin" }) },
  {
    name: "appointments appointments",
    list: "/v1/appointments/appointments",
    patch: { title: "Changed" },
    create: async (t) => {
      const cal = await createAs(t, "/v1/appointments/calendars", { name: unique("cal"), time_zone: "Europe/Berlin" });
      return createAs(t, "/v1/appointments/appointments", {
        calendar_id: cal.id,
        title: "Isolated",
        start: "2026-12-02T09:00:00+01:00",
        end: "2026-12-02T09:30:00+01:00",
        attendees: [],
      });
    },
  },
];

describe("tenant isolation across two organizations", () => {
  let one: Awaited<ReturnType<typeof registerOrg>>;
  let two: Awaited<ReturnType<typeof registerOrg>>;
  beforeAll(async () => {
    one = await registerOrg("Isolation One");
    two = await registerOrg("Isolation Two");
  });

  for (const r of RESOURCES) {
    it(`answers bad input on ${r.name} with 422 problem+json through the gateway`, async () => {
      const res = await api(r.list, {
        method: "POST",
        headers: { authorization: `Bearer ${one.token}`, "content-type": "application/json" },
        body: JSON.stringify({ not_a_field: true }),
      });
      const problem = await expectProblem(res, 422);
      expect(problem.errors?.length ?? 0, JSON.stringify(problem)).toBeGreaterThan(0);
    });

    it(`keeps ${r.name} of one organization invisible to the other`, async () => {
      const mine = await r.create(one.token);
      const as = (token: string, init: RequestInit = {}) => ({ ...init, headers: { ...(init.headers as object), authorization: `Bearer ${token}` } });
      const missing = await expectProblem(await api(mine.path.replace(mine.id, crypto.randomUUID()), as(two.token)), 404);
      const foreign = await expectProblem(await api(mine.path, as(two.token)), 404);
      expect(foreign.detail).toBe(missing.detail);
      if (r.patch) {
        await expectProblem(await api(mine.path, as(two.token, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(r.patch) })), 404);
      }
      await expectProblem(await api(mine.path, as(two.token, { method: "DELETE" })), 404);
      const listed = (await (await api(`${r.list}?limit=100`, as(two.token))).json()) as { data: { id: string }[] };
      expect(listed.data.map((x) => x.id)).not.toContain(mine.id);
      // Still there, unchanged, for its owner.
      expect((await api(mine.path, as(one.token))).status).toBe(200);
    });
  }
});
