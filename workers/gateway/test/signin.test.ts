// Sign-in (issue 18): the authorization code flow with PKCE, the hosted login page, OpenID
// Connect, and the attacks the issue lists, each refused.
import { env } from "cloudflare:workers";
import { SignJWT, createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { sweepSigninState } from "../src/identity/signin/codes";
import { Browser, ISSUER, formFields, pkce } from "./browser";
import { PASSWORD, bearer, call, form, json, registerOrganization, type Account } from "./helpers";

const DB = (env as any).DB as D1Database;
const REDIRECT = "https://app.example.com/callback";
const LOGOUT_TO = "https://app.example.com/bye";

let org: Account;
let spa: { client_id: string };
let other: Account;

async function createClient(token: string, body: Record<string, unknown>) {
  const res = await call("/v1/clients", bearer(token, json("POST", body)));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<any>();
}

function authorizeUrl(p: Record<string, string | undefined>) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined) q.set(k, v);
  return `/v1/auth/authorize?${q}`;
}

async function authParams(client_id: string, extra: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = await pkce();
  return {
    verifier,
    params: {
      response_type: "code",
      client_id,
      redirect_uri: REDIRECT,
      scope: "openid profile email offline_access read write",
      state: `st-${crypto.randomUUID()}`,
      nonce: `n-${crypto.randomUUID()}`,
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...extra,
    } as Record<string, string>,
  };
}

/** Signs in on the login page and allows the consent; returns the redirect's URL. */
async function signIn(browser: Browser, params: Record<string, string>, email = org.email): Promise<URL> {
  let res = await browser.get(authorizeUrl(params));
  if (res.status === 200) {
    const html = await res.text();
    if (html.includes('name="password"')) {
      res = await browser.post("/v1/auth/authorize", { ...formFields(html), email, password: PASSWORD });
    } else res = new Response(html, { status: 200 });
  }
  if (res.status === 200) {
    const html = await res.text();
    expect(html, html).toContain('value="allow"');
    res = await browser.post("/v1/auth/authorize", { ...formFields(html, "allow"), action: "allow" });
  }
  expect([302, 303], await res.clone().text()).toContain(res.status);
  return new URL(res.headers.get("location")!);
}

function exchange(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return call("/v1/auth/token", form({ grant_type: "authorization_code", ...fields }, headers));
}

beforeAll(async () => {
  org = await registerOrganization("Sign-in tests");
  other = await registerOrganization("Another org");
  spa = await createClient(org.access_token, {
    name: "Planner <SPA>",
    client_type: "public",
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [REDIRECT, "http://127.0.0.1/cb"],
    post_logout_redirect_uris: [LOGOUT_TO],
  });
});

