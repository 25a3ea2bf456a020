import { env } from "cloudflare:workers";
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { decryptText } from "../src/identity/sealing";
import { rotateSigningKey } from "../src/identity/keys";
import { PASSWORD, bearer, call, form, json, login, mailTo, expectProblem, registerOrganization, type Account } from "./helpers";

const SECRET = (env as any).SIGNING_KEYS_SECRET as string;
const DB = (env as any).DB as D1Database;
const ISSUER = "https://gateway.example";

/** The active private key, read the way the gateway reads it, to forge tokens the gateway must refuse. */
async function activeKey() {
  const row = await DB.prepare("SELECT kid, private_jwk_encrypted FROM signing_keys WHERE status = 'active' ORDER BY created_at DESC").first<any>();
  const jwk = JSON.parse(await decryptText(SECRET, row.private_jwk_encrypted));
  return { kid: row.kid as string, key: await importJWK(jwk, "ES256") };
}

async function forge(claims: Record<string, unknown>, opts: { exp?: number; aud?: string; iss?: string; kid?: string; key?: CryptoKey | Uint8Array } = {}) {
  const signer = opts.key ? { kid: opts.kid ?? "unknown-kid", key: opts.key } : await activeKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: opts.kid ?? signer.kid })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? "buildly-api")
    .setIssuedAt(now - 10)
    .setExpirationTime(opts.exp ?? now + 600)
    .setJti(crypto.randomUUID())
    .sign(signer.key as any);
}

let a: Account;
beforeAll(async () => {
  a = await registerOrganization("Auth tests");
});

describe("registration", () => {
  it("creates an organization with the caller as admin and the three built-in roles", async () => {
    const me = await (await call("/v1/auth/me", bearer(a.access_token))).json<any>();
    expect(me.kind).toBe("user");
    expect(me.user).toMatchObject({ id: a.user_id, email: a.email, roles: ["admin"], status: "active" });
    expect(me.organization.id).toBe(a.organization_id);
    expect(me.permissions.crm).toEqual(["create", "read", "update", "delete"]);
    const roles = await DB.prepare("SELECT name FROM roles WHERE organization_id = ? ORDER BY name").bind(a.organization_id).all<any>();
    expect(roles.results.map((r) => r.name)).toEqual(["admin", "editor", "viewer"]);
  });

  it("treats email case-insensitively and refuses a duplicate with 409", async () => {
    const email = `Case-${crypto.randomUUID()}@Example.com`;
    const first = await call("/v1/auth/register", json("POST", { email, password: PASSWORD, name: "A", organization_name: "One" }));
    expect(first.status).toBe(201);
    const registered = await first.json<any>();
    expect(registered.user.email).toBe(email.toLowerCase());
    // The answer names the new organization's console client: the one first-party client it has.
    const clients = await (await call("/v1/clients?limit=100", bearer((await login(email)).access_token))).json<any>();
    expect(clients.data.filter((c: any) => c.first_party).map((c: any) => c.client_id)).toEqual([registered.console_client_id]);
    const dup = await call("/v1/auth/register", json("POST", { email: email.toUpperCase(), password: PASSWORD, name: "B", organization_name: "Two" }));
    expect(dup.status).toBe(409);
    await expectProblem(dup);
    expect((await login(email.toUpperCase())).access_token).toBeTruthy();
  });

  it("stores PBKDF2-SHA256 hashes at 100,000 iterations with a per-user salt", async () => {
    const rows = await DB.prepare("SELECT password_hash FROM users WHERE organization_id = ?").bind(a.organization_id).all<any>();
    const [scheme, iterations, salt, hash] = rows.results[0].password_hash.split("$");
    expect(scheme).toBe("pbkdf2-sha256");
    expect(iterations).toBe("100000");
    expect(salt.length).toBeGreaterThanOrEqual(20);
    expect(hash).not.toContain(PASSWORD);
    const other = await registerOrganization("Salt check");
    const row2 = await DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(other.user_id).first<any>();
    expect(row2.password_hash.split("$")[2]).not.toBe(salt);
  });

  it("validates input", async () => {
    const short = await call("/v1/auth/register", json("POST", { email: "x@example.com", password: "short", name: "A", organization_name: "O" }));
    expect(short.status).toBe(422);
    expect((await expectProblem(short)).errors.some((e: any) => e.path.includes("password"))).toBe(true);
    expect((await call("/v1/auth/register", json("POST", { email: "nope", password: PASSWORD, name: "A", organization_name: "O" }))).status).toBe(422);
  });
});

