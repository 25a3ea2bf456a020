// Second factors (issue 19): TOTP with recovery codes, passkeys (second factor and passwordless),
// the organization's policy for admins, amr in the tokens, and the attacks: a replayed code, a
// reused recovery code, another user's passkey, an expired or reused challenge.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { sealToken } from "../src/identity/mfa/sealed";
import { PASSWORD, bearer, call, expectProblem, form, json, login, registerOrganization, type Account } from "./helpers";
import { Browser, formFields } from "./browser";
import { REDIRECT, SoftAuthenticator, authorizeParams, exchange, totpCode } from "./second-factor-kit";

const DB = (env as any).DB as D1Database;
const SECRET = (env as any).SIGNING_KEYS_SECRET as string;

let org: Account;
let app: { client_id: string };

/** A fresh user of `org` (an editor), signed in with the password grant. */
async function member(role = "editor"): Promise<Account> {
  const email = `m-${crypto.randomUUID()}@example.com`;
  const res = await call("/v1/users", bearer(org.access_token, json("POST", { email, name: "Member", password: PASSWORD, roles: [role] })));
  expect(res.status, await res.clone().text()).toBe(201);
  const user = await res.json<any>();
  const tokens = await login(email);
  return { email, password: PASSWORD, organization_id: org.organization_id, user_id: user.id, ...tokens };
}

/** Enrolls an authenticator app for `who`; returns its secret and recovery codes. */
async function enrollTotp(who: Account) {
  const start = await call("/v1/auth/mfa/totp", bearer(who.access_token, { method: "POST" }));
  expect(start.status, await start.clone().text()).toBe(201);
  const setup = await start.json<{ secret: string; otpauth_uri: string }>();
  const confirm = await call("/v1/auth/mfa/totp/confirm", bearer(who.access_token, json("POST", { code: totpCode(setup.secret) })));
  expect(confirm.status, await confirm.clone().text()).toBe(200);
  const { recovery_codes } = await confirm.json<{ recovery_codes: string[] }>();
  return { secret: setup.secret, recovery_codes, setup };
}

/** Lets the next code be accepted again: moves the stored step back (time passing, without waiting). */
async function timePasses(userId: string) {
  await DB.prepare("UPDATE totp_factors SET last_used_step = last_used_step - 5 WHERE user_id = ?").bind(userId).run();
}

/** Login page -> password -> the page after it. */
async function password(browser: Browser, email: string, client_id = app.client_id) {
  const a = await authorizeParams(client_id);
  const page = await browser.get(a.url);
  expect(page.status).toBe(200);
  const res = await browser.post("/v1/auth/authorize", { ...formFields(await page.text(), "login"), email, password: PASSWORD });
  return { a, res };
}

/** Posts a code on the second-factor page; a consent page after it (a third-party app) is allowed. */
async function submitCode(browser: Browser, html: string, code: string) {
  return consent(browser, await browser.post("/v1/auth/authorize", { ...formFields(html, "second_factor"), code }));
}

async function consent(browser: Browser, res: Response): Promise<Response> {
  if (res.status !== 200) return res;
  const html = await res.text();
  if (!html.includes('value="allow"')) return new Response(html, { status: 200 });
  return browser.post("/v1/auth/authorize", { ...formFields(html, "allow"), action: "allow" });
}

beforeAll(async () => {
  org = await registerOrganization("Second factors");
  const res = await call(
    "/v1/clients",
    bearer(
      org.access_token,
      json("POST", { name: "Planner", client_type: "public", grant_types: ["authorization_code", "refresh_token"], redirect_uris: [REDIRECT] }),
    ),
  );
  expect(res.status).toBe(201);
  app = await res.json<any>();
});