describe("authorization code + PKCE, end to end in workerd", () => {
  it("login page -> consent -> code (with state and iss) -> tokens: ID token, RFC 9068 access token, refresh rotation, userinfo", async () => {
    const browser = new Browser();
    const { verifier, params } = await authParams(spa.client_id);
    const page = await browser.get(authorizeUrl(params));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<label for="email">');
    expect(html).toContain("Planner &#60;SPA&#62;");
    expect(html).not.toContain("<SPA>");
    const location = await signIn(new Browser(), params);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get("state")).toBe(params.state);
    expect(location.searchParams.get("iss")).toBe(ISSUER);
    const res = await exchange({ code: location.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.client_id });
    expect(res.status, await res.clone().text()).toBe(200);
    const tokens = await res.json<any>();
    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "openid profile email offline_access read write" });
    const jwks = createLocalJWKSet(await (await call("/.well-known/jwks.json")).json<any>());
    const id = await jwtVerify(tokens.id_token, jwks, { issuer: ISSUER, audience: spa.client_id, algorithms: ["ES256"] });
    expect(id.payload).toMatchObject({ sub: org.user_id, nonce: params.nonce, amr: ["pwd"] });
    for (const claim of ["iat", "exp", "auth_time", "acr"]) expect(id.payload[claim], claim).toBeDefined();
    const at = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: "buildly-api", typ: "at+jwt" });
    expect(at.payload).toMatchObject({ sub: org.user_id, client_id: spa.client_id });
    expect(typeof at.payload.jti).toBe("string");
    // A user's token through an app: a user, not the client.
    const me = await (await call("/v1/auth/me", bearer(tokens.access_token))).json<any>();
    expect(me.kind).toBe("user");
    const info = await call("/v1/auth/userinfo", bearer(tokens.access_token));
    expect(await info.json<any>()).toMatchObject({ sub: org.user_id, email: org.email, name: "Admin", org: org.organization_id });
    // Public client: refresh by client_id, rotated; the old one again revokes the family.
    const r1 = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: spa.client_id }));
    expect(r1.status, await r1.clone().text()).toBe(200);
    const rotated = await r1.json<any>();
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(rotated.access_token).client_id).toBe(spa.client_id);
    const reuse = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: spa.client_id }));
    expect((await reuse.json<any>()).error).toBe("invalid_grant");
    const after = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: rotated.refresh_token, client_id: spa.client_id }));
    expect(after.status).toBe(400);
  });

  it("a second authorization with the session cookie is one redirect (no login page), and the sign-in made an audit event with its method", async () => {
    const browser = new Browser();
    const { params } = await authParams(spa.client_id);
    await signIn(browser, params);
    const again = await browser.get(authorizeUrl((await authParams(spa.client_id)).params));
    expect(again.status).toBe(302);
    expect(new URL(again.headers.get("location")!).searchParams.get("code")).toBeTruthy();
    const events = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.login.succeeded' AND subject = ? ORDER BY seq DESC LIMIT 5")
      .bind(org.user_id)
      .all<any>();
    const data = events.results.map((r) => JSON.parse(r.data));
    expect(data).toContainEqual(expect.objectContaining({ method: "password", grant_type: "authorization_code", client_id: spa.client_id }));
  });

  it("the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ and rotated at every sign-in (session fixation)", async () => {
    // The attacker's own valid session, planted in the victim's browser.
    const attacker = new Browser();
    await signIn(attacker, (await authParams(spa.client_id)).params);
    const planted = attacker.cookies.get("__Host-buildly_session")!;
    expect(planted).toBeTruthy();
    const set = attacker.setCookies.find((c) => c.startsWith("__Host-buildly_session="))!;
    expect(set).toMatch(/; Path=\//);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Lax/);
    expect(set).toMatch(/; Secure/);
    expect(set).not.toMatch(/Domain=/i);

    const victim = new Browser();
    victim.cookies.set("__Host-buildly_session", planted);
    const { params } = await authParams(spa.client_id, { prompt: "login" });
    const loginPage = await victim.get(authorizeUrl(params));
    const html = await loginPage.text();
    expect(html).toContain('name="password"');
    await victim.post("/v1/auth/authorize", { ...formFields(html), email: org.email, password: PASSWORD });
    const now = victim.cookies.get("__Host-buildly_session");
    expect(now).toBeTruthy();
    expect(now).not.toBe(planted);
    // The planted session is revoked: whoever holds it is signed out.
    const stale = await attacker.get(authorizeUrl((await authParams(spa.client_id)).params));
    expect(stale.status).toBe(200);
    expect(await stale.text()).toContain('name="password"');
  });

  it("a confidential client exchanges with its secret (Basic), and without it is invalid_client", async () => {
    const web = await createClient(org.access_token, {
      name: "Server-side app",
      client_type: "confidential",
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: [REDIRECT],
    });
    expect(web.client_secret).toBeTruthy();
    const browser = new Browser();
    const { verifier, params } = await authParams(web.client_id);
    const loc = await signIn(browser, params);
    const code = loc.searchParams.get("code")!;
    const bare = await exchange({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: web.client_id });
    expect(bare.status).toBe(401);
    expect((await bare.json<any>()).error).toBe("invalid_client");
    // The code was not spent by the refused request (client authentication comes first).
    const ok = await exchange(
      { code, redirect_uri: REDIRECT, code_verifier: verifier },
      { authorization: `Basic ${btoa(`${web.client_id}:${web.client_secret}`)}` },
    );
    expect(ok.status, await ok.clone().text()).toBe(200);
  });

  it("private_key_jwt: a signed assertion authenticates once; the same assertion again is invalid_client", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const app = await createClient(org.access_token, {
      name: "Key app",
      client_type: "confidential",
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [jwk] },
      grant_types: ["authorization_code"],
      redirect_uris: [REDIRECT],
    });
    expect(app.client_secret).toBeUndefined();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(app.client_id)
      .setSubject(app.client_id)
      .setAudience(`${ISSUER}/v1/auth/token`)
      .setIssuedAt()
      .setExpirationTime("2m")
      .setJti(crypto.randomUUID())
      .sign(privateKey);
    const { verifier, params } = await authParams(app.client_id);
    const loc = await signIn(new Browser(), params);
    const creds = { client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion };
    const ok = await exchange({ code: loc.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier, ...creds });
    expect(ok.status, await ok.clone().text()).toBe(200);
    const { verifier: v2, params: p2 } = await authParams(app.client_id);
    const loc2 = await signIn(new Browser(), p2);
    const replayed = await exchange({ code: loc2.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: v2, ...creds });
    expect(replayed.status).toBe(401);
    expect((await replayed.json<any>()).error).toBe("invalid_client");
  });
});

