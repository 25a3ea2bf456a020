// Password rules (NIST SP 800-63B: a blocklist and no trivial passwords, no composition rules)
// on every way a password is set, and password-reset tokens that die together.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
// The list lives in the credentials Worker (workers/credentials); the rules ask it over the CREDENTIALS binding.
import { COMMON_PASSWORDS_FRONT_CODED } from "../../credentials/src/common-passwords";
import { decodeCommonPasswords } from "../../credentials/src/passwords";
import { passwordProblem } from "../src/identity/password-policy";
import { PASSWORD, bearer, call, form, json, login, mailTo, expectProblem, registerOrganization, type Account } from "./helpers";

const DB = (env as any).DB as D1Database;

/** Weak passwords and the rule each breaks (a word of the 422 message). */
const WEAK: [string, RegExp][] = [
  ["aaaaaaaaaa", /same character/],
  ["          ", /whitespace/],
  ["\t\t\t\t\t\t\t\t\t\t\t", /whitespace/],
  ["\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000", /whitespace/],
  ["1234567890", /sequence/],
  ["0987654321", /sequence/],
  ["abcdefghijkl", /sequence/],
  ["ZYXWVUTSRQPO", /sequence/],
  ["7890123456", /sequence/],
  ["ababababababab", /repeat/],
  ["123123123123", /repeat/],
  ["password12", /common/],
  ["PASSWORD12", /common/],
  ["  password12  ", /common/],
  ["Ｐａｓｓｗｏｒｄ１２", /common/],
  ["qwertyuiop", /common/],
  ["iloveyou12", /common/],
  ["Dragon2024!!", /common/],
  ["!!monkey123456", /common/],
  ["pass word 1234", /common/],
];

const STRONG = [PASSWORD, "a brand new password", "Tr0ub4dor&3 horse", "reset password 123", "ten chars!"];

async function expectRefused(res: Response, path: string, rule: RegExp, label: string) {
  expect(res.status, label).toBe(422);
  const body = await expectProblem(res);
  const error = body.errors.find((e: any) => e.path === path);
  expect(error, `${label}: ${JSON.stringify(body.errors)}`).toBeDefined();
  expect(error.message, label).toMatch(rule);
}

let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Password rules");
});

describe("the rules", () => {
  it("refuses each weak password for the rule it breaks, and accepts good ones", async () => {
    for (const [pw, rule] of WEAK) expect(await passwordProblem(pw), JSON.stringify(pw)).toMatch(rule);
    for (const pw of STRONG) expect(await passwordProblem(pw), pw).toBeUndefined();
    expect(await passwordProblem("all about grace.hopper", "Grace.Hopper@example.com")).toMatch(/email/);
    expect(await passwordProblem("all about GRACE.HOPPER!", "grace.hopper@example.com")).toMatch(/email/);
    expect(await passwordProblem("all about grace hopper", "grace.hopper@example.com")).toBeUndefined();
  });
});

describe("every way to set a password applies them", () => {
  it("registration of an organization", async () => {
    for (const [pw, rule] of WEAK) {
      const res = await call(
        "/v1/auth/register",
        json("POST", { email: `w-${crypto.randomUUID()}@example.com`, password: pw, name: "W", organization_name: "Weak" }),
      );
      await expectRefused(res, "password", rule, JSON.stringify(pw));
    }
    const local = `marguerite${crypto.randomUUID().slice(0, 8)}`;
    const res = await call(
      "/v1/auth/register",
      json("POST", { email: `${local}@example.com`, password: `my name is ${local.toUpperCase()}`, name: "M", organization_name: "Weak" }),
    );
    await expectRefused(res, "password", /email/, "local part");
  });

  it("an admin creating a user", async () => {
    for (const [pw, rule] of WEAK.slice(0, 6)) {
      const res = await call(
        "/v1/users",
        bearer(admin.access_token, json("POST", { email: `w-${crypto.randomUUID()}@example.com`, name: "W", password: pw, roles: ["viewer"] })),
      );
      await expectRefused(res, "password", rule, JSON.stringify(pw));
    }
  });

  it("accepting an invitation (the invited email's local part counts), and the invitation stays usable", async () => {
    const local = `ingrid${crypto.randomUUID().slice(0, 8)}`;
    const inv = await (await call("/v1/invitations", bearer(admin.access_token, json("POST", { email: `${local}@example.com`, role: "viewer" })))).json<any>();
    for (const [pw, rule] of [...WEAK.slice(0, 4), [`hello ${local} 2024`, /email/] as [string, RegExp]]) {
      const res = await call("/v1/auth/register", json("POST", { invitation_token: inv.token, password: pw, name: "I" }));
      await expectRefused(res, "password", rule, JSON.stringify(pw));
    }
    const ok = await call("/v1/auth/register", json("POST", { invitation_token: inv.token, password: PASSWORD, name: "I" }));
    expect(ok.status, await ok.clone().text()).toBe(201);
  });

  it("changing one's password", async () => {
    const acct = await registerOrganization("Weak change", `claude${crypto.randomUUID().slice(0, 8)}@example.com`);
    const local = acct.email.split("@")[0]!;
    for (const [pw, rule] of [...WEAK.slice(10, 16), [`${local}-forever`, /email/] as [string, RegExp]]) {
      const res = await call("/v1/auth/password", bearer(acct.access_token, json("POST", { current_password: PASSWORD, new_password: pw })));
      await expectRefused(res, "new_password", rule, JSON.stringify(pw));
    }
    // Refused before the current password was even checked: nothing counted against the account.
    expect((await login(acct.email)).access_token).toBeTruthy();
  });

  it("confirming a reset, and the reset token stays usable after a refusal", async () => {
    const acct = await registerOrganization("Weak reset", `rosalind${crypto.randomUUID().slice(0, 8)}@example.com`);
    const since = new Date().toISOString();
    expect((await call("/v1/auth/password-reset", json("POST", { email: acct.email }))).status).toBe(202);
    const token = resetToken(await mailTo(DB, acct.email, since));
    for (const [pw, rule] of [...WEAK.slice(4, 9), [`${acct.email.split("@")[0]} again`, /email/] as [string, RegExp]]) {
      const res = await call("/v1/auth/password-reset/confirm", json("POST", { token, new_password: pw }));
      await expectRefused(res, "new_password", rule, JSON.stringify(pw));
    }
    expect((await call("/v1/auth/password-reset/confirm", json("POST", { token, new_password: "a sound new passphrase" }))).status).toBe(204);
  });
});

