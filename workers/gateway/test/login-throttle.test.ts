// Password guessing is throttled per account: one counter per normalized identity, decided
// atomically in the RateLimiter Durable Object before any password is checked.
import { describe, expect, it } from "vitest";
import { normalizeEmail } from "../src/identity/accounts";
import { PASSWORD, bearer, call, form, json, expectProblem, registerOrganization, statuses } from "./helpers";

/** LOGIN_FAILURES_LIMIT in vitest.config.ts. */
const LIMIT = 3;

const attempt = (username: string, password: string) => call("/v1/auth/token", form({ grant_type: "password", username, password }));
const changePassword = (token: string, current_password: string) =>
  call("/v1/auth/password", bearer(token, json("POST", { current_password, new_password: "a fresh passphrase for later" })));

/** Spellings of one email that the account lookup resolves to the same account. */
function spellings(email: string): string[] {
  return [
    ` ${email} `,
    `\t${email.toUpperCase()}\n`,
    `\u00a0${email}\ufeff`,
    `\u2028${email[0]!.toUpperCase()}${email.slice(1)}\u3000`,
    // KELVIN SIGN lower-cases to a plain k.
    email.replace(/k/g, "\u212a"),
  ];
}

describe("login throttling", () => {
  it("normalizes identities one way: trimmed, NFC, lower-cased", () => {
    expect(normalizeEmail("  Ada@Example.COM\t")).toBe("ada@example.com");
    expect(normalizeEmail("A\u0301da@example.com")).toBe("\u00e1da@example.com");
    expect(normalizeEmail("\u212aate@example.com")).toBe("kate@example.com");
    expect(normalizeEmail("\ufeff\u00a0kate@example.com\u3000")).toBe("kate@example.com");
  });

  it("locks every spelling of an email once the plain one is locked, even with the right password", async () => {
    const acct = await registerOrganization("Throttle plain first", `kate-${crypto.randomUUID()}@example.com`);
    for (let i = 0; i < LIMIT; i++) expect((await attempt(acct.email, `wrong password ${i}`)).status).toBe(400);
    for (const v of [acct.email, ...spellings(acct.email)]) {
      const res = await attempt(v, PASSWORD);
      expect(res.status, JSON.stringify(v)).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await res.json<any>()).toMatchObject({ error: "invalid_grant" });
    }
  });

  it("counts failures of different spellings against the same account", async () => {
    const acct = await registerOrganization("Throttle spellings", `kirk-${crypto.randomUUID()}@example.com`);
    const variants = spellings(acct.email);
    for (let i = 0; i < LIMIT; i++) expect((await attempt(variants[i]!, `wrong password ${i}`)).status, JSON.stringify(variants[i])).toBe(400);
    expect((await attempt(acct.email, PASSWORD)).status).toBe(429);
    expect((await attempt(variants[LIMIT]!, PASSWORD)).status).toBe(429);
  });

  it("admits exactly LIMIT password checks out of 20 wrong ones sent at once, whatever their spelling", async () => {
    const acct = await registerOrganization("Throttle burst", `kim-${crypto.randomUUID()}@example.com`);
    const variants = [acct.email, ...spellings(acct.email)];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(variants[i % variants.length]!, `wrong password ${i}`)));
    expect(statuses(results)).toEqual({ 400: LIMIT, 429: 20 - LIMIT });
    expect((await attempt(acct.email, PASSWORD)).status).toBe(429);
  });

  it("does not count successful logins", async () => {
    const acct = await registerOrganization("Throttle successes");
    for (let i = 0; i < LIMIT + 2; i++) expect((await attempt(acct.email, PASSWORD)).status).toBe(200);
    const together = await Promise.all(Array.from({ length: LIMIT }, () => attempt(` ${acct.email}`, PASSWORD)));
    expect(statuses(together)).toEqual({ 200: LIMIT });
  });

  it("treats an unknown email exactly like a known one: the same limit, then 429", async () => {
    const ghost = `ghost-${crypto.randomUUID()}@example.com`;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(i % 2 ? ghost : ` ${ghost.toUpperCase()}`, "not the password")));
    expect(statuses(results)).toEqual({ 400: LIMIT, 429: 10 - LIMIT });
  });
});

describe("current-password checks (POST /v1/auth/password)", () => {
  it("admits exactly LIMIT out of 20 wrong current passwords sent at once, then 429 problem+json", async () => {
    const acct = await registerOrganization("Throttle password change");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => changePassword(acct.access_token, `wrong password ${i}`)));
    expect(statuses(results)).toEqual({ 400: LIMIT, 429: 20 - LIMIT });
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await expectProblem(refused)).detail).toMatch(/too many/i);
    // The right current password waits too, and nothing changed.
    expect((await changePassword(acct.access_token, PASSWORD)).status).toBe(429);
  });

  it("shares the account's counter with logins: guesses through either door count together", async () => {
    const acct = await registerOrganization("Throttle shared", `kay-${crypto.randomUUID()}@example.com`);
    expect((await changePassword(acct.access_token, "wrong password a")).status).toBe(400);
    expect((await attempt(` ${acct.email.toUpperCase()} `, "wrong password b")).status).toBe(400);
    expect((await changePassword(acct.access_token, "wrong password c")).status).toBe(400);
    expect((await attempt(acct.email, PASSWORD)).status).toBe(429);
    expect((await changePassword(acct.access_token, PASSWORD)).status).toBe(429);
  });

  it("does not count a successful change", async () => {
    const acct = await registerOrganization("Throttle change ok");
    let current = PASSWORD;
    for (let i = 0; i < LIMIT + 1; i++) {
      const next = `another fine passphrase ${i}`;
      const res = await call("/v1/auth/password", bearer(acct.access_token, json("POST", { current_password: current, new_password: next })));
      expect(res.status, await res.clone().text()).toBe(204);
      current = next;
    }
  });
});