describe("token endpoint (RFC 6749)", () => {
  it("issues ES256 access tokens with the documented claims, form or JSON", async () => {
    const res = await call("/v1/auth/token", form({ grant_type: "password", username: a.email, password: PASSWORD }));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json<any>();
    // No scope asked for: every scope the password grant allows (see scopes.test.ts).
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 900, scope: "openid profile email offline_access read write" });
    expect(typeof body.refresh_token).toBe("string");
    const header = decodeProtectedHeader(body.access_token);
    expect(header.alg).toBe("ES256");
    expect(typeof header.kid).toBe("string");
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: "buildly-api", sub: a.user_id, org: a.organization_id, roles: ["admin"] });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(typeof claims.jti).toBe("string");

    const viaJson = await call("/v1/auth/token", json("POST", { grant_type: "password", username: a.email, password: PASSWORD }));
    expect(viaJson.status).toBe(200);
  });

  it("answers RFC 6749 5.2 errors", async () => {
    const cases: [RequestInit, number, string][] = [
      [form({ grant_type: "password", username: a.email, password: "wrong password!" }), 400, "invalid_grant"],
      [form({ grant_type: "magic" }), 400, "unsupported_grant_type"],
      [form({ username: a.email }), 400, "invalid_request"],
      [form({ grant_type: "refresh_token", refresh_token: "nope" }), 400, "invalid_grant"],
      [form({ grant_type: "client_credentials" }), 401, "invalid_client"],
      [form({ grant_type: "password", username: a.email, password: PASSWORD, scope: "admin:everything" }), 400, "invalid_scope"],
      [{ method: "POST", headers: { "content-type": "text/plain" }, body: "x" }, 400, "invalid_request"],
    ];
    for (const [init, status, error] of cases) {
      const res = await call("/v1/auth/token", init);
      expect(res.status, error).toBe(status);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = await res.json<any>();
      expect(body.error).toBe(error);
      expect(typeof body.error_description).toBe("string");
    }
  });

  it("answers an unknown email exactly like a wrong password", async () => {
    const acct = await registerOrganization("Enumeration");
    const wrong = await call("/v1/auth/token", form({ grant_type: "password", username: acct.email, password: "not the password" }));
    const unknown = await call(
      "/v1/auth/token",
      form({ grant_type: "password", username: `ghost-${crypto.randomUUID()}@example.com`, password: "not the password" }),
    );
    expect(wrong.status).toBe(unknown.status);
    const [w, u] = [await wrong.json<any>(), await unknown.json<any>()];
    expect(u).toEqual(w);
  });

  it("locks an account with 429 and Retry-After after repeated failures, even for the right password", async () => {
    const acct = await registerOrganization("Lockout");
    for (let i = 0; i < 3; i++) {
      expect((await call("/v1/auth/token", form({ grant_type: "password", username: acct.email, password: `bad password ${i}` }))).status).toBe(400);
    }
    const locked = await call("/v1/auth/token", form({ grant_type: "password", username: acct.email, password: PASSWORD }));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another account is not affected.
    expect((await login(a.email)).access_token).toBeTruthy();
  });

  it("rotates refresh tokens and revokes the family when an old one is replayed", async () => {
    const t1 = await login(a.email);
    const r2 = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: t1.refresh_token }));
    expect(r2.status).toBe(200);
    const t2 = await r2.json<any>();
    expect(t2.refresh_token).not.toBe(t1.refresh_token);
    expect((await call("/v1/auth/me", bearer(t2.access_token))).status).toBe(200);

    const replay = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: t1.refresh_token }));
    expect(replay.status).toBe(400);
    expect((await replay.json<any>()).error).toBe("invalid_grant");
    // The whole family is gone, including the token issued by the legitimate rotation.
    const after = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: t2.refresh_token }));
    expect(after.status).toBe(400);
    const stored = await DB.prepare("SELECT token_hash FROM refresh_tokens WHERE user_id = ?").bind(a.user_id).all<any>();
    for (const row of stored.results) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.results.some((r: any) => r.token_hash === t1.refresh_token)).toBe(false);
  });

  it("lets exactly one of two simultaneous refreshes of one token win", async () => {
    const t = await login(a.email);
    const results = await Promise.all([0, 1].map(() => call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: t.refresh_token }))));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
  });
});