describe("attacks", () => {
  it("open redirect: an unregistered redirect_uri (any variant) is an error page, never a redirect", async () => {
    const variants = [
      "https://evil.example/callback",
      `${REDIRECT}/evil`,
      `${REDIRECT}?x=1`,
      `${REDIRECT}#frag`,
      "https://app.example.com.evil.example/callback",
      "https://APP.example.com/callback",
      "https://app.example.com/callback/",
      "https://app.example.com/%63allback",
      "https://user@app.example.com/callback",
      "http://app.example.com/callback",
      " https://app.example.com/callback",
      "//evil.example/callback",
      "http://127.0.0.1:5000/other",
      "http://localhost:5000/cb",
    ];
    for (const redirect_uri of variants) {
      const { params } = await authParams(spa.client_id, { redirect_uri });
      const res = await call(authorizeUrl(params), { redirect: "manual" });
      expect(res.status, redirect_uri).toBe(400);
      expect(res.headers.get("location"), redirect_uri).toBeNull();
      expect(await res.text()).toContain("not one this application registered");
    }
    // Unknown client and missing redirect_uri: error pages too, even with a registered-looking URI.
    for (const p of [{ client_id: crypto.randomUUID() }, { redirect_uri: undefined }, { client_id: undefined }]) {
      const { params } = await authParams(spa.client_id, p as Record<string, string | undefined>);
      const res = await call(authorizeUrl(params), { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
    }
    // A repeated redirect_uri is refused rather than one picked.
    const { params } = await authParams(spa.client_id);
    const doubled = await call(`${authorizeUrl(params)}&redirect_uri=${encodeURIComponent("https://evil.example/")}`, { redirect: "manual" });
    expect(doubled.status).toBe(400);
    expect(doubled.headers.get("location")).toBeNull();
  });

  it("RFC 8252: a registered loopback IP redirect matches on any port, with the same path", async () => {
    const { verifier, params } = await authParams(spa.client_id, { redirect_uri: "http://127.0.0.1:61234/cb" });
    const loc = await signIn(new Browser(), params);
    expect(loc.origin).toBe("http://127.0.0.1:61234");
    const ok = await exchange({
      code: loc.searchParams.get("code")!,
      redirect_uri: "http://127.0.0.1:61234/cb",
      code_verifier: verifier,
      client_id: spa.client_id,
    });
    expect(ok.status).toBe(200);
  });

  it("PKCE downgrade: no challenge, plain, or a malformed challenge goes back as invalid_request (with state and iss); no or a wrong verifier is invalid_grant", async () => {
    for (const extra of [
      { code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge_method: "plain" },
      { code_challenge_method: undefined },
      { code_challenge: "short" },
    ]) {
      const { params } = await authParams(spa.client_id, extra as Record<string, string | undefined>);
      const res = await call(authorizeUrl(params), { redirect: "manual" });
      expect(res.status, JSON.stringify(extra)).toBe(302);
      const loc = new URL(res.headers.get("location")!);
      expect(loc.searchParams.get("error")).toBe("invalid_request");
      expect(loc.searchParams.get("state")).toBe(params.state);
      expect(loc.searchParams.get("iss")).toBe(ISSUER);
      expect(loc.searchParams.get("code")).toBeNull();
    }
    for (const verifier of [undefined, "x".repeat(43), "short"]) {
      const { params } = await authParams(spa.client_id);
      const loc = await signIn(new Browser(), params);
      const res = await exchange({
        code: loc.searchParams.get("code")!,
        redirect_uri: REDIRECT,
        client_id: spa.client_id,
        ...(verifier ? { code_verifier: verifier } : {}),
      });
      expect(res.status).toBe(400);
      expect((await res.json<any>()).error).toBe(verifier ? "invalid_grant" : "invalid_request");
    }
  });

  it("mix-up: every response to the client names the issuer (iss), success and error alike", async () => {
    const { params } = await authParams(spa.client_id, { scope: "openid nonsense" });
    const res = await call(authorizeUrl(params), { redirect: "manual" });
    const loc = new URL(res.headers.get("location")!);
    expect(loc.searchParams.get("error")).toBe("invalid_scope");
    expect(loc.searchParams.get("iss")).toBe(ISSUER);
    const none = await call(authorizeUrl((await authParams(spa.client_id, { prompt: "none" })).params), { redirect: "manual" });
    const nl = new URL(none.headers.get("location")!);
    expect(nl.searchParams.get("error")).toBe("login_required");
    expect(nl.searchParams.get("iss")).toBe(ISSUER);
  });

  it("code injection: a code for another client, another redirect_uri or another verifier is refused; replay revokes what the first use issued", async () => {
    const otherSpa = await createClient(org.access_token, {
      name: "Other SPA",
      client_type: "public",
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: [REDIRECT],
    });
    const { verifier, params } = await authParams(spa.client_id);
    const code = (await signIn(new Browser(), params)).searchParams.get("code")!;
    const asOther = await exchange({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: otherSpa.client_id });
    expect((await asOther.json<any>()).error).toBe("invalid_grant");
    // Spent by the refused attempt: the real client's exchange now fails too (nothing was issued).
    const late = await exchange({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.client_id });
    expect((await late.json<any>()).error).toBe("invalid_grant");

    const second = await authParams(spa.client_id, { redirect_uri: "http://127.0.0.1:4000/cb" });
    const code2 = (await signIn(new Browser(), second.params)).searchParams.get("code")!;
    const wrongUri = await exchange({ code: code2, redirect_uri: "http://127.0.0.1:4001/cb", code_verifier: second.verifier, client_id: spa.client_id });
    expect((await wrongUri.json<any>()).error).toBe("invalid_grant");

    // Replay after a successful exchange: refused, and the access and refresh tokens of the first use stop working.
    const third = await authParams(spa.client_id);
    const code3 = (await signIn(new Browser(), third.params)).searchParams.get("code")!;
    const first = await (await exchange({ code: code3, redirect_uri: REDIRECT, code_verifier: third.verifier, client_id: spa.client_id })).json<any>();
    expect((await call("/v1/crm/contacts", bearer(first.access_token))).status).toBe(200);
    const replay = await exchange({ code: code3, redirect_uri: REDIRECT, code_verifier: third.verifier, client_id: spa.client_id });
    expect((await replay.json<any>()).error).toBe("invalid_grant");
    expect((await call("/v1/crm/contacts", bearer(first.access_token))).status).toBe(401);
    const refreshed = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: first.refresh_token, client_id: spa.client_id }));
    expect((await refreshed.json<any>()).error).toBe("invalid_grant");
  });

  it("codes expire after 60 s", async () => {
    const { verifier, params } = await authParams(spa.client_id);
    const code = (await signIn(new Browser(), params)).searchParams.get("code")!;
    const row = await DB.prepare("SELECT created_at, expires_at FROM authorization_codes ORDER BY created_at DESC LIMIT 1").first<any>();
    expect(Date.parse(row.expires_at) - Date.parse(row.created_at)).toBe(60_000);
    await DB.prepare("UPDATE authorization_codes SET expires_at = ? WHERE used_at IS NULL")
      .bind(new Date(Date.now() - 1000).toISOString())
      .run();
    const res = await exchange({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.client_id });
    expect((await res.json<any>()).error).toBe("invalid_grant");
  });

  it("CSRF on login and consent: a form without the cookie's token, or from another origin, is refused and changes nothing", async () => {
    const browser = new Browser();
    const { params } = await authParams(spa.client_id);
    const html = await (await browser.get(authorizeUrl(params))).text();
    const fields = { ...formFields(html), email: org.email, password: PASSWORD };
    const cases: [Record<string, string>, Record<string, string>, boolean][] = [
      [{ ...fields, csrf: "" }, {}, true],
      [{ ...fields, csrf: "A".repeat(43) }, {}, true],
      [fields, { origin: "https://evil.example" }, true],
      [fields, { "sec-fetch-site": "cross-site" }, true],
      [fields, { origin: "null" }, true],
      [fields, { cookie: "" }, false],
    ];
    for (const [body, headers] of cases) {
      const res = await call("/v1/auth/authorize", {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: ISSUER, ...browser.header(), ...headers },
        body: new URLSearchParams(body).toString(),
      });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.headers.getSetCookie().some((c) => c.includes("buildly_session="))).toBe(false);
      expect(res.headers.get("location")).toBeNull();
    }
    // Consent: the allow button posted cross-site does not grant.
    const victim = new Browser();
    const third = await createClient(org.access_token, {
      name: "Consent target",
      client_type: "public",
      grant_types: ["authorization_code"],
      redirect_uris: [REDIRECT],
    });
    const p = (await authParams(third.client_id)).params;
    const login = await (await victim.get(authorizeUrl(p))).text();
    const consent = await (await victim.post("/v1/auth/authorize", { ...formFields(login), email: org.email, password: PASSWORD })).text();
    expect(consent).toContain('value="allow"');
    const forced = await victim.post(
      "/v1/auth/authorize",
      { ...formFields(consent, "allow"), action: "allow" },
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    );
    expect(forced.status).toBe(403);
    const granted = await DB.prepare("SELECT COUNT(*) AS n FROM consents WHERE client_id = ?").bind(third.client_id).first<any>();
    expect(granted.n).toBe(0);
    // Deny goes back as access_denied.
    const denied = await victim.post("/v1/auth/authorize", { ...formFields(consent, "allow"), action: "deny" });
    expect(new URL(denied.headers.get("location")!).searchParams.get("error")).toBe("access_denied");
  });

  it("clickjacking: every page forbids framing and script (CSP frame-ancestors 'none', X-Frame-Options DENY)", async () => {
    const { params } = await authParams(spa.client_id);
    const pages = [
      authorizeUrl(params),
      authorizeUrl({ ...params, client_id: crypto.randomUUID() }),
      "/v1/auth/logout",
      "/v1/auth/forgot-password",
      "/v1/auth/reset-password",
    ];
    for (const path of pages) {
      const res = await call(path);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("default-src 'none'");
      const html = await res.clone().text();
      if (path === pages[0]) {
        // The login page runs one script, the gateway's own passkey script, by nonce (issue 19): nothing inline, nothing from elsewhere.
        expect(csp, path).toMatch(/script-src 'nonce-[0-9a-f]{32}'; connect-src 'self';/);
        expect([...html.matchAll(/<script[^>]*>/g)].map((m) => m[0].replace(/nonce="[0-9a-f]+"/, "nonce"))).toEqual([
          '<script nonce src="/v1/auth/passkey.js" defer>',
        ]);
      } else {
        expect(csp, path).not.toContain("script-src");
        expect(html, path).not.toContain("<script");
      }
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      // Pages must not leak their URL to other sites, yet their own forms must carry a real Origin.
      expect(res.headers.get("referrer-policy"), path).toBe("same-origin");
      expect(res.headers.get("cache-control"), path).toContain("no-store");
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
    }
  });

  it("a user removed mid-session: the session, the refresh token and the access token all stop", async () => {
    const res = await call(
      "/v1/users",
      bearer(org.access_token, json("POST", { email: `m-${crypto.randomUUID()}@example.com`, name: "Member", password: PASSWORD, roles: ["viewer"] })),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    const member = await res.json<any>();
    const browser = new Browser();
    const { verifier, params } = await authParams(spa.client_id);
    const code = (await signIn(browser, params, member.email)).searchParams.get("code")!;
    const tokens = await (await exchange({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.client_id })).json<any>();
    const del = await call(`/v1/users/${member.id}`, bearer(org.access_token, { method: "DELETE" }));
    expect(del.status).toBe(204);
    const again = await browser.get(authorizeUrl((await authParams(spa.client_id)).params));
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('name="password"');
    expect((await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: spa.client_id }))).status).toBe(
      400,
    );
    expect((await call("/v1/auth/userinfo", bearer(tokens.access_token))).status).toBe(401);
  });

  it("another organization's account cannot sign in to this organization's app", async () => {
    const browser = new Browser();
    const { params } = await authParams(spa.client_id);
    const html = await (await browser.get(authorizeUrl(params))).text();
    const res = await browser.post("/v1/auth/authorize", { ...formFields(html), email: other.email, password: PASSWORD });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("does not belong to the organization");
    expect(browser.cookies.has("__Host-buildly_session")).toBe(false);
  });

  it("sessions end after their idle time and their absolute lifetime", async () => {
    for (const column of ["last_seen_at", "expires_at"]) {
      const browser = new Browser();
      await signIn(browser, (await authParams(spa.client_id)).params);
      await DB.prepare(`UPDATE login_sessions SET ${column} = ? WHERE revoked_at IS NULL AND user_id = ?`)
        .bind(new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString(), org.user_id)
        .run();
      const res = await browser.get(authorizeUrl((await authParams(spa.client_id)).params));
      expect(res.status, column).toBe(200);
      expect(await res.text()).toContain('name="password"');
    }
  });
});