describe("TOTP", () => {
  it("enrollment: a secret and otpauth URI, confirmed with a code (a wrong one is 400), ten recovery codes once; a second start is 409", async () => {
    const who = await member();
    const start = await call("/v1/auth/mfa/totp", bearer(who.access_token, { method: "POST" }));
    expect(start.status).toBe(201);
    expect(start.headers.get("cache-control")).toBe("no-store");
    const setup = await start.json<any>();
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(setup.otpauth_uri).toMatch(/^otpauth:\/\/totp\/Buildly:.+\?.*secret=[A-Z2-7]{32}/);
    expect(setup.otpauth_uri).toContain(encodeURIComponent(who.email));
    // Stored sealed, never in the clear.
    const row = await DB.prepare("SELECT secret_sealed, confirmed_at FROM totp_factors WHERE user_id = ?").bind(who.user_id).first<any>();
    expect(row.secret_sealed).not.toContain(setup.secret);
    expect(row.confirmed_at).toBeNull();
    const wrong = String((Number(totpCode(setup.secret)) + 1) % 1_000_000).padStart(6, "0");
    await expectProblem(await call("/v1/auth/mfa/totp/confirm", bearer(who.access_token, json("POST", { code: wrong }))), 400);
    await expectProblem(await call("/v1/auth/mfa/totp/confirm", bearer(who.access_token, json("POST", { code: 123456, extra: 1 }))), 422);
    const ok = await call("/v1/auth/mfa/totp/confirm", bearer(who.access_token, json("POST", { code: totpCode(setup.secret) })));
    expect(ok.status).toBe(200);
    const { recovery_codes } = await ok.json<{ recovery_codes: string[] }>();
    expect(recovery_codes).toHaveLength(10);
    for (const c of recovery_codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const stored = await DB.prepare("SELECT code_hash FROM recovery_codes WHERE user_id = ?").bind(who.user_id).all<any>();
    expect(stored.results).toHaveLength(10);
    expect(JSON.stringify(stored.results)).not.toContain(recovery_codes[0]!.replace(/-/g, ""));
    const list = await (await call("/v1/auth/mfa", bearer(who.access_token))).json<any>();
    expect(list).toEqual({ totp: { enrolled: true }, recovery_codes_left: 10, passkeys: [], required: false });
    await expectProblem(await call("/v1/auth/mfa/totp", bearer(who.access_token, { method: "POST" })), 409);
    // The confirmed factor's secret is kept: a restart did not replace it.
    const after = await DB.prepare("SELECT secret_sealed FROM totp_factors WHERE user_id = ?").bind(who.user_id).first<any>();
    expect(after.secret_sealed).toBe(row.secret_sealed);
  });

  it("sign-in asks for the code after the password; amr pwd+otp+mfa in the ID and access tokens, kept across a refresh; the password grant is refused", async () => {
    const who = await member();
    const { secret } = await enrollTotp(who);
    const grant = await call("/v1/auth/token", form({ grant_type: "password", username: who.email, password: PASSWORD }));
    expect(grant.status).toBe(400);
    expect((await grant.json<any>()).error_description).toMatch(/second factor/);
    const browser = new Browser();
    const { a, res } = await password(browser, who.email);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Two-step verification");
    expect(html).toContain('autocomplete="one-time-code"');
    // No session yet: the password alone signed nobody in.
    expect([...browser.cookies.keys()].some((k) => k.includes("session"))).toBe(false);
    await timePasses(who.user_id);
    const done = await submitCode(browser, html, totpCode(secret));
    expect(done.status, await done.clone().text()).toBe(303);
    const tokens = await exchange(done.headers.get("location")!, app.client_id, a.verifier);
    const id = decodeJwt(tokens.id_token);
    expect(id.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(id.acr).toBe("urn:buildly:acr:mfa");
    expect(decodeJwt(tokens.access_token).amr).toEqual(["pwd", "otp", "mfa"]);
    const refreshed = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: app.client_id }));
    expect(refreshed.status).toBe(200);
    expect(decodeJwt((await refreshed.json<any>()).access_token).amr).toEqual(["pwd", "otp", "mfa"]);
  });

  it("a replayed code (same time step, or an earlier one) is refused, also in another sign-in", async () => {
    const who = await member();
    const { secret } = await enrollTotp(who);
    await timePasses(who.user_id);
    const code = totpCode(secret);
    const first = new Browser();
    const one = await password(first, who.email);
    const ok = await submitCode(first, await one.res.text(), code);
    expect(ok.status).toBe(303);
    // The same code again, in a second browser that knows the password.
    const second = new Browser();
    const two = await password(second, who.email);
    const html = await two.res.text();
    const replay = await submitCode(second, html, code);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used");
    const earlier = await submitCode(second, html, totpCode(secret, Date.now() - 30_000));
    expect(earlier.status).toBe(400);
    expect(await earlier.text()).toContain("already used");
  });

  it("recovery codes: each signs in once (any case, with or without dashes); reused, it is refused; amr pwd+otp+mfa", async () => {
    const who = await member();
    const { recovery_codes } = await enrollTotp(who);
    const browser = new Browser();
    const { a, res } = await password(browser, who.email);
    const done = await submitCode(browser, await res.text(), recovery_codes[0]!.toLowerCase().replace(/-/g, " "));
    expect(done.status).toBe(303);
    expect(decodeJwt((await exchange(done.headers.get("location")!, app.client_id, a.verifier)).id_token).amr).toEqual(["pwd", "otp", "mfa"]);
    const again = new Browser();
    const two = await password(again, who.email);
    const reused = await submitCode(again, await two.res.text(), recovery_codes[0]!);
    expect(reused.status).toBe(400);
    expect(await reused.text()).toContain("not right");
    const left = await DB.prepare("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL").bind(who.user_id).first<any>();
    expect(left.n).toBe(9);
    const events = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.login.succeeded' AND subject = ?").bind(who.user_id).all<any>();
    expect(events.results.map((e: any) => JSON.parse(e.data).method)).toContain("recovery_code");
  });

  it("wrong codes count on the account's login throttle: beyond the limit even the right code is 429 (Retry-After)", async () => {
    const who = await member();
    const { secret } = await enrollTotp(who);
    await timePasses(who.user_id);
    const browser = new Browser();
    const { res } = await password(browser, who.email);
    const html = await res.text();
    const right = totpCode(secret);
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, "0");
    for (let i = 0; i < 3; i++) expect((await submitCode(browser, html, wrong)).status).toBe(400);
    const blocked = await submitCode(browser, html, right);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    const failed = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.login.failed' AND subject = ?").bind(who.user_id).all<any>();
    expect(failed.results.map((e: any) => JSON.parse(e.data).reason)).toEqual(["wrong_code", "wrong_code", "wrong_code"]);
  });

  it("the step token: forged, altered or of another purpose, the page says start again and nobody is signed in", async () => {
    const who = await member();
    const { secret } = await enrollTotp(who);
    await timePasses(who.user_id);
    const browser = new Browser();
    const { res } = await password(browser, who.email);
    const html = await res.text();
    const fields = formFields(html, "second_factor");
    const enrollToken = await sealToken(SECRET, { purpose: "signin-enroll", uid: who.user_id, cid: app.client_id }, 60);
    const expired = await sealToken(SECRET, { purpose: "signin-second-factor", uid: who.user_id, cid: app.client_id }, -1);
    for (const mfa_token of [`${fields.mfa_token!.slice(0, -2)}AA`, enrollToken, expired, ""]) {
      const r = await browser.post("/v1/auth/authorize", { ...fields, mfa_token, code: totpCode(secret) });
      expect(r.status).toBe(400);
      expect(await r.text()).toContain("Start again");
    }
    expect([...browser.cookies.keys()].some((k) => k.includes("session"))).toBe(false);
  });

  it("disable needs the password and a current code (or a recovery code); then the password grant works again and the events say so", async () => {
    const who = await member();
    const { secret, recovery_codes } = await enrollTotp(who);
    await timePasses(who.user_id);
    const disable = (body: unknown) => call("/v1/auth/mfa/totp/disable", bearer(who.access_token, json("POST", body)));
    await expectProblem(await disable({ password: "wrong password!", code: totpCode(secret) }), 400);
    await expectProblem(await disable({ password: PASSWORD }), 422);
    await expectProblem(await disable({ password: PASSWORD, code: "000000" === totpCode(secret) ? "111111" : "000000" }), 400);
    const ok = await disable({ password: PASSWORD, code: recovery_codes[1]! });
    expect(ok.status).toBe(204);
    await expectProblem(await disable({ password: PASSWORD, code: totpCode(secret) }), 404);
    expect((await DB.prepare("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?").bind(who.user_id).first<any>()).n).toBe(0);
    await login(who.email);
    const types = await DB.prepare("SELECT type, data, actor_id FROM outbox WHERE subject = ? AND type LIKE 'identity.user.second_factor%' ORDER BY seq")
      .bind(who.user_id)
      .all<any>();
    expect(types.results.map((e: any) => [e.type, JSON.parse(e.data), e.actor_id])).toEqual([
      ["identity.user.second_factor_added", { id: who.user_id, method: "totp" }, who.user_id],
      ["identity.user.second_factor_removed", { id: who.user_id, method: "totp" }, who.user_id],
    ]);
    expect(JSON.stringify(types.results)).not.toContain(secret);
  });
});