describe("revocation (RFC 7009)", () => {
  it("revokes a refresh token, answers 200 for unknown tokens, and says access tokens are not revocable", async () => {
    const t = await login(a.email);
    const res = await call("/v1/auth/revoke", form({ token: t.refresh_token, token_type_hint: "refresh_token" }));
    expect(res.status).toBe(200);
    const refreshed = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: t.refresh_token }));
    expect(refreshed.status).toBe(400);
    expect((await call("/v1/auth/revoke", form({ token: "never-issued-token" }))).status).toBe(200);
    const access = await call("/v1/auth/revoke", form({ token: t.access_token }));
    expect(access.status).toBe(400);
    expect((await access.json<any>()).error).toBe("unsupported_token_type");
  });
});

describe("discovery and keys", () => {
  it("publishes OpenID configuration and a JWKS that verifies issued tokens", async () => {
    const conf = await (await call("/.well-known/openid-configuration")).json<any>();
    expect(conf).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      token_endpoint: `${ISSUER}/v1/auth/token`,
      revocation_endpoint: `${ISSUER}/v1/auth/revoke`,
      authorization_endpoint: `${ISSUER}/v1/auth/authorize`,
      userinfo_endpoint: `${ISSUER}/v1/auth/userinfo`,
      end_session_endpoint: `${ISSUER}/v1/auth/logout`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
    });
    expect(conf.grant_types_supported).toEqual(["authorization_code", "refresh_token", "client_credentials", "password"]);
    const jwks = await (await call("/.well-known/jwks.json")).json<any>();
    for (const k of jwks.keys) {
      expect(k.d).toBeUndefined();
      expect(k).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    }
    const t = await login(a.email);
    const { payload } = await jwtVerify(t.access_token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: "buildly-api" });
    expect(payload.sub).toBe(a.user_id);
  });

  it("keeps the old key published after a rotation, so earlier tokens stay valid", async () => {
    const before = await login(a.email);
    const oldKid = decodeProtectedHeader(before.access_token).kid;
    const newKid = await rotateSigningKey(DB, SECRET, 960);
    // Other isolates see the rotation within a minute; the gateway's own caches were reset by it.
    const jwks = await (await call("/.well-known/jwks.json")).json<any>();
    expect(jwks.keys.map((k: any) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect((await call("/v1/auth/me", bearer(before.access_token))).status).toBe(200);
    const after = await login(a.email);
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    const retired = await DB.prepare("SELECT status, publish_until FROM signing_keys WHERE kid = ?").bind(oldKid).first<any>();
    expect(retired.status).toBe("retired");
    expect(Date.parse(retired.publish_until)).toBeGreaterThan(Date.now() + 900_000);
  });
});

