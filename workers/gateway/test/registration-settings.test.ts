// Platform settings for sign-up (issue 18): SELF_REGISTRATION on/off, EMAIL_VERIFICATION
// (on by default outside local development; the suite's config turns it off, these tests on).
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { PASSWORD, bearer, call, expectProblem, form, json, mailTo, registerOrganization } from "./helpers";

const DB = (env as any).DB as D1Database;

/** The gateway Worker with the given vars over the test ones. */
async function gatewayWith(vars: Record<string, string>, path: string, init: RequestInit = {}, base = "https://gateway.example") {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${base}${path}`, init), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

function registration(email = `s-${crypto.randomUUID()}@example.com`) {
  return json("POST", { email, password: PASSWORD, name: "Self", organization_name: "Self-made" });
}

describe("SELF_REGISTRATION", () => {
  it("off: creating an organization is 403 and nothing is created; joining with an invitation still works", async () => {
    const email = `closed-${crypto.randomUUID()}@example.com`;
    const res = await gatewayWith({ SELF_REGISTRATION: "off" }, "/v1/auth/register", registration(email));
    expect(res.status).toBe(403);
    await expectProblem(res);
    expect(await DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?").bind(email).first<any>()).toEqual({ n: 0 });

    const admin = await registerOrganization("Invites while closed");
    const invite = await call(
      "/v1/invitations",
      bearer(admin.access_token, json("POST", { email: `joiner-${crypto.randomUUID()}@example.com`, role: "viewer" })),
    );
    expect(invite.status, await invite.clone().text()).toBe(201);
    const { token } = await invite.json<any>();
    const joined = await gatewayWith(
      { SELF_REGISTRATION: "off" },
      "/v1/auth/register",
      json("POST", { invitation_token: token, password: PASSWORD, name: "Joiner" }),
    );
    expect(joined.status, await joined.clone().text()).toBe(201);
  });
});

describe("EMAIL_VERIFICATION", () => {
  it("on: a self-registered account cannot sign in until it confirms the token mailed to it; the token works once", async () => {
    const email = `verify-${crypto.randomUUID()}@example.com`;
    const on = { EMAIL_VERIFICATION: "on" };
    expect((await gatewayWith(on, "/v1/auth/register", registration(email))).status).toBe(201);
    const refused = await gatewayWith(on, "/v1/auth/token", form({ grant_type: "password", username: email, password: PASSWORD }));
    expect(refused.status).toBe(400);
    expect((await refused.json<any>()).error_description).toContain("not verified");
    const mail = await mailTo(DB, email);
    const token = /token: (\S+)/.exec(mail)![1]!;
    expect(mail).toContain("/v1/auth/verify-email");
    expect((await gatewayWith(on, "/v1/auth/verify-email", json("POST", { token: "x".repeat(43) }))).status).toBe(400);
    expect((await gatewayWith(on, "/v1/auth/verify-email", json("POST", { token }))).status).toBe(204);
    expect((await gatewayWith(on, "/v1/auth/verify-email", json("POST", { token }))).status).toBe(400);
    const ok = await gatewayWith(on, "/v1/auth/token", form({ grant_type: "password", username: email, password: PASSWORD }));
    expect(ok.status, await ok.clone().text()).toBe(200);
  });

  it("defaults to on outside local development and to off on a plain-http loopback issuer", async () => {
    const remote = `remote-${crypto.randomUUID()}@example.com`;
    expect((await gatewayWith({ EMAIL_VERIFICATION: "" }, "/v1/auth/register", registration(remote))).status).toBe(201);
    expect((await DB.prepare("SELECT email_verified_at FROM users WHERE email = ?").bind(remote).first<any>()).email_verified_at).toBeNull();
    const local = `local-${crypto.randomUUID()}@example.com`;
    expect((await gatewayWith({ EMAIL_VERIFICATION: "", ISSUER: "" }, "/v1/auth/register", registration(local), "http://127.0.0.1:8787")).status).toBe(201);
    expect((await DB.prepare("SELECT email_verified_at FROM users WHERE email = ?").bind(local).first<any>()).email_verified_at).not.toBeNull();
  });

  it("resend answers 202 whatever the email, and mails only an unverified account", async () => {
    const res = await gatewayWith(
      { EMAIL_VERIFICATION: "on" },
      "/v1/auth/verify-email/resend",
      json("POST", { email: `nobody-${crypto.randomUUID()}@example.com` }),
    );
    expect(res.status).toBe(202);
  });
});