describe("logout, discovery, clients, the password grant", () => {
  it("end_session: post_logout_redirect_uri matched exactly, never redirected otherwise; with the ID token the session ends", async () => {
    const browser = new Browser();
    const { verifier, params } = await authParams(spa.client_id);
    const code = (await signIn(browser, params)).searchParams.get("code")!;
    const tokens = await (await exchange({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.client_id })).json<any>();
    for (const uri of [`${LOGOUT_TO}/x`, "https://evil.example/bye", `${LOGOUT_TO}?a=1`]) {
      const res = await browser.get(`/v1/auth/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: uri })}`);
      expect(res.status, uri).toBe(400);
      expect(res.headers.get("location")).toBeNull();
    }
    // Without a hint: a confirmation page, nothing ended yet.
    const confirm = await browser.get(`/v1/auth/logout?${new URLSearchParams({ client_id: spa.client_id, post_logout_redirect_uri: LOGOUT_TO })}`);
    expect(await confirm.text()).toContain("Sign out?");
    const out = await browser.get(
      `/v1/auth/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: LOGOUT_TO, state: "s1" })}`,
    );
    expect(out.status).toBe(302);
    expect(out.headers.get("location")).toBe(`${LOGOUT_TO}?state=s1`);
    const after = await browser.get(authorizeUrl((await authParams(spa.client_id)).params));
    expect(await after.text()).toContain('name="password"');
  });

  it("the password grant refuses an unknown client_id (invalid_client) and a client not allowed the grant (unauthorized_client); without client_id it stays (legacy)", async () => {
    const unknown = await call("/v1/auth/token", form({ grant_type: "password", username: org.email, password: PASSWORD, client_id: "totally-made-up" }));
    expect(unknown.status).toBe(401);
    expect((await unknown.json<any>()).error).toBe("invalid_client");
    const notAllowed = await call("/v1/auth/token", form({ grant_type: "password", username: org.email, password: PASSWORD, client_id: spa.client_id }));
    expect((await notAllowed.json<any>()).error).toBe("unauthorized_client");
    const legacy = await call("/v1/auth/token", form({ grant_type: "password", username: org.email, password: PASSWORD }));
    expect(legacy.status).toBe(200);
    // Issued to the organization's console client: RFC 9068 client_id on every token.
    const claims = decodeJwt((await legacy.json<any>()).access_token);
    const listed = await (await call("/v1/clients?limit=100", bearer(org.access_token))).json<any>();
    const consoleClient = listed.data.find((c: any) => c.first_party);
    expect(consoleClient).toMatchObject({ client_type: "public", token_endpoint_auth_method: "none", first_party: true });
    expect(claims.client_id).toBe(consoleClient.client_id);
    expect((await call(`/v1/clients/${consoleClient.client_id}`, bearer(org.access_token, { method: "DELETE" }))).status).toBe(409);
  });

  it("the console client signs in without a consent screen", async () => {
    const listed = await (await call("/v1/clients?limit=100", bearer(org.access_token))).json<any>();
    const consoleId = listed.data.find((c: any) => c.first_party).client_id;
    const { params } = await authParams(consoleId, { redirect_uri: `${ISSUER}/console/callback` });
    const browser = new Browser();
    const html = await (await browser.get(authorizeUrl(params))).text();
    const res = await browser.post("/v1/auth/authorize", { ...formFields(html), email: org.email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get("location")!).searchParams.get("code")).toBeTruthy();
  });

  it("clients: validation of types, redirect URIs and grants (422)", async () => {
    for (const [body, path] of [
      [{ name: "x", client_type: "public", grant_types: ["authorization_code"] }, "redirect_uris"],
      [{ name: "x", client_type: "public", grant_types: ["authorization_code"], redirect_uris: ["https://a.example/cb#x"] }, "redirect_uris.0"],
      [{ name: "x", client_type: "public", grant_types: ["authorization_code"], redirect_uris: ["http://a.example/cb"] }, "redirect_uris.0"],
      [{ name: "x", client_type: "public", grant_types: ["authorization_code"], redirect_uris: ["javascript:alert(1)"] }, "redirect_uris.0"],
      [{ name: "x", client_type: "public", grant_types: ["client_credentials"], roles: ["viewer"] }, "grant_types"],
      [
        {
          name: "x",
          client_type: "confidential",
          token_endpoint_auth_method: "private_key_jwt",
          grant_types: ["authorization_code"],
          redirect_uris: [REDIRECT],
        },
        "jwks",
      ],
    ] as const) {
      const res = await call("/v1/clients", bearer(org.access_token, json("POST", body)));
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await res.json<any>()).errors.map((e: any) => e.path)).toContain(path);
    }
  });
});