describe("bad tokens are refused with 401 and change nothing", () => {
  async function refusedAndHarmless(token: string, label: string) {
    const email = `forged-${crypto.randomUUID()}@example.com`;
    const res = await call("/v1/crm/contacts", bearer(token, json("POST", { first_name: "Eve", last_name: "Forger", email })));
    expect(res.status, label).toBe(401);
    expect(res.headers.get("www-authenticate"), label).toContain("Bearer");
    await expectProblem(res);
    const list = await (await call("/v1/crm/contacts?limit=100", bearer(a.access_token))).json<any>();
    expect(
      list.data.some((c: any) => c.email === email),
      label,
    ).toBe(false);
  }

  it("refuses a missing or malformed Authorization header", async () => {
    expect((await call("/v1/crm/contacts")).status).toBe(401);
    expect((await call("/v1/crm/contacts", { headers: { authorization: "Basic abc" } })).status).toBe(401);
    await refusedAndHarmless("not-a-jwt", "garbage");
  });

  it("refuses expired, tampered, unknown-key, wrong-audience, wrong-issuer, alg none and HMAC tokens", async () => {
    const base = { sub: a.user_id, org: a.organization_id, roles: ["admin"] };
    const now = Math.floor(Date.now() / 1000);
    await refusedAndHarmless(await forge(base, { exp: now - 120 }), "expired beyond the 60 s skew");

    const good = (await login(a.email)).access_token;
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    payload.org = crypto.randomUUID();
    const tampered = `${h}.${btoa(JSON.stringify(payload)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}.${s}`;
    await refusedAndHarmless(tampered, "tampered");

    const stranger = await generateKeyPair("ES256");
    await refusedAndHarmless(await forge(base, { key: stranger.privateKey, kid: "stranger-kid" }), "unknown key");
    await refusedAndHarmless(await forge(base, { aud: "another-api" }), "wrong audience");
    await refusedAndHarmless(await forge(base, { iss: "https://evil.example" }), "untrusted issuer");

    const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const claims = { ...base, iss: ISSUER, aud: "buildly-api", iat: now, exp: now + 600, jti: "x" };
    await refusedAndHarmless(`${enc({ alg: "none", typ: "JWT" })}.${enc(claims)}.`, "alg none");

    // The classic confusion: HS256 keyed with the published public key.
    const jwks = await (await call("/.well-known/jwks.json")).json<any>();
    const pubAsSecret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const hmac = await new SignJWT(base)
      .setProtectedHeader({ alg: "HS256", kid: jwks.keys[0].kid })
      .setIssuer(ISSUER)
      .setAudience("buildly-api")
      .setIssuedAt()
      .setExpirationTime("10m")
      .setJti("y")
      .sign(pubAsSecret);
    await refusedAndHarmless(hmac, "HS256 with the public key");
  });

  it("accepts a token that expired less than 60 s ago (clock skew)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forge({ sub: a.user_id, org: a.organization_id, roles: ["admin"] }, { exp: now - 20 });
    expect((await call("/v1/auth/me", bearer(token))).status).toBe(200);
  });
});

describe("permissions at the gateway", () => {
  it("checks the role's permission for the method on the target service before forwarding", async () => {
    // Real users with these roles: the roles come from the account, not from the token (role-freshness.test.ts).
    const userWith = async (roles: string[]) => {
      const email = `${roles[0]}-${crypto.randomUUID()}@example.com`;
      const res = await call("/v1/users", bearer(a.access_token, json("POST", { email, name: "R", password: PASSWORD, roles })));
      expect(res.status, await res.clone().text()).toBe(201);
      return (await login(email)).access_token;
    };
    const viewer = await userWith(["viewer"]);
    expect((await call("/v1/crm/contacts", bearer(viewer))).status).toBe(200);
    const post = await call("/v1/crm/contacts", bearer(viewer, json("POST", { first_name: "V", last_name: "V", email: "v@example.com" })));
    expect(post.status).toBe(403);
    await expectProblem(post);
    const editor = await userWith(["editor"]);
    const created = await call(
      "/v1/crm/contacts",
      bearer(editor, json("POST", { first_name: "E", last_name: "E", email: `e-${crypto.randomUUID()}@example.com` })),
    );
    expect(created.status).toBe(201);
    const id = (await created.json<any>()).id;
    expect((await call(`/v1/crm/contacts/${id}`, bearer(editor, { method: "DELETE" }))).status).toBe(403);
    expect((await call(`/v1/crm/contacts/${id}`, bearer(a.access_token, { method: "DELETE" }))).status).toBe(204);
    // A token claiming roles its account does not hold gets the account's roles, not the claim.
    const forged = await forge({ sub: a.user_id, org: a.organization_id, roles: ["no-such-role"], scope: "read write" });
    expect((await (await call("/v1/auth/me", bearer(forged))).json<any>()).roles).toEqual(["admin"]);
    const claimsAdmin = await forge({ sub: decodeJwt(viewer).sub as string, org: a.organization_id, roles: ["admin"], scope: "read write" });
    expect((await call("/v1/crm/contacts", bearer(claimsAdmin, json("POST", { first_name: "X", last_name: "X", email: "x@example.com" })))).status).toBe(403);
  });

  it("passes the verified identity to the service, never what the client claims", async () => {
    const res = await call("/v1/fixture/echo", bearer(a.access_token, { headers: { "x-organization-id": "forged" } }));
    const seen = await res.json<any>();
    expect(seen.context).toMatchObject({ user_id: a.user_id, organization_id: a.organization_id, roles: ["admin"], system: false });
    expect(seen.context.permissions.crm).toEqual(["create", "read", "update", "delete"]);
    expect(Object.keys(seen.headers)).not.toContain("x-buildly-identity-context");
  });

  it("a client's own identity-context header never reaches a service: the gateway sets that header on every call", async () => {
    const other = await registerOrganization("Claimed identity");
    const claim = {
      request_id: "claimed-0001",
      user_id: other.user_id,
      client_id: null,
      organization_id: other.organization_id,
      roles: ["admin"],
      permissions: { fixture: ["create", "read", "update", "delete"] },
      system: true,
    };
    const claimed = JSON.stringify(claim);
    const variants: [string, string][] = [
      ["x-buildly-identity-context", claimed],
      ["X-Buildly-Identity-Context", `  ${claimed}\t`],
      ["x-buildly-identity-context", "not json"],
    ];
    for (const [name, value] of variants) {
      for (const method of ["GET", "POST"]) {
        const headers = new Headers({ [name]: value, authorization: `Bearer ${a.access_token}` });
        // A second value: the header arrives as both, joined.
        if (method === "POST") headers.append(name, claimed);
        const res = await call("/v1/fixture/echo", { method, headers, body: method === "POST" ? "x" : undefined });
        expect(res.status, `${method} ${name}`).toBe(200);
        const seen = await res.json<any>();
        expect(seen.context).toMatchObject({ user_id: a.user_id, organization_id: a.organization_id, roles: ["admin"], system: false });
        expect(seen.context.request_id).not.toBe(claim.request_id);
      }
    }
  });
});