describe("the organization's policy: a second factor for admins", () => {
  it("only admins set it (422 for a bad body); an admin without a factor is led to set up an app at sign-in, then signs in with amr pwd+otp+mfa", async () => {
    const admin = await registerOrganization("Policy org");
    const editorEmail = `ed-${crypto.randomUUID()}@example.com`;
    const made = await call("/v1/users", bearer(admin.access_token, json("POST", { email: editorEmail, name: "Ed", password: PASSWORD, roles: ["editor"] })));
    expect(made.status).toBe(201);
    const editor = await login(editorEmail);
    const client = await (
      await call(
        "/v1/clients",
        bearer(admin.access_token, json("POST", { name: "Ops", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT] })),
      )
    ).json<any>();
    const put = (token: string, body: unknown) => call("/v1/organizations/current/second-factor-policy", bearer(token, json("PUT", body)));
    await expectProblem(await put(editor.access_token, { require_for_admins: true }), 403);
    await expectProblem(await put(admin.access_token, { require_for_admins: "yes" }), 422);
    const on = await put(admin.access_token, { require_for_admins: true });
    expect(on.status).toBe(200);
    expect(await on.json<any>()).toMatchObject({ require_for_admins: true });
    expect((await put(admin.access_token, { require_for_admins: true })).status).toBe(200);
    const policyEvents = await DB.prepare("SELECT data, actor_id FROM outbox WHERE type = 'identity.organization.second_factor_policy_changed' AND subject = ?")
      .bind(admin.organization_id)
      .all<any>();
    // Setting what is already set records nothing.
    expect(policyEvents.results.map((e: any) => [JSON.parse(e.data), e.actor_id])).toEqual([
      [{ id: admin.organization_id, require_for_admins: true }, admin.user_id],
    ]);
    expect(await (await call("/v1/organizations/current/second-factor-policy", bearer(editor.access_token))).json<any>()).toMatchObject({
      require_for_admins: true,
    });
    // The policy covers admins only: the editor still signs in with a password alone; the admin does not.
    await login(editorEmail);
    const refused = await call("/v1/auth/token", form({ grant_type: "password", username: admin.email, password: PASSWORD }));
    expect(refused.status).toBe(400);
    expect((await refused.json<any>()).error_description).toMatch(/requires administrators/);

    const browser = new Browser();
    const { a, res } = await password(browser, admin.email, client.client_id);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Set up two-step verification");
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(html)![1]!.replace(/ /g, "");
    expect(html).toContain(`secret=${secret}`);
    const wrong = await browser.post("/v1/auth/authorize", { ...formFields(html, "enroll"), code: "12345" });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain(secret); // the same secret, shown again
    const done = await browser.post("/v1/auth/authorize", { ...formFields(html, "enroll"), code: totpCode(secret) });
    expect(done.status).toBe(200);
    const saved = await done.text();
    expect(saved).toContain("Save your recovery codes");
    expect([...saved.matchAll(/<li><code>([0-9A-Z-]{19})<\/code><\/li>/g)]).toHaveLength(10);
    const next = new URLSearchParams(formFields(saved));
    const back = await consent(browser, await browser.get(`/v1/auth/authorize?${next}`));
    expect([302, 303]).toContain(back.status);
    const tokens = await exchange(back.headers.get("location")!, client.client_id, a.verifier);
    expect(decodeJwt(tokens.id_token).amr).toEqual(["pwd", "otp", "mfa"]);
    expect(decodeJwt(tokens.access_token).amr).toEqual(["pwd", "otp", "mfa"]);
    const added = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.user.second_factor_added' AND subject = ?").bind(admin.user_id).first<any>();
    expect(JSON.parse(added.data)).toEqual({ id: admin.user_id, method: "totp", at_sign_in: true });
    expect((await put(admin.access_token, { require_for_admins: false })).status).toBe(200);
  });
});

