import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import * as oidc from "openid-client";
import { SignJWT, decodeJwt, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { activeSigningKey } from "./forge";
import { DEMO_ADMIN, DEMO_ORG, anon, api, baseUrl, expectProblem, passwordToken, postJson, unique } from "./helpers";

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
    const opts = { execute: [oidc.allowInsecureRequests] };
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

// --- Security (README "Security"): the same promises over HTTP, against the platform as `npm run dev` runs it.

/** LOGIN_FAILURES_LIMIT in workers/gateway/wrangler.toml. */
const LOGIN_LIMIT = 5;

type RawAnswer = { status: number; headers: IncomingHttpHeaders; body: string; sentBeforeAnswer: number; bodyFinished: boolean };

/**
 * HTTP with what fetch does not allow: any Host header, and a body written 64 KiB at a time up
 * to `bodyBytes` (with a declared Content-Length, or chunked) that is only finished if no answer
 * came first. Resolves with status 0 if nothing answered within `waitMs` after the last byte.
 */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; bodyBytes?: number; waitMs?: number } = {}): Promise<RawAnswer> {
  const url = new URL(baseUrl() + path);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    let finished = false;
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? "GET", headers: opts.headers });
    const timer = setTimeout(() => {
      answered = true;
      req.destroy();
      resolve({ status: 0, headers: {}, body: "", sentBeforeAnswer: sent, bodyFinished: finished });
    }, 60_000);
    req.on("response", (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), sentBeforeAnswer, bodyFinished: finished });
      });
    });
    // The server may answer and close while the body is still being written: only an error before any answer counts.
    req.on("error", (err) => {
      if (!answered) {
        clearTimeout(timer);
        reject(err);
      }
    });
    if (!opts.bodyBytes) return void req.end(opts.body);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const declared = opts.headers?.["content-length"] !== undefined;
    const pump = () => {
      while (!answered && sent < opts.bodyBytes!) {
        sent += chunk.byteLength;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (answered) return;
      // Everything written and still no answer: a chunked body ends here; a declared one waits for its missing bytes.
      if (!declared) {
        finished = true;
        req.end();
      }
      setTimeout(() => {
        if (!answered) {
          answered = true;
          clearTimeout(timer);
          req.destroy();
          resolve({ status: 0, headers: {}, body: "", sentBeforeAnswer: sent, bodyFinished: finished });
        }
      }, opts.waitMs ?? 10_000);
    };
    pump();
  });
}

async function rawUntilAnswered(send: () => Promise<RawAnswer>): Promise<RawAnswer> {
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      return await send();
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

const loginAs = (username: string, password: string) =>
  anon("/v1/auth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username, password }).toString(),
  });

