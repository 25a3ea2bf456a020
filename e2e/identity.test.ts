import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import * as oidc from "openid-client";
import { SignJWT, decodeJwt, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { activeSigningKey } from "./forge";
import { DEMO_ADMIN, DEMO_ORG, anon, api, baseUrl, checkedFetch, expectApiError, expectProblem, passwordToken, sdk, unique, registerOrg } from "./helpers";

const PASSWORD = "a long enough password";

describe("a standard OAuth2/OpenID client library against the gateway", () => {
  it("discovers, obtains, refreshes and revokes tokens (openid-client)", async () => {
    // The library's own calls are checked against the API document like every other.
    const opts = { execute: [oidc.allowInsecureRequests], [oidc.customFetch]: checkedFetch };
    // The password grant (legacy) takes a known client only: the organization's first-party console client.
    const listed = await sdk().GET("/v1/clients", { params: { query: { limit: 100 } } });
    const consoleId = listed.data.find((c) => c.first_party)!.client_id;
    const publicClient = await oidc.discovery(new URL(baseUrl()), consoleId, undefined, oidc.None(), opts);
    expect(publicClient.serverMetadata().token_endpoint).toBe(`${baseUrl()}/v1/auth/token`);

    const tokens = await oidc.genericGrantRequest(publicClient, "password", {
      username: DEMO_ADMIN,
      password: "buildly-demo-password",
      scope: "api",
    });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBe(900);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ org: DEMO_ORG, roles: ["admin"] });
    expect((await sdk(tokens.access_token).withResponse.GET("/v1/crm/contacts", { params: { query: { limit: 1 } } })).response.status).toBe(200);

    const refreshed = await oidc.refreshTokenGrant(publicClient, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await oidc.tokenRevocation(publicClient, refreshed.refresh_token!);
    await expect(oidc.refreshTokenGrant(publicClient, refreshed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });

    // A machine client, created by an admin, uses client_credentials with HTTP Basic.
    const created = await sdk().withResponse.POST("/v1/clients", { body: { name: unique("e2e-machine"), roles: ["viewer"] } });
    expect(created.response.status).toBe(201);
    const { client_id, client_secret } = created.data;
    if (!client_secret) throw new Error("a confidential client comes with its secret");
    const machine = await oidc.discovery(new URL(baseUrl()), client_id, undefined, oidc.ClientSecretBasic(client_secret), opts);
    const cc = await oidc.clientCredentialsGrant(machine, { scope: "api" });
    expect(cc.refresh_token).toBeUndefined();
    const viewer = sdk(cc.access_token);
    expect((await viewer.withResponse.GET("/v1/crm/contacts", { params: { query: { limit: 1 } } })).response.status).toBe(200);
    await expectApiError(viewer.POST("/v1/crm/contacts", { body: { first_name: "Not", last_name: "Allowed", email: `${unique("viewer")}@e2e.example` } }), 403);
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
    const search = await sdk().GET("/v1/crm/contacts", { params: { query: { limit: 100 } } });
    expect(
      search.data.some((c) => c.email === email),
      label,
    ).toBe(false);
  }

  type SigningKey = Parameters<SignJWT["sign"]>[0];
  const sign = (payload: Record<string, unknown>, key: SigningKey, kid: string, exp: number, aud = "buildly-api") =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer(baseUrl())
      .setAudience(aud)
      .setIssuedAt(exp - 900)
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(key);

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
  {
    name: "crm pipelines",
    list: "/v1/crm/pipelines",
    patch: { name: "Changed" },
    create: (t) => createAs(t, "/v1/crm/pipelines", { name: unique("Pipe"), stages: [{ name: "Open" }, { name: "Won" }] }),
  },
  {
    name: "crm deals",
    list: "/v1/crm/deals",
    patch: { title: "Changed" },
    create: (t) => createAs(t, "/v1/crm/deals", { title: unique("Deal"), amount: 12000, currency: "EUR" }),
  },
  {
    name: "crm activities",
    list: "/v1/crm/activities",
    patch: { body: "Changed" },
    create: async (t) => {
      const company = await createAs(t, "/v1/crm/companies", { name: unique("Co") });
      return createAs(t, "/v1/crm/activities", { type: "note", body: "Met at the fair", company_id: company.id, occurred_at: "2026-11-20T10:00:00Z" });
    },
  },
  {
    name: "documents folders",
    list: "/v1/documents/folders",
    patch: { name: "Changed" },
    create: (t) => createAs(t, "/v1/documents/folders", { name: unique("Folder") }),
  },
  {
    name: "documents files",
    list: "/v1/documents/files",
    patch: { name: "changed.txt" },
    create: (t) => createAs(t, `/v1/documents/files?name=${unique("iso")}.txt`, null, { contentType: "text/plain", data: "tenant data" }),
  },
  {
    name: "appointments calendars",
    list: "/v1/appointments/calendars",
    patch: { name: "Changed" },
    create: (t) => createAs(t, "/v1/appointments/calendars", { name: unique("cal"), time_zone: "Europe/Berlin" }),
  },
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
        await expectProblem(
          await api(mine.path, as(two.token, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(r.patch) })),
          404,
        );
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

/** A GET or a small request with any headers, Host included (fetch does not allow setting Host). */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  const url = new URL(baseUrl() + path);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? "GET", headers: opts.headers });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