describe("passkeys", () => {
  let owner: Account;
  let key: SoftAuthenticator;
  let stranger: Account;
  let strangerKey: SoftAuthenticator;

  async function register(who: Account, authenticator: SoftAuthenticator, options?: any) {
    const opts = options ?? (await (await call("/v1/auth/mfa/passkeys/options", bearer(who.access_token, { method: "POST" }))).json<any>());
    const response = await authenticator.register(opts);
    return { res: await call("/v1/auth/mfa/passkeys", bearer(who.access_token, json("POST", { name: "Test key", response }))), response, opts };
  }

  /** Posts an assertion from the login page's (or the second-factor page's) passkey form. */
  async function postAssertion(browser: Browser, html: string, assertion: unknown) {
    return consent(browser, await browser.post("/v1/auth/authorize", { ...formFields(html, "passkey"), passkey: JSON.stringify(assertion) }));
  }

  async function signinOptions(body: Record<string, string> = {}) {
    const res = await call("/v1/auth/passkey/options", json("POST", body));
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json<any>();
  }

  beforeAll(async () => {
    owner = await member();
    stranger = await member();
    key = await SoftAuthenticator.create();
    strangerKey = await SoftAuthenticator.create();
    expect((await register(owner, key)).res.status).toBe(201);
    expect((await register(stranger, strangerKey)).res.status).toBe(201);
  });

  it("registration: options for the signed-in user, verified and stored; a reused, foreign or duplicate registration is refused", async () => {
    const list = await (await call("/v1/auth/mfa", bearer(owner.access_token))).json<any>();
    expect(list.passkeys).toEqual([{ id: key.id, name: "Test key", backed_up: false, created_at: expect.any(String), last_used_at: null }]);
    const opts = await (await call("/v1/auth/mfa/passkeys/options", bearer(owner.access_token, { method: "POST" }))).json<any>();
    expect(opts.rp).toEqual({ name: "Buildly", id: "gateway.example" });
    expect(opts.excludeCredentials.map((c: any) => c.id)).toEqual([key.id]);
    // The same answer twice: the challenge was spent by the first.
    const fresh = await SoftAuthenticator.create();
    const first = await register(owner, fresh);
    expect(first.res.status).toBe(201);
    const again = await call("/v1/auth/mfa/passkeys", bearer(owner.access_token, json("POST", { response: first.response })));
    expect((await expectProblem(again, 400)).detail).toMatch(/already used/);
    // Options issued to the owner, answered and sent by the stranger.
    const foreign = await SoftAuthenticator.create();
    const answer = await foreign.register(opts);
    const stolen = await call("/v1/auth/mfa/passkeys", bearer(stranger.access_token, json("POST", { response: answer })));
    expect((await expectProblem(stolen, 400)).detail).toMatch(/another account/);
    // A credential already registered (the owner's key, registered again by the stranger).
    const dup = await register(stranger, key);
    await expectProblem(dup.res, 409);
    await expectProblem(await call("/v1/auth/mfa/passkeys", bearer(owner.access_token, json("POST", { response: { id: "x" } }))), 400);
  });

  it("a passkey registered with odd transports still gets options: the stored transports are bounded when listed", async () => {
    const who = await member();
    const a = await SoftAuthenticator.create();
    const opts = await (await call("/v1/auth/mfa/passkeys/options", bearer(who.access_token, { method: "POST" }))).json<any>();
    const response: any = await a.register(opts);
    response.response.transports = [...Array.from({ length: 20 }, (_, i) => `t${i}`), "x".repeat(100)];
    const res = await call("/v1/auth/mfa/passkeys", bearer(who.access_token, json("POST", { response })));
    expect(res.status, await res.clone().text()).toBe(201);
    const again = await call("/v1/auth/mfa/passkeys/options", bearer(who.access_token, { method: "POST" }));
    expect(again.status, await again.clone().text()).toBe(200);
    const body = await again.json<any>();
    expect(body.excludeCredentials).toEqual([{ id: a.id, type: "public-key", transports: Array.from({ length: 10 }, (_, i) => `t${i}`) }]);
  });

  it("passwordless sign-in on the login page: amr hwk+user+mfa in the ID and access tokens; the same assertion again is refused", async () => {
    const browser = new Browser();
    const a = await authorizeParams(app.client_id);
    const html = await (await browser.get(a.url)).text();
    expect(html).toContain('id="passkey-button"');
    const opts = await signinOptions();
    expect(opts.allowCredentials).toEqual([]);
    expect(opts.userVerification).toBe("required");
    const assertion = await key.assert(opts);
    const done = await postAssertion(browser, html, assertion);
    expect(done.status, await done.clone().text()).toBe(303);
    const tokens = await exchange(done.headers.get("location")!, app.client_id, a.verifier);
    expect(decodeJwt(tokens.id_token).amr).toEqual(["hwk", "user", "mfa"]);
    expect(decodeJwt(tokens.id_token).sub).toBe(owner.user_id);
    expect(decodeJwt(tokens.access_token).amr).toEqual(["hwk", "user", "mfa"]);
    const replay = await postAssertion(browser, html, assertion);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used");
  });

  it("a passkey registered to another user is refused: as the second factor, and by a user handle that is not its owner's", async () => {
    // The owner also has a password: the passkey is their second factor.
    const browser = new Browser();
    const { a, res } = await password(browser, owner.email);
    const html = await res.text();
    expect(html).toContain("Two-step verification");
    expect(html).not.toContain('name="code"'); // no authenticator app: the passkey is the way
    const mfa_token = formFields(html, "passkey").mfa_token!;
    const opts = await signinOptions({ mfa_token });
    // Only the owner's passkeys (the key of beforeAll and the one the registration test added).
    expect(opts.allowCredentials.map((c: any) => c.id)).toContain(key.id);
    expect(opts.allowCredentials.map((c: any) => c.id)).not.toContain(strangerKey.id);
    const foreign = await postAssertion(browser, html, await strangerKey.assert(opts));
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain("belongs to another account");
    const failed = await DB.prepare("SELECT data FROM outbox WHERE type = 'identity.login.failed' AND subject = ?").bind(owner.user_id).all<any>();
    expect(failed.results.map((e: any) => JSON.parse(e.data).reason)).toContain("passkey_of_another_user");
    // Passwordless, with the stranger's user handle on the owner's key.
    const loginPage = await (await browser.get((await authorizeParams(app.client_id)).url)).text();
    const lying = await postAssertion(browser, loginPage, await key.assert(await signinOptions(), { userHandle: strangerKey.userHandle! }));
    expect(lying.status).toBe(400);
    expect(await lying.text()).toContain("belongs to another account");
    // The owner's own passkey completes the second step.
    const ok = await postAssertion(browser, html, await key.assert(await signinOptions({ mfa_token })));
    expect(ok.status, await ok.clone().text()).toBe(303);
    expect(decodeJwt((await exchange(ok.headers.get("location")!, app.client_id, a.verifier)).id_token).amr).toEqual(["pwd", "hwk", "user", "mfa"]);
  });

  it("an expired or forged challenge is refused, and so is an assertion for another origin", async () => {
    const browser = new Browser();
    const html = await (await browser.get((await authorizeParams(app.client_id)).url)).text();
    const expired = await sealToken(SECRET, { purpose: "webauthn-signin" }, -1);
    const b64 = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    for (const challenge of [b64(expired), b64("not-a-sealed-token"), b64(await sealToken(SECRET, { purpose: "webauthn-register", uid: owner.user_id }, 60))]) {
      const r = await postAssertion(browser, html, await key.assert({ challenge, rpId: "gateway.example" }));
      expect(r.status).toBe(400);
      expect(await r.text()).toContain("unknown or expired");
    }
    const phishing = await SoftAuthenticator.create("https://gateway.example.evil.test");
    const opts = await signinOptions();
    const evil = await postAssertion(browser, html, { ...(await phishing.assert(opts)), id: key.id });
    expect(evil.status).toBe(400);
    expect(await evil.text()).toContain("could not be verified");
  });
});
