// Sign-in with a certified relying party: openid-client 6.9 completes the authorization code flow
// with PKCE against the platform while Debian's headless Chromium fills the hosted login page.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import * as client from "openid-client";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anon, baseUrl, registerOrg, type RegisteredOrg } from "./helpers";
import { CHROMIUM, CHROMIUM_ARGS } from "./paths";

/** The relying party's registered redirect: loopback, so any port matches (RFC 8252); the test's own server answers it. */
const REDIRECT = "http://127.0.0.1/callback";

/** oauth4webapi (openid-client's own dependency) for RFC 9068 access token validation. */
type Oauth4 = {
  validateJwtAccessToken(as: object, request: Request, expectedAudience: string, options?: object): Promise<Record<string, unknown>>;
  allowInsecureRequests: symbol;
};
async function oauth4webapi(): Promise<Oauth4> {
  const require = createRequire(import.meta.url);
  const fromOpenidClient = createRequire(require.resolve("openid-client"));
  return (await import(pathToFileURL(fromOpenidClient.resolve("oauth4webapi")).href)) as Oauth4;
}

const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;

describe("OpenID Connect: openid-client + headless Chromium on the hosted login page", () => {
  let org: RegisteredOrg;
  let clientId: string;
  let browser: Browser | undefined;
  const password = "a long enough password";
  /** The relying party's own web server on this machine: it answers the redirects and remembers their URLs. */
  let server: Server;
  const seen: string[] = [];
  let REDIRECT_ON_PORT = "";
  let AFTER_LOGOUT = "";
  const lastSeen = (prefix: string) => seen.findLast((u) => u.startsWith(prefix));

  beforeAll(async () => {
    server = createServer((req, res) => {
      // Only the redirects (the browser also asks for /favicon.ico).
      if (req.url?.startsWith("/callback") || req.url?.startsWith("/signed-out"))
        seen.push(`${REDIRECT_ON_PORT.slice(0, REDIRECT_ON_PORT.indexOf("/", 8))}${req.url}`);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    REDIRECT_ON_PORT = `http://127.0.0.1:${port}/callback`;
    AFTER_LOGOUT = `http://127.0.0.1:${port}/signed-out`;
    org = await registerOrg("OIDC relying party", password);
    const res = await anon("/v1/clients", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${org.token}` },
      body: JSON.stringify({
        name: "Planner SPA",
        client_type: "public",
        grant_types: ["authorization_code", "refresh_token"],
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: [AFTER_LOGOUT],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const created = (await res.json()) as { client_id: string; client_secret?: string; client_type: string };
    expect(created.client_type).toBe("public");
    expect(created.client_secret).toBeUndefined();
    clientId = created.client_id;
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("code + PKCE with the login and consent pages, then refresh, a service call, userinfo, RFC 9068 validation and logout", async (ctx) => {
    if (noBrowser) ctx.skip(`${CHROMIUM} is missing; run e2e/ensure-chromium.sh`);
    const issuer = new URL(baseUrl());
    const config = await client.discovery(issuer, clientId, { token_endpoint_auth_method: "none" }, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const meta = config.serverMetadata();
    expect(meta.code_challenge_methods_supported).toEqual(["S256"]);
    expect(meta.response_types_supported).toEqual(["code"]);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_ON_PORT,
      scope: "openid profile email offline_access read write",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
    const context = await browser.newContext();
    const page = await context.newPage();
    const first = await page.goto(authUrl.href);
    expect(first?.status()).toBe(200);
    expect(first?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    await page.getByLabel("Email").fill(org.email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    // A third-party client: the consent page names it and what it asks for.
    await page.getByRole("button", { name: "Allow" }).waitFor({ timeout: 15_000 });
    expect(await page.content()).toContain("Planner SPA");
    const cookies = await context.cookies(issuer.origin);
    const session = cookies.find((c) => c.name === "buildly_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL(`${REDIRECT_ON_PORT}**`, { timeout: 15_000 });
    const returned = new URL(lastSeen(REDIRECT_ON_PORT)!);
    expect(returned.searchParams.get("iss")).toBe(meta.issuer);

    // The relying party redeems the code: openid-client checks state, iss, the ID token's signature, nonce, aud, exp.
    const tokens = await client.authorizationCodeGrant(config, returned, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: meta.issuer, sub: org.user_id, aud: clientId, nonce, amr: ["pwd"] });
    expect(typeof claims.auth_time).toBe("number");
    expect(typeof claims.acr).toBe("string");
    expect(tokens.refresh_token).toBeTruthy();

    // The same code again: refused, and the tokens it gave are revoked (checked after the happy path below).
    const replay = await anon("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: returned.searchParams.get("code")!,
        redirect_uri: REDIRECT_ON_PORT,
        code_verifier: verifier,
        client_id: clientId,
      }).toString(),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");

    // A fresh sign-in for the rest (the replay revoked the first grant): the session cookie makes it one redirect.
    const verifier2 = client.randomPKCECodeVerifier();
    const state2 = client.randomState();
    const nonce2 = client.randomNonce();
    const before = seen.length;
    await page.goto(
      client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_ON_PORT,
        scope: "openid profile email offline_access read write",
        code_challenge: await client.calculatePKCECodeChallenge(verifier2),
        code_challenge_method: "S256",
        state: state2,
        nonce: nonce2,
      }).href,
    );
    await page.waitForURL(`${REDIRECT_ON_PORT}**`, { timeout: 15_000 });
    expect(seen.length).toBe(before + 1);
    const second = await client.authorizationCodeGrant(config, new URL(lastSeen(REDIRECT_ON_PORT)!), {
      pkceCodeVerifier: verifier2,
      expectedState: state2,
      expectedNonce: nonce2,
      idTokenExpected: true,
    });

    // Tokens from the replayed grant no longer work; the first refresh token is revoked too.
    const revoked = await fetch(`${baseUrl()}/v1/auth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(revoked.status).toBe(401);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toThrow();

    // Refresh (public client: rotation), then the rotated one again is reuse.
    const refreshed = await client.refreshTokenGrant(config, second.refresh_token!);
    expect(refreshed.access_token).not.toBe(second.access_token);
    expect(refreshed.refresh_token).not.toBe(second.refresh_token);

    // A service call with the refreshed token.
    const contacts = await client.fetchProtectedResource(config, refreshed.access_token, new URL("/v1/crm/contacts?limit=1", baseUrl()), "GET");
    expect(contacts.status).toBe(200);

    // userinfo, as the certified library reads it (sub must match the ID token's).
    const info = await client.fetchUserInfo(config, refreshed.access_token, second.claims()!.sub);
    expect(info).toMatchObject({ sub: org.user_id, email: org.email, name: "Owner", org: org.organization_id });

    // RFC 9068: the access token as a resource server validates it (typ at+jwt, iss, aud, exp, iat, sub, jti, client_id).
    const oauth = await oauth4webapi();
    const atClaims = await oauth.validateJwtAccessToken(
      { ...meta, [oauth.allowInsecureRequests]: true } as object,
      new Request(`${baseUrl()}/v1/crm/contacts`, { headers: { authorization: `Bearer ${refreshed.access_token}` } }),
      "buildly-api",
      { signingAlgorithms: ["ES256"], [oauth.allowInsecureRequests]: true },
    );
    expect(atClaims).toMatchObject({ iss: meta.issuer, sub: org.user_id, client_id: clientId, aud: "buildly-api" });
    expect(typeof atClaims.jti).toBe("string");

    // Logout: the end-session URL with the ID token as hint ends the session and returns to the registered URI with state.
    const logoutState = client.randomState();
    await page.goto(client.buildEndSessionUrl(config, { id_token_hint: second.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: logoutState }).href);
    await page.waitForURL(`${AFTER_LOGOUT}**`, { timeout: 15_000 });
    expect(new URL(lastSeen(AFTER_LOGOUT)!).searchParams.get("state")).toBe(logoutState);
    // Signed out: the authorization endpoint shows the login page again.
    await page.goto(authUrl.href);
    await page.getByLabel("Password").waitFor({ timeout: 15_000 });
  });
});
