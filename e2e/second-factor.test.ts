// Second factors in a real browser (issue 19): a TOTP sign-in (the code computed here with the
// same library as the gateway's, otpauth) and a passwordless passkey sign-in with Chromium's
// virtual authenticator (DevTools protocol WebAuthn domain), each asserting amr in the tokens.
import { existsSync } from "node:fs";
import { Secret, TOTP } from "otpauth";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anon, baseUrl, registerOrg, type RegisteredOrg } from "./helpers";
import { CHROMIUM, CHROMIUM_ARGS } from "./paths";

/** A loopback redirect (any port matches, RFC 8252); the browser's request to it is answered by the test. */
const REDIRECT = "http://127.0.0.1/callback";
const PASSWORD = "a long enough password";
const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;

const b64 = (s: string) => Buffer.from(s, "base64url");
const claims = (jwt: string) => JSON.parse(b64(jwt.split(".")[1]!).toString()) as Record<string, unknown>;
const totp = (secret: string, at = Date.now()) => TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp: at });

function json(token: string, body?: unknown): RequestInit {
  return { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body ?? {}) };
}

describe("second factors in headless Chromium", () => {
  let org: RegisteredOrg;
  let clientId: string;
  let secret: string;
  let browser: Browser | undefined;
  let page: Page;

  /** Goes to the authorization endpoint on `origin`; resolves with the code once the browser is sent back. */
  async function authorize(origin: string, extra: Record<string, string> = {}) {
    const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const challenge = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString("base64url");
    const q = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: "openid read",
      state: "s",
      nonce: "n",
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...extra,
    });
    await page.goto(`${origin}/v1/auth/authorize?${q}`);
    return {
      /** Allows the consent page and exchanges the code the redirect brings. */
      tokens: async (act: () => Promise<void> = () => page.getByRole("button", { name: "Allow" }).click({ timeout: 20_000 })) => {
        const back = page.waitForRequest((r) => r.url().startsWith("http://127.0.0.1/callback"), { timeout: 20_000 });
        await act();
        const code = new URL((await back).url()).searchParams.get("code")!;
        const res = await anon("/v1/auth/token", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "authorization_code",
            code,
            redirect_uri: REDIRECT,
            code_verifier: verifier,
            client_id: clientId,
          }).toString(),
        });
        expect(res.status, await res.clone().text()).toBe(200);
        return (await res.json()) as { access_token: string; id_token: string };
      },
    };
  }

  beforeAll(async () => {
    org = await registerOrg("Second factors e2e", PASSWORD);
    const made = await anon(
      "/v1/clients",
      json(org.token, { name: "Planner", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT] }),
    );
    expect(made.status, await made.clone().text()).toBe(201);
    clientId = ((await made.json()) as { client_id: string }).client_id;
    // Enroll an authenticator app over the API with the token from before.
    const start = await anon("/v1/auth/mfa/totp", json(org.token));
    expect(start.status).toBe(201);
    secret = ((await start.json()) as { secret: string }).secret;
    const confirm = await anon("/v1/auth/mfa/totp/confirm", json(org.token, { code: totp(secret) }));
    expect(confirm.status, await confirm.clone().text()).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("TOTP: email and password, then the code from the app; amr pwd+otp+mfa; then a passkey, registered and used alone: amr hwk+user+mfa", {
    timeout: 180_000,
  }, async (ctx) => {
    if (noBrowser) ctx.skip(`${CHROMIUM} is missing; run e2e/ensure-chromium.sh`);
    // WebAuthn refuses IP addresses, so the passkey part runs on http://localhost:<port>; the
    // platform listens on 127.0.0.1 only, and Chromium may try ::1 for localhost first (one CI run
    // got its error page): localhost is pinned to 127.0.0.1, still a secure context by its name.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP localhost 127.0.0.1"],
      timeout: 20_000,
    });
    const context = await browser.newContext();
    await context.route(/^http:\/\/127\.0\.0\.1\/callback/, (route) => route.fulfill({ status: 200, body: "ok" }));
    page = await context.newPage();

    // 1. TOTP. The code of the next time step: the one of this step confirmed the enrollment (a replay).
    const signin = await authorize(baseUrl());
    await page.getByLabel("Email").fill(org.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByLabel("Code from your authenticator app").fill(totp(secret, Date.now() + 30_000));
    await page.getByRole("button", { name: "Verify" }).click();
    const viaTotp = await signin.tokens();
    expect(claims(viaTotp.id_token)).toMatchObject({ sub: org.user_id, amr: ["pwd", "otp", "mfa"] });
    expect(claims(viaTotp.access_token).amr).toEqual(["pwd", "otp", "mfa"]);

    // 2. A passkey on Chromium's virtual authenticator. Browsers refuse WebAuthn on an IP address, so
    // the local platform (issuer http://127.0.0.1:port) is its relying party as http://localhost:port.
    const local = baseUrl().replace("127.0.0.1", "localhost");
    // A tab of its own: the first one is still on its way to the callback's error page (nothing
    // listens at http://127.0.0.1/callback, and the route above does not see a redirect's target),
    // and that navigation interrupted a page.goto here (seen in CI).
    const first = page;
    page = await context.newPage();
    await first.close();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${local}/v1/auth/passkey.js`); // a page of the gateway's origin, to register from
    // Runs in the page, given as source text so that nothing of this file's transform reaches the browser.
    const registered = (await page.evaluate(`(async (token) => {
      const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const b64url = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
      const auth = { authorization: "Bearer " + token, "content-type": "application/json" };
      const o = await (await fetch("/v1/auth/mfa/passkeys/options", { method: "POST", headers: auth })).json();
      const cred = await navigator.credentials.create({
        publicKey: { ...o, challenge: bytes(o.challenge), user: { ...o.user, id: bytes(o.user.id) }, excludeCredentials: [] },
      });
      const r = cred.response;
      const response = {
        id: cred.id, rawId: b64url(cred.rawId), type: cred.type, clientExtensionResults: {},
        response: { clientDataJSON: b64url(r.clientDataJSON), attestationObject: b64url(r.attestationObject), transports: r.getTransports() },
      };
      const res = await fetch("/v1/auth/mfa/passkeys", { method: "POST", headers: auth, body: JSON.stringify({ name: "Chromium", response }) });
      return { status: res.status, body: await res.json() };
    })(${JSON.stringify(org.token)})`)) as { status: number; body: unknown };
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);

    const passwordless = await authorize(local, { prompt: "login" });
    // The user allowed this app during the TOTP sign-in: no consent page this time, straight back.
    const viaPasskey = await passwordless.tokens(() => page.getByRole("button", { name: "Sign in with a passkey" }).click());
    expect(claims(viaPasskey.id_token)).toMatchObject({ sub: org.user_id, amr: ["hwk", "user", "mfa"] });
    expect(claims(viaPasskey.access_token).amr).toEqual(["hwk", "user", "mfa"]);
  });
});