describe("the daily sweep", () => {
  it("forgets codes 30 days past expiry and ended sessions, and keeps what may still be used", async () => {
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const fresh = new Date(Date.now() + 60_000).toISOString();
    const code = (id: string, expires: string) =>
      DB.prepare(
        "INSERT INTO authorization_codes (id, code_hash, client_id, user_id, organization_id, redirect_uri, code_challenge, scope, auth_time, amr, expires_at, created_at) VALUES (?, ?, 'c', 'u', 'o', 'r', 'x', 'openid', 0, '[]', ?, ?)",
      ).bind(id, `h-${id}`, expires, expires);
    const session = (id: string, expires: string) =>
      DB.prepare(
        "INSERT INTO login_sessions (id, token_hash, user_id, organization_id, amr, auth_time, created_at, last_seen_at, expires_at) VALUES (?, ?, 'u', 'o', '[]', 0, ?, ?, ?)",
      ).bind(id, `h-${id}`, expires, expires, expires);
    const ids = { oldCode: crypto.randomUUID(), newCode: crypto.randomUUID(), oldSession: crypto.randomUUID(), newSession: crypto.randomUUID() };
    await DB.batch([code(ids.oldCode, old), code(ids.newCode, fresh), session(ids.oldSession, old), session(ids.newSession, fresh)]);
    await sweepSigninState(DB);
    const left = async (table: string, id: string) => (await DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE id = ?`).bind(id).first<any>()).n;
    expect(await left("authorization_codes", ids.oldCode)).toBe(0);
    expect(await left("authorization_codes", ids.newCode)).toBe(1);
    expect(await left("login_sessions", ids.oldSession)).toBe(0);
    expect(await left("login_sessions", ids.newSession)).toBe(1);
  });
});