describe("passwords", () => {
  it("changes a password with the current one and signs out refresh tokens", async () => {
    const acct = await registerOrganization("Password change");
    const wrong = await call(
      "/v1/auth/password",
      bearer(acct.access_token, json("POST", { current_password: "nope nope nope", new_password: "a brand new password" })),
    );
    expect(wrong.status).toBe(400);
    const ok = await call("/v1/auth/password", bearer(acct.access_token, json("POST", { current_password: PASSWORD, new_password: "a brand new password" })));
    expect(ok.status).toBe(204);
    expect((await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: acct.refresh_token }))).status).toBe(400);
    expect((await login(acct.email, "a brand new password")).access_token).toBeTruthy();
  });

  it("resets a password through the outbox, with a single-use token, and answers 202 for anyone", async () => {
    const acct = await registerOrganization("Reset");
    expect((await call("/v1/auth/password-reset", json("POST", { email: `ghost-${crypto.randomUUID()}@example.com` }))).status).toBe(202);
    expect((await call("/v1/auth/password-reset", json("POST", { email: acct.email.toUpperCase() }))).status).toBe(202);
    // The mail is written after the answer (the answer must not depend on the account): wait for it.
    const token = /token within one hour to set a new password: (\S+)/.exec(await mailTo(DB, acct.email))![1]!;
    const confirm = await call("/v1/auth/password-reset/confirm", json("POST", { token, new_password: "reset password 123" }));
    expect(confirm.status).toBe(204);
    expect((await call("/v1/auth/password-reset/confirm", json("POST", { token, new_password: "another one 1234" }))).status).toBe(400);
    expect((await login(acct.email, "reset password 123")).access_token).toBeTruthy();
    expect((await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: acct.refresh_token }))).status).toBe(400);
  });
});

describe("deactivation and the gateway's own paths", () => {
  it("refuses a deactivated user's still-unexpired access token", async () => {
    const email = `leaver-${crypto.randomUUID()}@example.com`;
    const created = await call("/v1/users", bearer(a.access_token, json("POST", { email, name: "Leaver", password: PASSWORD, roles: ["viewer"] })));
    expect(created.status).toBe(201);
    const id = (await created.json<any>()).id;
    const t = await login(email);
    expect((await call("/v1/crm/contacts", bearer(t.access_token))).status).toBe(200);
    expect((await call(`/v1/users/${id}`, bearer(a.access_token, { method: "DELETE" }))).status).toBe(204);
    const after = await call("/v1/crm/contacts", bearer(t.access_token));
    expect(after.status).toBe(401);
    expect(after.headers.get("www-authenticate")).toContain("invalid_token");
  });

  it("answers a wrong method on a gateway path with 405, not 'no such service'", async () => {
    const res = await call(`/v1/users/${crypto.randomUUID()}`, bearer(a.access_token, { method: "POST" }));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
  });
});
