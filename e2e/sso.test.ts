// Single sign-on end to end (issue 19): the `oidc-provider` package runs on 127.0.0.1 as a company's
// identity provider, and Debian's headless Chromium goes through both login pages (ours, then the
// provider's own) to sign in to an app of the organization that connected it. The gateway reaches
// the provider over plain http only because it runs on http loopback itself (`npm run dev`); a
// deployed gateway (an https ISSUER) refuses any issuer that is not https on a public host.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anon, baseUrl, registerOrg, type RegisteredOrg } from "./helpers";
import { CHROMIUM, CHROMIUM_ARGS } from "./paths";

const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;
const password = "a long enough password";
const b64url = (b: Buffer) => b.toString("base64url");

describe("single sign-on: oidc-provider on 127.0.0.1 as the company's IdP, headless Chromium on both login pages", () => {
  let corp: RegisteredOrg;
  let other: RegisteredOrg;
  let corpApp: string;
  let otherApp: string;
  let providerId: string;
  let browser: Browser | undefined;
  let idpServer: Server;
  let appServer: Server;
  let appOrigin = "";
  const seen: string[] = [];

  const auth = (token: string, body?: unknown, method = body === undefined ? "GET" : "POST") => ({
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  async function publicApp(org: RegisteredOrg): Promise<string> {
    const res = await anon(
      "/v1/clients",
      auth(org.token, { name: "Team app", client_type: "public", grant_types: ["authorization_code"], redirect_uris: ["http://127.0.0.1/callback"] }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { client_id: string }).client_id;
  }

  function authorizeUrl(clientId: string, extra: Record<string, string> = {}) {
    const verifier = b64url(randomBytes(32));
    const q = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: `${appOrigin}/callback`,
      scope: "openid profile email read write",
      state: b64url(randomBytes(16)),
      nonce: b64url(randomBytes(16)),
      code_challenge: b64url(createHash("sha256").update(verifier).digest()),
      code_challenge_method: "S256",
      ...extra,
    });
    return { url: `${baseUrl()}/v1/auth/authorize?${q}`, verifier };
  }

  beforeAll(async () => {
    // The relying party's own server: it only records where the browser was sent back to.
    appServer = createServer((req, res) => {
      if (req.url?.startsWith("/callback")) seen.push(`${appOrigin}${req.url}`);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    await new Promise<void>((resolve) => appServer.listen(0, "127.0.0.1", resolve));
    appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;

    // The company's identity provider: a listening socket first, so its issuer can name the port.
    idpServer = createServer();
    await new Promise<void>((resolve) => idpServer.listen(0, "127.0.0.1", resolve));
    const issuer = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const oidc = new Provider(issuer, {
      clients: [
        {
          client_id: "buildly-gateway",
          client_secret: "gateway secret at the company IdP",
          redirect_uris: [`${baseUrl()}/v1/auth/federation/callback`],
          grant_types: ["authorization_code"],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_basic",
        },
      ],
      jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), kid: "company-key", alg: "RS256", use: "sig" }] },
      cookies: { keys: [b64url(randomBytes(32))] },
      // The login names an account (its email); everyone at the company is in the buildly-editors group.
      findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => ({ sub: `company|${sub}`, email: sub, email_verified: true, name: `Person ${sub.split("@")[0]}`, groups: ["buildly-editors"] }),
      }),
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
      // The claims the scopes ask for go into the ID token, where the gateway reads them.
      conformIdTokenClaims: false,
      // No consent screen at the company's own IdP for its own relying party.
      loadExistingGrant: async (ctx) => {
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
        grant.addOIDCScope("openid email profile");
        await grant.save();
        return grant;
      },
    });
    idpServer.on("request", oidc.callback());

    corp = await registerOrg("SSO e2e company", password);
    other = await registerOrg("SSO e2e elsewhere", password);
    corpApp = await publicApp(corp);
    otherApp = await publicApp(other);
    const res = await anon(
      "/v1/organizations/current/identity-providers",
      auth(corp.token, {
        name: "Company IdP",
        issuer,
        client_id: "buildly-gateway",
        client_secret: "gateway secret at the company IdP",
        allowed_domains: ["company.example"],
        role_mapping: { "buildly-editors": "editor" },
        jit_provisioning: true,
      }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    providerId = ((await res.json()) as { id: string }).id;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => idpServer?.close(resolve));
    await new Promise((resolve) => appServer?.close(resolve));
  });

  async function newPage(): Promise<Page> {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
    return (await browser.newContext()).newPage();
  }

  it("JIT provisioning with the mapped role, then a second organization cannot be entered through it", async (ctx) => {
    if (noBrowser) ctx.skip(`${CHROMIUM} is missing; run e2e/ensure-chromium.sh`);
    const email = `jit-${b64url(randomBytes(6)).toLowerCase()}@company.example`;
    const page = await newPage();
    const { url, verifier } = authorizeUrl(corpApp);
    await page.goto(url);
    // Home realm discovery: an email alone, and our login page offers the company's IdP.
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("button", { name: "Continue with Company IdP" }).click();
    // The company IdP's own login page (oidc-provider's development interaction).
    await page.locator('input[name="login"]').fill(email);
    await page.locator('input[name="password"]').fill("anything");
    await page.locator('button[type="submit"]').click();
    // Back on our side: a third-party app, so our consent page, then the app's callback.
    await page.getByRole("button", { name: "Allow" }).click({ timeout: 20_000 });
    await page.waitForURL(`${appOrigin}/callback**`, { timeout: 20_000 });
    const back = new URL(seen.findLast((u) => u.startsWith(`${appOrigin}/callback`))!);
    const res = await anon("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: back.searchParams.get("code")!,
        redirect_uri: `${appOrigin}/callback`,
        code_verifier: verifier,
        client_id: corpApp,
      }).toString(),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const me = (await (await anon("/v1/auth/me", auth(access_token))).json()) as { user: { email: string }; organization: { id: string }; roles: string[] };
    expect(me.user.email).toBe(email);
    expect(me.organization.id).toBe(corp.organization_id);
    expect(me.roles).toEqual(["editor"]);

    // The other organization's app: its login page does not offer the company's IdP, even when hinted,
    // and the browser's session (of the company) does not let the user in.
    const second = authorizeUrl(otherApp, { login_hint: email, idp_hint: providerId });
    await page.goto(second.url);
    const html = await page.content();
    expect(html).not.toContain("Continue with");
    expect(html).toContain("does not belong to the organization of this application");
    // And no account was made for it there.
    const users = (await (await anon("/v1/users", auth(other.token))).json()) as { data: { email: string }[] };
    expect(users.data.map((u) => u.email)).not.toContain(email);
    // Wide: Chromium starts and walks two login pages; on a loaded 2-core machine this passed 30 s.
  }, 180_000);

  it("an organization that requires SSO refuses a member's password", async (ctx) => {
    if (noBrowser) ctx.skip(`${CHROMIUM} is missing; run e2e/ensure-chromium.sh`);
    const email = `member-${b64url(randomBytes(6)).toLowerCase()}@company.example`;
    const made = await anon("/v1/users", auth(corp.token, { email, name: "Member", password, roles: ["viewer"] }));
    expect(made.status, await made.clone().text()).toBe(201);
    const policy = await anon("/v1/organizations/current/sso", auth(corp.token, { require_sso: true }, "PUT"));
    expect(policy.status, await policy.clone().text()).toBe(200);
    const page = await newPage();
    await page.goto(authorizeUrl(corpApp).url);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("signs in with its identity provider only").waitFor({ timeout: 15_000 });
    expect(await page.getByRole("button", { name: "Continue with Company IdP" }).count()).toBe(1);
  }, 120_000);
});