describe("security over HTTP", () => {
  it("login throttling: 20 wrong passwords at once in any spelling get exactly the limit of checks, then every spelling is locked", async () => {
    const { email } = await registerOrg("Throttle e2e");
    const spellings = [email, ` ${email} `, `\t${email.toUpperCase()}`, `${email}\u00a0`];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => loginAs(spellings[i % spellings.length]!, `wrong password ${i}`)));
    const counts: Record<number, number> = {};
    for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
    expect(counts).toEqual({ 400: LOGIN_LIMIT, 429: 20 - LOGIN_LIMIT });
    for (const s of spellings) {
      const res = await loginAs(s, PASSWORD);
      expect(res.status, JSON.stringify(s)).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  for (const path of ["/v1/auth/token", "/v1/auth/revoke", "/v1/auth/password-reset"]) {
    for (const mode of ["declared Content-Length", "chunked"] as const) {
      it(`request sizes: ${path} answers 413 to a 400 MB body (${mode}) before it is sent`, async () => {
        const type = path === "/v1/auth/password-reset" ? "application/json" : "application/x-www-form-urlencoded";
        const headers: Record<string, string> = { "content-type": type, ...(mode === "chunked" ? {} : { "content-length": String(400 * 1024 * 1024) }) };
        const answer = await rawUntilAnswered(() => raw(path, { method: "POST", headers, bodyBytes: 32 * 1024 * 1024 }));
        expect(answer.status, `answered after ${answer.sentBeforeAnswer} bytes: ${answer.body}`).toBe(413);
        expect(answer.bodyFinished).toBe(false);
        expect(answer.sentBeforeAnswer).toBeLessThan(32 * 1024 * 1024);
        const body = JSON.parse(answer.body);
        if (path === "/v1/auth/password-reset") expect(body.status).toBe(413);
        else expect(body.error).toBe("invalid_request");
      });
    }
  }

  it("issuer: discovery, tokens and the API document name the configured issuer, whatever Host or X-Forwarded-Host say", async () => {
    const port = new URL(baseUrl()).port;
    const hosts: Record<string, string>[] = [
      { host: "evil.example" },
      { host: `EVIL.example:${port}` },
      { host: `127.0.0.1.:${port}` },
      { host: `localhost:${port}` },
      { host: `127.0.0.1:${port}`, "x-forwarded-host": "evil.example" },
    ];
    for (const headers of hosts) {
      const conf = await raw("/.well-known/openid-configuration", { headers });
      expect(conf.status, JSON.stringify(headers)).toBe(200);
      const body = JSON.parse(conf.body);
      expect(body.issuer).toBe(baseUrl());
      for (const k of ["jwks_uri", "token_endpoint", "revocation_endpoint", "userinfo_endpoint"]) expect(body[k].startsWith(`${baseUrl()}/`), k).toBe(true);
      expect(conf.body).not.toMatch(/evil|localhost|127\.0\.0\.1\.:/i);
      const doc = JSON.parse((await raw("/openapi.json", { headers })).body);
      expect(doc.servers).toEqual([{ url: baseUrl() }]);
      const token = await raw("/v1/auth/token", {
        method: "POST",
        headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "password", username: DEMO_ADMIN, password: "buildly-demo-password" }).toString(),
      });
      expect(token.status, token.body).toBe(200);
      expect(decodeJwt(JSON.parse(token.body).access_token).iss).toBe(baseUrl());
    }
  });

  it("scopes: a token with scope=openid can say who it is, and neither read nor write CRM records", async () => {
    const res = await anon("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "password", username: DEMO_ADMIN, password: "buildly-demo-password", scope: "openid" }).toString(),
    });
    const t = (await res.json()) as { access_token: string; refresh_token?: string; scope: string };
    expect(t.scope).toBe("openid");
    expect(t.refresh_token).toBeUndefined();
    const auth = { authorization: `Bearer ${t.access_token}` };
    expect((await api("/v1/auth/me", { headers: auth })).status).toBe(200);
    await expectProblem(await api("/v1/crm/contacts", { headers: auth }), 403);
    const write = await api("/v1/crm/contacts", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ first_name: "Scope", last_name: "Creep", email: `${unique("scope")}@e2e.example` }),
    });
    expect(write.headers.get("www-authenticate")).toContain("insufficient_scope");
    await expectProblem(write, 403);
    const conf = (await (await anon("/.well-known/openid-configuration")).json()) as { scopes_supported: string[] };
    expect(conf.scopes_supported).toEqual(["openid", "profile", "email", "offline_access", "read", "write"]);
  });

  it("client authentication: malformed Basic credentials are 401 invalid_client, never 500", async () => {
    for (const path of ["/v1/auth/token", "/v1/auth/revoke"]) {
      for (const creds of [Buffer.from("%:x").toString("base64"), Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString("base64"), "!!!", Buffer.from("no-colon").toString("base64")]) {
        const res = await anon(path, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${creds}` },
          body: new URLSearchParams({ grant_type: "client_credentials", token: "x" }).toString(),
        });
        expect(res.status, `${path} ${creds}`).toBe(401);
        expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
      }
    }
  });
});
