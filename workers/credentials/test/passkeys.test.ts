// The credentials Worker over its RPC entrypoint, as the gateway calls it: the contract rejects bad
// input with a 422 naming the fields; a software authenticator's registration and sign-in verify
// round trip; a wrong origin, challenge or signature is a 400 with the verifier's reason.
import { SoftAuthenticator } from "@buildly/shared/test/webauthn";
import type { CredentialsRpc } from "@buildly/shared/credentials";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// Arguments are unknown: a test sends what the gateway never would.
type Loose<T> = { [K in keyof T]: T[K] extends (input: any) => infer R ? (input: unknown) => R : never };
const rpc = (exports as unknown as { CredentialsService: Loose<CredentialsRpc> }).CredentialsService;

const ORIGIN = "https://gateway.example";
const RP_ID = "gateway.example";
const USER = "3f2b0c1e-8a7d-4e5f-9a1b-2c3d4e5f6a7b";
const challenge = () => btoa(crypto.randomUUID()).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

async function registered(authenticator: SoftAuthenticator) {
  const options = await rpc.registrationOptions({
    rpID: RP_ID,
    userID: USER,
    userName: "ada@example.com",
    userDisplayName: "Ada",
    challenge: challenge(),
    timeoutMs: 300_000,
    excludeCredentials: [],
  });
  if (!options.ok) throw new Error(JSON.stringify(options.error));
  const response = await authenticator.register(options.data);
  const expected = { expectedChallenge: options.data.challenge as string, expectedOrigin: ORIGIN, expectedRPID: RP_ID, requireUserVerification: false };
  return { options: options.data, response, expected };
}

describe("the contract", () => {
  it("rejects input that breaks it with a 422 naming each field", async () => {
    const r = await rpc.registrationOptions({ rpID: "", userID: USER, userName: "a", challenge: "c", timeoutMs: -1, excludeCredentials: "none" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.status).toBe(422);
    expect(r.error.errors?.map((e) => e.path).sort()).toEqual(["excludeCredentials", "rpID", "timeoutMs", "userDisplayName"]);
    for (const bad of [null, "x", 42, [], { response: {} }]) {
      for (const method of ["authenticationOptions", "verifyRegistration", "verifyAuthentication"] as const) {
        const answer = await rpc[method](bad);
        expect(answer, `${method}(${JSON.stringify(bad)})`).toMatchObject({ ok: false, error: { status: 422 } });
      }
    }
  });

  it("bounds the browser's answer and the credential lists", async () => {
    const a = await SoftAuthenticator.create();
    const { response, expected } = await registered(a);
    const tooLong = await rpc.verifyRegistration({ ...expected, response: { ...response, id: "x".repeat(1401) } });
    expect(tooLong).toMatchObject({ ok: false, error: { status: 422, errors: [{ path: "response.id" }] } });
    const many = Array.from({ length: 1001 }, (_, i) => ({ id: `k${i}` }));
    const r = await rpc.authenticationOptions({ rpID: RP_ID, challenge: challenge(), timeoutMs: 1000, allowCredentials: many, userVerification: "required" });
    expect(r).toMatchObject({ ok: false, error: { status: 422, errors: [{ path: "allowCredentials" }] } });
    const notB64 = await rpc.authenticationOptions({
      rpID: RP_ID,
      challenge: challenge(),
      timeoutMs: 1000,
      allowCredentials: [{ id: "a+b/c=" }],
      userVerification: "required",
    });
    expect(notB64).toMatchObject({ ok: false, error: { status: 422 } });
  });
});

describe("a passkey's round trip", () => {
  it("registers, then signs in; the counter moves and the answer is checked against the options", async () => {
    const a = await SoftAuthenticator.create();
    const { options, response, expected } = await registered(a);
    expect(options).toMatchObject({ rp: { id: RP_ID, name: "Buildly" }, user: { name: "ada@example.com", displayName: "Ada" }, attestation: "none" });
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "preferred" });
    const reg = await rpc.verifyRegistration({ ...expected, response });
    if (!reg.ok) throw new Error(JSON.stringify(reg.error));
    expect(reg.data.credential).toMatchObject({ id: a.id, counter: 0, transports: ["internal"] });
    expect(reg.data.backedUp).toBe(false);

    const signIn = await rpc.authenticationOptions({
      rpID: RP_ID,
      challenge: challenge(),
      timeoutMs: 300_000,
      allowCredentials: [{ id: a.id, transports: ["internal"] }],
      userVerification: "required",
    });
    if (!signIn.ok) throw new Error(JSON.stringify(signIn.error));
    expect(signIn.data).toMatchObject({ rpId: RP_ID, userVerification: "required", allowCredentials: [{ id: a.id, type: "public-key" }] });
    const assertion = await a.assert(signIn.data);
    const check = {
      response: assertion,
      expectedChallenge: signIn.data.challenge as string,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      credential: reg.data.credential,
      requireUserVerification: true,
    };
    expect(await rpc.verifyAuthentication(check)).toEqual({ ok: true, data: { newCounter: 1, userVerified: true, backedUp: false } });

    // The same answer against a counter that already moved past it, another origin, another challenge.
    const replay = await rpc.verifyAuthentication({ ...check, credential: { ...check.credential, counter: 1 } });
    expect(replay).toMatchObject({ ok: false, error: { status: 400 } });
    const phished = await rpc.verifyAuthentication({ ...check, expectedOrigin: "https://gateway.example.evil.test" });
    expect(phished).toMatchObject({ ok: false, error: { status: 400, detail: expect.stringContaining("origin") } });
    const otherChallenge = await rpc.verifyAuthentication({ ...check, expectedChallenge: challenge() });
    expect(otherChallenge).toMatchObject({ ok: false, error: { status: 400, detail: expect.stringContaining("challenge") } });
    // Another key's public key: the signature does not verify.
    const other = await registered(await SoftAuthenticator.create());
    const otherReg = await rpc.verifyRegistration({ ...other.expected, response: other.response });
    if (!otherReg.ok) throw new Error(JSON.stringify(otherReg.error));
    const forged = await rpc.verifyAuthentication({ ...check, credential: { ...otherReg.data.credential, id: a.id } });
    expect(forged).toEqual({ ok: false, error: { status: 400, detail: "" } });
  });

  it("refuses a registration answered for another origin or relying party", async () => {
    const phishing = await SoftAuthenticator.create("https://gateway.example.evil.test");
    const { response, expected } = await registered(phishing);
    const r = await rpc.verifyRegistration({ ...expected, response });
    expect(r).toMatchObject({ ok: false, error: { status: 400, detail: expect.stringContaining("origin") } });
    const good = await registered(await SoftAuthenticator.create());
    const otherRp = await rpc.verifyRegistration({ ...good.expected, expectedRPID: "other.example", response: good.response });
    expect(otherRp).toMatchObject({ ok: false, error: { status: 400, detail: expect.stringContaining("RP ID") } });
  });
});

describe("no HTTP surface", () => {
  it("answers 404 to any request", async () => {
    const res = await (exports as unknown as { default: Fetcher }).default.fetch("https://credentials.internal/anything");
    expect(res.status).toBe(404);
  });
});
