// The credentials Worker (passkey verification, the common-password list) cannot be reached: every
// passkey call, and setting a password, answers 503 problem+json with nothing of the failure in its
// body, and nothing is stored. (Its fixture fails password checks only for "credentials-down".)
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sealToken } from "../../src/identity/mfa/sealed";
import { b64url } from "../browser";
import { bearer, call, expectProblem, json, registerOrganization, type Account } from "../helpers";

let admin: Account;

beforeAll(async () => {
  admin = await registerOrganization("Credentials down");
});

async function expectUnavailable(res: Response, detail = "Passkeys are unavailable right now. Try again shortly.") {
  const text = await res.clone().text();
  expect(text).not.toContain("secret");
  expect(text).not.toContain("fire");
  const body = await expectProblem(res, 503);
  expect(body.detail).toBe(detail);
}

describe("the credentials Worker down", () => {
  it("options for a new passkey and for a sign-in: 503", async () => {
    await expectUnavailable(await call("/v1/auth/mfa/passkeys/options", bearer(admin.access_token, { method: "POST" })));
    await expectUnavailable(await call("/v1/auth/passkey/options", json("POST", {})));
  });

  it("a registration answering a real challenge: 503, and no passkey stored", async () => {
    const secret = (env as unknown as { SIGNING_KEYS_SECRET: string }).SIGNING_KEYS_SECRET;
    const sealed = await sealToken(secret, { purpose: "webauthn-register", uid: admin.user_id }, 300);
    const clientData = { type: "webauthn.create", challenge: b64url(new TextEncoder().encode(sealed)), origin: "https://gateway.example" };
    const response = {
      id: "AAAA",
      rawId: "AAAA",
      type: "public-key",
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(new TextEncoder().encode(JSON.stringify(clientData))), attestationObject: "AAAA" },
    };
    await expectUnavailable(await call("/v1/auth/mfa/passkeys", bearer(admin.access_token, json("POST", { name: "Key", response }))));
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM passkeys WHERE user_id = ?").bind(admin.user_id).first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it("setting a password (registration, a change): 503, and nothing changes", async () => {
    const email = `down-${crypto.randomUUID()}@example.com`;
    const password = "credentials-down horse battery";
    const checked = "New passwords cannot be checked right now. Try again shortly.";
    await expectUnavailable(await call("/v1/auth/register", json("POST", { email, password, name: "Down", organization_name: "Down" })), checked);
    expect(await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(email).first()).toBeNull();
    const change = { current_password: admin.password, new_password: password };
    await expectUnavailable(await call("/v1/auth/password", bearer(admin.access_token, json("POST", change))), checked);
  });
});