function resetToken(mail: string): string {
  return /token within one hour to set a new password: (\S+)/.exec(mail)![1]!;
}

/** Asks for a reset as `asked` (any spelling of the email) and reads the token mailed to `mailbox`. */
async function requestReset(mailbox: string, asked = mailbox): Promise<string> {
  const since = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 2));
  expect((await call("/v1/auth/password-reset", json("POST", { email: asked }))).status).toBe(202);
  return resetToken(await mailTo(DB, mailbox, since));
}

describe("password reset tokens", () => {
  it("using one reset token invalidates every other outstanding one of the account", async () => {
    const acct = await registerOrganization("Reset siblings");
    const first = await requestReset(acct.email);
    const second = await requestReset(acct.email, acct.email.toUpperCase());
    const third = await requestReset(acct.email);
    expect(new Set([first, second, third]).size).toBe(3);
    expect((await call("/v1/auth/password-reset/confirm", json("POST", { token: second, new_password: "the chosen passphrase" }))).status).toBe(204);
    for (const token of [first, third, second]) {
      const res = await call("/v1/auth/password-reset/confirm", json("POST", { token, new_password: "an attacker's passphrase" }));
      expect(res.status).toBe(400);
      await expectProblem(res);
    }
    expect((await login(acct.email, "the chosen passphrase")).access_token).toBeTruthy();
  });

  it("of two sibling reset tokens used at once, exactly one sets the password", async () => {
    const acct = await registerOrganization("Reset race");
    const tokens = [await requestReset(acct.email), await requestReset(acct.email)];
    const results = await Promise.all(
      tokens.map((token, i) => call("/v1/auth/password-reset/confirm", json("POST", { token, new_password: `racing passphrase number ${i}` }))),
    );
    expect(results.map((r) => r.status).sort()).toEqual([204, 400]);
    const winner = results.findIndex((r) => r.status === 204);
    expect((await login(acct.email, `racing passphrase number ${winner}`)).access_token).toBeTruthy();
  });

  it("changing the password invalidates outstanding reset tokens", async () => {
    const acct = await registerOrganization("Reset after change");
    const pending = await requestReset(acct.email);
    const changed = await call(
      "/v1/auth/password",
      bearer(acct.access_token, json("POST", { current_password: PASSWORD, new_password: "changed on purpose" })),
    );
    expect(changed.status).toBe(204);
    expect((await call("/v1/auth/password-reset/confirm", json("POST", { token: pending, new_password: "an attacker's passphrase" }))).status).toBe(400);
    expect((await login(acct.email, "changed on purpose")).access_token).toBeTruthy();
  });

  it("answers 202 with no body for known, unknown and deactivated accounts alike", async () => {
    const acct = await registerOrganization("Reset answers");
    const answers = await Promise.all(
      [acct.email, `ghost-${crypto.randomUUID()}@example.com`, acct.email.toUpperCase()].map((email) =>
        call("/v1/auth/password-reset", json("POST", { email })),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(202);
      expect(await res.text()).toBe("");
      expect([...res.headers.keys()].sort()).toEqual([...answers[0]!.headers.keys()].sort());
    }
  });
});

describe("logins are not affected by the rules", () => {
  it("an existing account whose password predates the rules still logs in", async () => {
    const acct = await registerOrganization("Old password");
    // Set a password the rules would refuse, straight in the database, as an old account might have.
    const { hashPassword } = await import("../src/identity/crypto");
    await DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?")
      .bind(await hashPassword("password12"), acct.user_id)
      .run();
    const res = await call("/v1/auth/token", form({ grant_type: "password", username: acct.email, password: "password12" }));
    expect(res.status).toBe(200);
  });
});

describe("the common-password list (front-coded in the credentials Worker's bundle)", () => {
  it("decodes to the 11408 entries it was generated from, sorted and distinct", () => {
    const list = decodeCommonPasswords(COMMON_PASSWORDS_FRONT_CODED);
    expect(list).toHaveLength(11408);
    for (let i = 1; i < list.length; i++) expect(list[i - 1]! < list[i]!).toBe(true);
    // The first, the last and a few long and short ones of the list as it was stored plain.
    for (const p of ["123456", "password", "qwertyuiop", "voxstrange", "87654321vv", "passwordpassword", "1qaz2wsx", "000777fffa"]) {
      expect(list).toContain(p);
    }
    expect(list).not.toContain("");
    expect(list.every((p) => /^[!-~]{4,}$/.test(p))).toBe(true);
  });

  it("every entry of 10+ characters is refused as a password", async () => {
    const long = decodeCommonPasswords(COMMON_PASSWORDS_FRONT_CODED).filter((p) => p.length >= 10);
    expect(long.length).toBeGreaterThan(1000);
    for (const p of long) expect(await passwordProblem(p), p).toBeDefined();
  });
});