type EarlyAnswer = { status: number; contentType: string; body: string; sent: number; bodyFinished: boolean };

/**
 * POSTs a body of up to 32 MiB over a raw socket, 64 KiB every 10 ms, declared as 400 MB or
 * chunked, and stops writing as soon as the server answers. A chunked body is finished after
 * 32 MiB; a declared one never is (a server that waits for it all never answers: status 0).
 * The pace gives the answer time to arrive before the server closes on the unread rest.
 */
function postOversized(path: string, contentType: string, mode: "declared" | "chunked"): Promise<EarlyAnswer> {
  const { hostname, port } = new URL(baseUrl());
  const TOTAL = 32 * 1024 * 1024;
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let sent = 0;
    let finished = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = received.toString("utf8");
      const [head = "", ...rest] = text.split("\r\n\r\n");
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        contentType: /^content-type:\s*(.*)$/im.exec(head)?.[1]?.trim() ?? "",
        body: rest.join("\r\n\r\n"),
        sent,
        bodyFinished: finished,
      });
    };
    const timer = setTimeout(finish, 20_000);
    sock.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      // Give the rest of a short answer a moment to arrive, then stop.
      setTimeout(finish, 300);
    });
    sock.on("error", finish);
    sock.on("close", () => setTimeout(finish, 50));
    sock.write(
      [
        `POST ${path} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        `Content-Type: ${contentType}`,
        mode === "declared" ? `Content-Length: ${400 * 1024 * 1024}` : "Transfer-Encoding: chunked",
        "",
        "",
      ].join("\r\n"),
    );
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const framed = mode === "declared" ? chunk : Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    const pump = () => {
      if (done || received.length) return;
      if (sent >= TOTAL) {
        if (mode === "chunked") {
          finished = true;
          sock.write("0\r\n\r\n");
        }
        return;
      }
      sent += chunk.length;
      sock.write(framed);
      setTimeout(pump, 10);
    };
    pump();
  });
}

/**
 * The server answers before it has read the body and then closes on the unread rest, so a
 * local TCP reset can swallow the answer, and the local dev proxy (`wrangler dev`) sometimes
 * reports the closed upstream as its own text/plain 500: try again then. Any answer of the
 * gateway itself (JSON) is returned as is.
 */
async function untilGatewayAnswers(send: () => Promise<EarlyAnswer>): Promise<EarlyAnswer> {
  let last: EarlyAnswer | undefined;
  for (let i = 0; i < 5; i++) {
    last = await send();
    if (last.contentType.includes("json")) return last;
  }
  return last!;
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
    for (const mode of ["declared", "chunked"] as const) {
      // Declared past the gateway's bound for unread bodies (http/unread-body.ts), the body is never
      // read; sent chunked, the unread rest (32 MiB here, under the bound) is read and dropped so
      // that the client finishes sending and gets the answer instead of a reset.
      const how = mode === "declared" ? "without reading it" : "after dropping the unread rest";
      it(`request sizes: ${path} answers 413 to an oversized body (${mode}) ${how}`, async () => {
        const type = path === "/v1/auth/password-reset" ? "application/json" : "application/x-www-form-urlencoded";
        const answer = await untilGatewayAnswers(() => postOversized(path, type, mode));
        expect(answer.status, `after ${answer.sent} bytes sent: ${answer.contentType} ${answer.body}`).toBe(413);
        if (mode === "declared") {
          expect(answer.bodyFinished).toBe(false);
          expect(answer.sent).toBeLessThan(32 * 1024 * 1024);
        } else {
          expect(answer.bodyFinished).toBe(true);
        }
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
    expect((await sdk(t.access_token).withResponse.GET("/v1/auth/me")).response.status).toBe(200);
    await expectApiError(sdk(t.access_token).GET("/v1/crm/contacts"), 403);
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
      for (const creds of [
        Buffer.from("%:x").toString("base64"),
        Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString("base64"),
        "!!!",
        Buffer.from("no-colon").toString("base64"),
      ]) {
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
