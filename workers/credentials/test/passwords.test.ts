// The common-password list over RPC, as the gateway's password rules ask it (their own cases,
// through the gateway, are in workers/gateway/test/passwords.test.ts).
import type { CredentialsRpc } from "@buildly/shared/credentials";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const rpc = (exports as unknown as { CredentialsService: { isCommonPassword(input: unknown): ReturnType<CredentialsRpc["isCommonPassword"]> } })
  .CredentialsService;

describe("isCommonPassword", () => {
  it("finds listed passwords, folded and with digits or symbols around them, and nothing else", async () => {
    for (const password of ["password", "PASSWORD", "pass word", "Dragon2024!", "!!qwertyuiop!!", "ｐａｓｓｗｏｒｄ"]) {
      expect(await rpc.isCommonPassword({ password }), password).toEqual({ ok: true, data: { common: true } });
    }
    for (const password of ["correct horse battery", "dra", "tangerine-armchair-7", ""]) {
      expect(await rpc.isCommonPassword({ password }), password).toEqual({ ok: true, data: { common: false } });
    }
  });

  it("rejects input that breaks the contract with a 422", async () => {
    for (const bad of [null, "password", {}, { password: 42 }, { password: "x".repeat(1_048_577) }]) {
      expect(await rpc.isCommonPassword(bad), JSON.stringify(bad)?.slice(0, 40)).toMatchObject({ ok: false, error: { status: 422 } });
    }
  });
});
