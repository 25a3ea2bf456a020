// Single sign-on with an organization's own OpenID provider (issue 19): the admin API, the
// federated flow through the hosted login page, and every attack the issue lists, refused with a
// page and nothing created. The provider is the IdP fixture at https://sso.example (vitest.config.ts):
// its discovery and JWKS are real, and its token endpoint answers ID tokens this file signs with
// the fixture's key (or another), so each check of the callback can be made to fail on its own.
import { env } from "cloudflare:workers";
import { SignJWT, generateKeyPair, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { decryptText } from "../src/identity/sealing";
import { sweepSigninState } from "../src/identity/signin/codes";
import { Browser, ISSUER, b64url, formPostingTo, s256 } from "./browser";
import { PASSWORD, bearer, call, expectProblem, form, json, login, registerOrganization, type Account } from "./helpers";

const DB = (env as any).DB as D1Database;
const IDP = "https://sso.example";
const CONSOLE_CALLBACK = `${ISSUER}/console/callback`;
const PROVIDERS = "/v1/organizations/current/identity-providers";

let org: Account;
let other: Account;
let consoleClientId: string;
let otherConsoleClientId: string;
let provider: any;

async function consoleClientOf(token: string): Promise<string> {
  const res = await call("/v1/clients", bearer(token));
  return (await res.json<any>()).data.find((c: any) => c.first_party).client_id;
}

async function authorizeParams(clientId: string, extra: Record<string, string> = {}) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  return {
    verifier,
    params: {
      response_type: "code",
      client_id: clientId,
      redirect_uri: CONSOLE_CALLBACK,
      scope: "openid profile email read write",
      state: `app-${crypto.randomUUID()}`,
      nonce: `n-${crypto.randomUUID()}`,
      code_challenge: await s256(verifier),
      code_challenge_method: "S256",
      ...extra,
    },
  };
}

/** Opens the login page for `email` (home realm discovery) and presses "Continue with <provider>": the upstream authorization URL. */
async function startSso(browser: Browser, clientId: string, email: string, extra: Record<string, string> = {}) {
  // idp_hint as well: an email of a domain the provider does not sign in is offered it too, to show the callback refuses it.
  const { verifier, params } = await authorizeParams(clientId, { login_hint: email, idp_hint: provider.id, ...extra });
  const page = await browser.get(`/v1/auth/authorize?${new URLSearchParams(params)}`);
  const html = await page.text();
  expect(page.status, html).toBe(200);
  expect(html).toContain("Continue with Corp IdP");
  const res = await browser.post("/v1/auth/federation/start", formPostingTo(html, "/v1/auth/federation/start"));
  expect(res.status, await res.clone().text()).toBe(303);
  return { upstream: new URL(res.headers.get("location")!), verifier, params };
}

async function idToken(claims: Record<string, unknown>, opts: { key?: CryptoKey; iss?: string; aud?: string; exp?: number | string } = {}) {
  const key = opts.key ?? (await importJWK(JSON.parse((env as any).IDP_PRIVATE_JWK), "ES256"));
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "idp-key-1" })
    .setIssuer(opts.iss ?? IDP)
    .setAudience(opts.aud ?? "corp-client")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "5m")
    .sign(key as any);
}

/** Queues the provider's next token answer. */
async function upstreamAnswers(id_token: string) {
  const res = await fetch(`${IDP}/_next`, {
    method: "POST",
    body: JSON.stringify({ status: 200, body: { access_token: "upstream-at", token_type: "Bearer", id_token } }),
  });
  expect(res.status).toBe(204);
}

/** The whole upstream leg: the provider signs in `claims.sub` and sends the browser back with a code. */
async function completeSso(
  browser: Browser,
  clientId: string,
  email: string,
  claims: Record<string, unknown>,
  opts: Parameters<typeof idToken>[1] & { nonce?: string } = {},
) {
  const started = await startSso(browser, clientId, email);
  const nonce = opts.nonce ?? started.upstream.searchParams.get("nonce")!;
  await upstreamAnswers(await idToken({ email, email_verified: true, nonce, ...claims }, opts));
  const state = started.upstream.searchParams.get("state")!;
  const res = await browser.get(`/v1/auth/federation/callback?${new URLSearchParams({ code: `code-${crypto.randomUUID()}`, state, iss: IDP })}`);
  return { res, ...started };
}

async function usersWithEmail(email: string): Promise<number> {
  return (await DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first<{ n: number }>())!.n;
}

beforeAll(async () => {
  org = await registerOrganization("SSO corp");
  other = await registerOrganization("SSO other");
  consoleClientId = await consoleClientOf(org.access_token);
  otherConsoleClientId = await consoleClientOf(other.access_token);
  const res = await call(
    PROVIDERS,
    bearer(
      org.access_token,
      json("POST", {
        name: "Corp IdP",
        issuer: IDP,
        client_id: "corp-client",
        client_secret: "s3cret with spaces & symbols",
        allowed_domains: ["corp.example", "Sub.Corp.Example"],
        role_mapping: { "buildly-editors": "editor" },
        default_role: "viewer",
        jit_provisioning: true,
      }),
    ),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  provider = await res.json();
});

describe("the identity providers API", () => {
  it("creates a provider: the secret sealed and never answered, the callback to register, domains normalized", async () => {
    expect(provider).toMatchObject({
      name: "Corp IdP",
      issuer: IDP,
      client_id: "corp-client",
      allowed_domains: ["corp.example", "sub.corp.example"],
      role_claim: "groups",
      role_mapping: { "buildly-editors": "editor" },
      default_role: "viewer",
      jit_provisioning: true,
      redirect_uri: `${ISSUER}/v1/auth/federation/callback`,
    });
    expect(JSON.stringify(provider)).not.toContain("s3cret");
    const row = await DB.prepare("SELECT client_secret_sealed FROM identity_providers WHERE id = ?")
      .bind(provider.id)
      .first<{ client_secret_sealed: string }>();
    expect(row!.client_secret_sealed).not.toContain("s3cret");
    expect(await decryptText((env as any).SIGNING_KEYS_SECRET, row!.client_secret_sealed)).toBe("s3cret with spaces & symbols");
    const listed = await (await call(PROVIDERS, bearer(org.access_token))).json<any>();
    expect(listed).toEqual({ data: [provider], next_cursor: null });
    expect(await (await call(`${PROVIDERS}/${provider.id}`, bearer(org.access_token))).json()).toEqual(provider);
    // Another organization does not see it.
    expect(await (await call(PROVIDERS, bearer(other.access_token))).json()).toEqual({ data: [], next_cursor: null });
    await expectProblem(await call(`${PROVIDERS}/${provider.id}`, bearer(other.access_token)), 404);
  });

  it("is for administrators only", async () => {
    const inv = await call(
      "/v1/users",
      bearer(org.access_token, json("POST", { email: `ed-${crypto.randomUUID()}@elsewhere.example`, name: "Ed", password: PASSWORD, roles: ["editor"] })),
    );
    expect(inv.status, await inv.clone().text()).toBe(201);
    const ed = await login((await inv.json<any>()).email);
    await expectProblem(await call(PROVIDERS, bearer(ed.access_token)), 403);
    await expectProblem(await call(PROVIDERS, bearer(ed.access_token, json("POST", {}))), 403);
    await expectProblem(await call("/v1/organizations/current/sso", bearer(ed.access_token, json("PUT", { require_sso: false }))), 403);
    await expectProblem(await call(PROVIDERS), 401);
  });

  it("refuses bad input: unknown fields and roles, non-https or private issuers, a discovery that names another issuer or is too large, a taken domain", async () => {
    const base = { name: "X", client_id: "x", client_secret: "y", allowed_domains: ["x.example"] };
    const post = (body: unknown) => call(PROVIDERS, bearer(other.access_token, json("POST", body)));
    await expectProblem(await post({ ...base, issuer: IDP, surprise: 1 }), 422);
    await expectProblem(await post({ ...base, issuer: IDP, allowed_domains: [] }), 422);
    await expectProblem(await post({ ...base, issuer: IDP, allowed_domains: ["not a domain"] }), 422);
    await expectProblem(await post({ ...base, issuer: IDP, role_mapping: { g: "no-such-role" } }), 422);
    for (const issuer of [
      "http://sso.example",
      "https://127.0.0.1",
      "https://localhost",
      "https://10.0.0.1",
      "https://idp.internal",
      "https://sso.example?x=1",
    ]) {
      await expectProblem(await post({ ...base, issuer }), 422);
    }
    const mixup = await expectProblem(await post({ ...base, issuer: "https://mixup.example" }), 422);
    expect(mixup.detail).toContain("names the issuer https://sso.example");
    const huge = await expectProblem(await post({ ...base, issuer: "https://huge.example" }), 422);
    expect(huge.detail).toContain("larger than");
    // corp.example belongs to the Corp IdP of the first organization: another provider of that organization may not claim it.
    const dup = await call(
      PROVIDERS,
      bearer(org.access_token, json("POST", { ...base, issuer: "https://sso.example/other", allowed_domains: ["corp.example"] })),
    );
    await expectProblem(dup, 409);
    const sameIssuer = await call(PROVIDERS, bearer(org.access_token, json("POST", { ...base, issuer: IDP })));
    await expectProblem(sameIssuer, 409);
    expect((await (await call(PROVIDERS, bearer(other.access_token))).json<any>()).data).toEqual([]);
  });

  it("updates (a new secret replaces the old, unsealed only by the gateway) and deletes, with audit events and no secret in them", async () => {
    const created = await call(
      PROVIDERS,
      bearer(other.access_token, json("POST", { name: "Temp", issuer: IDP, client_id: "t", client_secret: "first-secret", allowed_domains: ["temp.example"] })),
    );
    expect(created.status, await created.clone().text()).toBe(201);
    const p = await created.json<any>();
    const patched = await call(`${PROVIDERS}/${p.id}`, bearer(other.access_token, json("PATCH", { name: "Temp 2", client_secret: "second-secret" })));
    expect(patched.status, await patched.clone().text()).toBe(200);
    expect(await patched.json()).toMatchObject({ name: "Temp 2", client_id: "t" });
    const row = await DB.prepare("SELECT client_secret_sealed FROM identity_providers WHERE id = ?").bind(p.id).first<{ client_secret_sealed: string }>();
    expect(await decryptText((env as any).SIGNING_KEYS_SECRET, row!.client_secret_sealed)).toBe("second-secret");
    await expectProblem(await call(`${PROVIDERS}/${p.id}`, bearer(other.access_token, json("PATCH", {}))), 422);
    await expectProblem(await call(`${PROVIDERS}/${p.id}`, bearer(org.access_token, json("PATCH", { name: "hijack" }))), 404);
    expect((await call(`${PROVIDERS}/${p.id}`, bearer(other.access_token, { method: "DELETE" }))).status).toBe(204);
    await expectProblem(await call(`${PROVIDERS}/${p.id}`, bearer(other.access_token)), 404);
    const events = await DB.prepare("SELECT type, data FROM outbox WHERE subject = ? ORDER BY seq").bind(p.id).all<{ type: string; data: string }>();
    expect(events.results.map((e) => e.type)).toEqual([
      "identity.identity_provider.created",
      "identity.identity_provider.updated",
      "identity.identity_provider.deleted",
    ]);
    for (const e of events.results) expect(e.data).not.toMatch(/secret"|first-secret|second-secret|client_secret_sealed/);
    expect(JSON.parse(events.results[1]!.data)).toMatchObject({ name: "Temp 2", client_secret_changed: true });
  });
});

describe("federated sign-in", () => {
  it("offers the provider by the email's domain (home realm discovery) or idp_hint, and not otherwise", async () => {
    const b = new Browser();
    const { params } = await authorizeParams(consoleClientId);
    const plain = await (await b.get(`/v1/auth/authorize?${new URLSearchParams(params)}`)).text();
    expect(plain).not.toContain("Continue with");
    const hinted = await b.get(`/v1/auth/authorize?${new URLSearchParams({ ...params, idp_hint: provider.id })}`);
    const html = await hinted.text();
    expect(html).toContain("Continue with Corp IdP");
    // The page's CSP lets its form go on to the provider (form-action covers redirects).
    expect(hinted.headers.get("content-security-policy")).toContain("form-action 'self' https://gateway.example https://sso.example");
    // An email alone, posted to the login form, shows the provider its domain belongs to.
    const typed = await b.post("/v1/auth/authorize", {
      ...formPostingTo(plain, "/v1/auth/authorize"),
      action: "login",
      email: "Someone@SUB.corp.example",
      password: "",
    });
    expect(await typed.text()).toContain("Continue with Corp IdP");
    // The other organization's app does not offer it, even when hinted.
    const { params: otherParams } = await authorizeParams(otherConsoleClientId, { login_hint: "x@corp.example", idp_hint: provider.id });
    expect(await (await b.get(`/v1/auth/authorize?${new URLSearchParams(otherParams)}`)).text()).not.toContain("Continue with");
  });

  it("provisions a new user just in time with the mapped role, sends them back to the app with a code, and knows them next time by iss + sub", async () => {
    const email = `jit-${crypto.randomUUID()}@corp.example`;
    const sub = `upstream-${crypto.randomUUID()}`;
    const b = new Browser();
    const { res, upstream, verifier, params } = await completeSso(b, consoleClientId, email, { sub, name: "Jit User", groups: ["staff", "buildly-editors"] });
    expect(res.status, await res.clone().text()).toBe(302);
    // The upstream leg was code + PKCE S256, with our callback, and the client authenticated with its (unsealed) secret.
    expect(Object.fromEntries(upstream.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "corp-client",
      redirect_uri: `${ISSUER}/v1/auth/federation/callback`,
      code_challenge_method: "S256",
      scope: "openid email profile",
      login_hint: email,
    });
    const last = await (await fetch(`${IDP}/_last`)).json<any>();
    expect(await s256(last.form.code_verifier)).toBe(upstream.searchParams.get("code_challenge"));
    expect(last.form).toMatchObject({ grant_type: "authorization_code", redirect_uri: `${ISSUER}/v1/auth/federation/callback` });
    expect(atob(last.authorization.replace("Basic ", ""))).toBe(`corp-client:${encodeURIComponent("s3cret with spaces & symbols")}`);
    const back = new URL(res.headers.get("location")!);
    expect(back.origin + back.pathname).toBe(CONSOLE_CALLBACK);
    expect(back.searchParams.get("state")).toBe(params.state);
    const tokens = await call(
      "/v1/auth/token",
      form({
        grant_type: "authorization_code",
        code: back.searchParams.get("code")!,
        redirect_uri: CONSOLE_CALLBACK,
        code_verifier: verifier,
        client_id: consoleClientId,
      }),
    );
    expect(tokens.status, await tokens.clone().text()).toBe(200);
    const t = await tokens.json<any>();
    const idClaims = JSON.parse(atob(t.id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(idClaims.amr).toEqual(["fed"]);
    const me = await (await call("/v1/auth/me", bearer(t.access_token))).json<any>();
    expect(me).toMatchObject({ user: { email, name: "Jit User" }, roles: ["editor"] });
    expect(me.organization.id).toBe(org.organization_id);
    // Next time the same upstream subject arrives under another email of an allowed domain: the same account, no new one.
    const again = await completeSso(new Browser(), consoleClientId, `renamed-${crypto.randomUUID()}@corp.example`, { sub, groups: [] });
    expect(again.res.status, await again.res.clone().text()).toBe(302);
    const users = await DB.prepare("SELECT count(*) AS n FROM federated_identities WHERE subject = ?").bind(sub).first<{ n: number }>();
    expect(users!.n).toBe(1);
    expect(await usersWithEmail(email)).toBe(1);
  });

  it("gives the default role when no claim value is mapped; a JIT user has no password to sign in with", async () => {
    const email = `default-${crypto.randomUUID()}@corp.example`;
    const { res } = await completeSso(new Browser(), consoleClientId, email, { sub: crypto.randomUUID() });
    expect(res.status, await res.clone().text()).toBe(302);
    const roles = await DB.prepare("SELECT r.name FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id WHERE u.email = ?")
      .bind(email)
      .all<{ name: string }>();
    expect(roles.results.map((r) => r.name)).toEqual(["viewer"]);
    const pw = await call("/v1/auth/token", form({ grant_type: "password", username: email, password: "sso$no-password" }));
    expect(pw.status).toBe(400);
  });
});

describe("federated sign-in refuses, with a page, and creates nothing", () => {
  async function refused(res: Response, text: RegExp, email: string) {
    const html = await res.text();
    expect(res.status, html).toBe(400);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(html).toMatch(text);
    expect(await usersWithEmail(email)).toBe(0);
  }
  const fresh = () => `victim-${crypto.randomUUID()}@corp.example`;

  it("a state that does not match this browser's cookie, a missing cookie, or a state used twice", async () => {
    const email = fresh();
    const a = new Browser();
    const started = await startSso(a, consoleClientId, email);
    const state = started.upstream.searchParams.get("state")!;
    await upstreamAnswers(await idToken({ sub: "s1", email, nonce: started.upstream.searchParams.get("nonce") }));
    // Another browser (a login CSRF: the attacker's state in the victim's browser) has no matching cookie.
    await refused(await new Browser().get(`/v1/auth/federation/callback?code=c&state=${state}`), /did not start in this browser/, email);
    // A state altered by one character (its first: a state that already began with "A" would be unchanged).
    await refused(
      await a.get(`/v1/auth/federation/callback?code=c&state=${state.startsWith("A") ? "B" : "A"}${state.slice(1)}`),
      /state does not match/,
      email,
    );
    // The state cookie is cleared by the first callback: retried with the right state, it is gone.
    const b = new Browser();
    const s2 = await startSso(b, consoleClientId, email);
    const cookie = b.cookies.get("__Host-buildly_federation")!;
    await upstreamAnswers(await idToken({ sub: "s1", email: fresh(), nonce: s2.upstream.searchParams.get("nonce") }, { aud: "someone-else" }));
    await b.get(`/v1/auth/federation/callback?code=c&state=${s2.upstream.searchParams.get("state")}`);
    b.cookies.set("__Host-buildly_federation", cookie);
    await refused(await b.get(`/v1/auth/federation/callback?code=c&state=${s2.upstream.searchParams.get("state")}`), /already used/, email);
  });

  it("an ID token with another nonce, audience, issuer, signature, or expired", async () => {
    const other = await generateKeyPair("ES256");
    const cases: [Parameters<typeof completeSso>[4], RegExp][] = [
      [{ nonce: "not-the-nonce" }, /nonce/],
      [{ aud: "another-client" }, /not for us \(aud/],
      [{ iss: "https://evil.example" }, /not for us \(iss/],
      [{ key: other.privateKey }, /signature could not be verified/],
      [{ exp: Math.floor(Date.now() / 1000) - 600 }, /expired/],
    ];
    for (const [opts, text] of cases) {
      const email = fresh();
      const { res } = await completeSso(new Browser(), consoleClientId, email, { sub: crypto.randomUUID(), groups: ["buildly-editors"] }, opts);
      await refused(res, text, email);
    }
  });

  it("an answer naming another issuer (RFC 9207), an upstream error, or no code", async () => {
    const email = fresh();
    for (const [query, text] of [
      [{ iss: "https://evil.example", code: "c" }, /another identity provider/],
      [{ error: "access_denied" }, /did not sign you in \(access_denied\)/],
      [{}, /sent no authorization code/],
    ] as const) {
      const b = new Browser();
      const { upstream } = await startSso(b, consoleClientId, email);
      await refused(await b.get(`/v1/auth/federation/callback?${new URLSearchParams({ ...query, state: upstream.searchParams.get("state")! })}`), text, email);
    }
  });

  it("an email of a domain the organization did not allow, or one the provider did not verify", async () => {
    const outsider = `someone-${crypto.randomUUID()}@gmail.example`;
    await refused((await completeSso(new Browser(), consoleClientId, outsider, { sub: crypto.randomUUID() })).res, /gmail\.example may not sign in/, outsider);
    const unverified = fresh();
    await refused(
      (await completeSso(new Browser(), consoleClientId, unverified, { sub: crypto.randomUUID(), email_verified: false })).res,
      /not verified/,
      unverified,
    );
  });

  it("an upstream identity whose email names an existing password account: never signed in by email, linked only with the account's password", async () => {
    const email = `member-${crypto.randomUUID()}@corp.example`;
    const created = await call("/v1/users", bearer(org.access_token, json("POST", { email, name: "Member", password: PASSWORD, roles: ["viewer"] })));
    expect(created.status).toBe(201);
    const sub = `attacker-${crypto.randomUUID()}`;
    const b = new Browser();
    const { res } = await completeSso(b, consoleClientId, email, { sub });
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(html).toContain("Enter its password once");
    expect(b.cookies.has("__Host-buildly_session")).toBe(false);
    const fields = formPostingTo(html, "/v1/auth/federation/link");
    // A wrong password: refused, not linked, no session.
    const wrong = await b.post("/v1/auth/federation/link", { ...fields, password: "not the password at all" });
    expect(wrong.status).toBe(400);
    expect(b.cookies.has("__Host-buildly_session")).toBe(false);
    // The link token from another browser (without its cookie) does nothing.
    const elsewhere = new Browser();
    elsewhere.cookies.set("__Host-buildly_csrf", b.cookies.get("__Host-buildly_csrf")!);
    expect((await elsewhere.post("/v1/auth/federation/link", { ...fields, password: PASSWORD })).status).toBe(400);
    const links = () => DB.prepare("SELECT count(*) AS n FROM federated_identities WHERE subject = ?").bind(sub).first<{ n: number }>();
    expect((await links())!.n).toBe(0);
    // The right password links the account, once, and signs in.
    const ok = await b.post("/v1/auth/federation/link", { ...fields, password: PASSWORD });
    expect(ok.status, await ok.clone().text()).toBe(302);
    expect((await links())!.n).toBe(1);
    expect((await b.post("/v1/auth/federation/link", { ...fields, password: PASSWORD })).status).toBe(400);
    // From now on the upstream identity signs in directly.
    expect((await completeSso(new Browser(), consoleClientId, email, { sub })).res.status).toBe(302);
    expect(await usersWithEmail(email)).toBe(1);
  });

  it("an email of an account of another organization: refused, not linked, not created", async () => {
    const email = `elsewhere-${crypto.randomUUID()}@corp.example`;
    const created = await call("/v1/users", bearer(other.access_token, json("POST", { email, name: "Other", password: PASSWORD, roles: ["admin"] })));
    expect(created.status).toBe(201);
    const { res } = await completeSso(new Browser(), consoleClientId, email, { sub: crypto.randomUUID() });
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(html).toContain("belongs to another organization");
    expect(await usersWithEmail(email)).toBe(1);
  });

  it("a second organization that did not connect the provider cannot be entered through it", async () => {
    const b = new Browser();
    const { params } = await authorizeParams(otherConsoleClientId);
    const html = await (await b.get(`/v1/auth/authorize?${new URLSearchParams(params)}`)).text();
    const fields = formPostingTo(html, "/v1/auth/authorize");
    // A hand-made start naming the first organization's provider for the second organization's app.
    const res = await b.post("/v1/auth/federation/start", { ...fields, provider: provider.id });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("not connected to the organization of this application");
    // A user the provider signed in to the first organization does not get into the second one's app with that session.
    const email = `jit-${crypto.randomUUID()}@corp.example`;
    const first = new Browser();
    expect((await completeSso(first, consoleClientId, email, { sub: crypto.randomUUID() })).res.status).toBe(302);
    const page = await first.get(`/v1/auth/authorize?${new URLSearchParams(params)}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("does not belong to the organization of this application");
  });

  it("just-in-time provisioning off, or no role for the user: refused", async () => {
    const off = await call(`${PROVIDERS}/${provider.id}`, bearer(org.access_token, json("PATCH", { jit_provisioning: false })));
    expect(off.status).toBe(200);
    const email = fresh();
    await refused((await completeSso(new Browser(), consoleClientId, email, { sub: crypto.randomUUID() })).res, /Ask an administrator to invite you/, email);
    await call(`${PROVIDERS}/${provider.id}`, bearer(org.access_token, json("PATCH", { jit_provisioning: true, default_role: null })));
    const roleless = fresh();
    await refused(
      (await completeSso(new Browser(), consoleClientId, roleless, { sub: crypto.randomUUID(), groups: ["unmapped"] })).res,
      /None of your groups/,
      roleless,
    );
    await call(`${PROVIDERS}/${provider.id}`, bearer(org.access_token, json("PATCH", { default_role: "viewer" })));
  });
});

describe("upstream states", () => {
  it("are swept a day after they expire by the daily cron", async () => {
    const insert = (id: string, expires: string) =>
      DB.prepare(
        "INSERT INTO federation_states (id, state_hash, provider_id, organization_id, nonce, code_verifier, request, expires_at, created_at) VALUES (?, ?, ?, ?, 'n', 'v', '{}', ?, ?)",
      )
        .bind(id, `hash-${id}`, provider.id, org.organization_id, expires, expires)
        .run();
    const old = crypto.randomUUID();
    const recent = crypto.randomUUID();
    await insert(old, new Date(Date.now() - 2 * 86_400_000).toISOString());
    await insert(recent, new Date(Date.now() - 60_000).toISOString());
    await sweepSigninState(DB);
    const left = await DB.prepare("SELECT id FROM federation_states WHERE id IN (?, ?)").bind(old, recent).all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([recent]);
  });
});

describe("require SSO", () => {
  it("needs a provider, refuses members' passwords on the login page and the password grant, and keeps the admins' (break-glass, audited)", async () => {
    await expectProblem(await call("/v1/organizations/current/sso", bearer(other.access_token, json("PUT", { require_sso: true }))), 422);
    const email = `member-${crypto.randomUUID()}@corp.example`;
    expect((await call("/v1/users", bearer(org.access_token, json("POST", { email, name: "M", password: PASSWORD, roles: ["editor"] })))).status).toBe(201);
    const put = await call("/v1/organizations/current/sso", bearer(org.access_token, json("PUT", { require_sso: true })));
    expect(put.status, await put.clone().text()).toBe(200);
    expect(await (await call("/v1/organizations/current/sso", bearer(org.access_token))).json()).toEqual({ require_sso: true });
    // The last provider cannot go while SSO is required.
    await expectProblem(await call(`${PROVIDERS}/${provider.id}`, bearer(org.access_token, { method: "DELETE" })), 409);

    const grant = await call("/v1/auth/token", form({ grant_type: "password", username: email, password: PASSWORD }));
    expect(grant.status).toBe(400);
    expect(await grant.json()).toMatchObject({ error: "invalid_grant", error_description: expect.stringContaining("identity provider only") });
    const b = new Browser();
    const { params } = await authorizeParams(consoleClientId);
    const page = await b.get(`/v1/auth/authorize?${new URLSearchParams(params)}`);
    const html = await page.text();
    // Every provider is offered when SSO is required.
    expect(html).toContain("Continue with Corp IdP");
    const post = await b.post("/v1/auth/authorize", { ...formPostingTo(html, "/v1/auth/authorize"), action: "login", email, password: PASSWORD });
    expect(post.status).toBe(400);
    expect(await post.text()).toContain("identity provider only");
    expect(b.cookies.has("__Host-buildly_session")).toBe(false);

    // The admin's password still works: the break-glass path, marked in the audit trail.
    await login(org.email);
    const event = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.login.succeeded' AND subject = ? ORDER BY seq DESC LIMIT 1")
      .bind(org.user_id)
      .first<{ data: string }>();
    expect(JSON.parse(event!.data)).toMatchObject({ break_glass: true });
    // SSO still signs members in.
    expect((await completeSso(new Browser(), consoleClientId, `sso-${crypto.randomUUID()}@corp.example`, { sub: crypto.randomUUID() })).res.status).toBe(302);

    expect((await call("/v1/organizations/current/sso", bearer(org.access_token, json("PUT", { require_sso: false })))).status).toBe(200);
    expect((await call("/v1/auth/token", form({ grant_type: "password", username: email, password: PASSWORD }))).status).toBe(200);
    const types = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.organization.sso_policy_changed' AND organization_id = ? ORDER BY seq")
      .bind(org.organization_id)
      .all<{ data: string }>();
    expect(types.results.map((r) => JSON.parse(r.data).require_sso)).toEqual([true, false]);
  });
});

describe("TRUSTED_ISSUERS bearer tokens under an organization's single sign-on rules", () => {
  // https://idp.example is a trusted issuer (vitest.config.ts: audience buildly, organization claim tenant, roles claim groups).
  let corp: Account;
  let idp: any;
  const bearerToken = async (claims: Record<string, unknown>, sub: string) => {
    const key = await importJWK(JSON.parse((env as any).IDP_PRIVATE_JWK), "ES256");
    return new SignJWT({ tenant: corp.organization_id, scope: "read write", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "idp-key-1" })
      .setIssuer("https://idp.example")
      .setAudience("buildly")
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);
  };
  const rolesOf = async (token: string) => {
    const res = await call("/v1/auth/me", bearer(token));
    return res.status === 200 ? (await res.json<any>()).roles : res.status;
  };

  beforeAll(async () => {
    corp = await registerOrganization("Trusted issuer corp");
    const res = await call(
      PROVIDERS,
      bearer(
        corp.access_token,
        json("POST", {
          name: "Corp API IdP",
          issuer: "https://idp.example",
          client_id: "buildly",
          client_secret: "x",
          allowed_domains: ["corp.example"],
          role_mapping: { readers: "viewer" },
          jit_provisioning: false,
        }),
      ),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    idp = await res.json();
  });

  it("roles come from the provider's mapping, never from the token's raw roles claim", async () => {
    expect(await rolesOf(await bearerToken({ groups: ["admin", "readers"] }, "api-user-1"))).toEqual(["viewer"]);
    expect(await rolesOf(await bearerToken({ groups: ["admin"] }, "api-user-2"))).toEqual([]);
    // An admin-only route stays closed to a raw "admin" group.
    await expectProblem(await call(PROVIDERS, bearer(await bearerToken({ groups: ["admin"] }, "api-user-2"))), 403);
  });

  it("an email of a domain the organization did not allow, or unverified, is refused", async () => {
    expect(await rolesOf(await bearerToken({ groups: ["readers"], email: "x@gmail.example" }, "api-user-3"))).toBe(401);
    expect(await rolesOf(await bearerToken({ groups: ["readers"], email: "x@corp.example", email_verified: false }, "api-user-3"))).toBe(401);
    expect(await rolesOf(await bearerToken({ groups: ["readers"], email: "x@corp.example" }, "api-user-3"))).toEqual(["viewer"]);
  });

  it("a linked upstream identity acts as its account: its roles and status now, its scope checked", async () => {
    const email = `linked-${crypto.randomUUID()}@corp.example`;
    const created = await call("/v1/users", bearer(corp.access_token, json("POST", { email, name: "Linked", password: PASSWORD, roles: ["editor"] })));
    const user = await created.json<any>();
    await DB.prepare(
      "INSERT INTO federated_identities (provider_id, subject, issuer, organization_id, user_id, email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
      .bind(idp.id, "linked-sub", "https://idp.example", corp.organization_id, user.id, email, new Date().toISOString())
      .run();
    const token = await bearerToken({ groups: ["admin"] }, "linked-sub");
    const me = await (await call("/v1/auth/me", bearer(token))).json<any>();
    expect(me).toMatchObject({ user: { id: user.id, email }, roles: ["editor"] });
    const readOnly = await bearerToken({ scope: "read" }, "linked-sub");
    const write = await call("/v1/crm/contacts", bearer(readOnly, json("POST", { name: "Nope" })));
    expect(write.status).toBe(403);
    expect((await call(`/v1/users/${user.id}`, bearer(corp.access_token, json("PATCH", { status: "deactivated" })))).status).toBe(200);
    expect((await call("/v1/auth/me", bearer(await bearerToken({}, "linked-sub")))).status).toBe(401);
  });
});
