import { describe, expect, it } from "vitest";
import { identityContextSchema } from "../src/context";
import { builtOnce, loadOnce } from "../src/load-once";

describe("built on first use", () => {
  it("builtOnce builds on the first call only and keeps what it built", () => {
    let builds = 0;
    const get = builtOnce(() => ({ n: ++builds }));
    expect(builds).toBe(0);
    const first = get();
    expect(get()).toBe(first);
    expect(builds).toBe(1);
  });

  it("builtOnce keeps nothing from a build that throws: the next call builds again", () => {
    let calls = 0;
    const get = builtOnce(() => {
      calls++;
      if (calls === 1) throw new Error("first build fails");
      return calls;
    });
    expect(() => get()).toThrow("first build fails");
    expect(get()).toBe(2);
    expect(get()).toBe(2);
  });

  it("loadOnce shares one load and forgets a failed one", async () => {
    let loads = 0;
    const load = loadOnce(async () => {
      loads++;
      if (loads === 1) throw new Error("first load fails");
      return loads;
    });
    await expect(load()).rejects.toThrow("first load fails");
    const [a, b] = await Promise.all([load(), load()]);
    expect([a, b, loads]).toEqual([2, 2, 2]);
  });

  it("the identity context schema is built once and checks as before", () => {
    expect(identityContextSchema()).toBe(identityContextSchema());
    const ok = identityContextSchema().safeParse({ request_id: "r1", user_id: null, organization_id: "o1", roles: [], permissions: { contacts: ["read"] } });
    expect(ok.success && ok.data).toMatchObject({ client_id: null, system: false });
    expect(identityContextSchema().safeParse({ request_id: "", user_id: null, organization_id: "o1", roles: [], permissions: {} }).success).toBe(false);
    expect(
      identityContextSchema().safeParse({ request_id: "r1", user_id: null, organization_id: "o1", roles: [], permissions: { contacts: ["write"] } }).success,
    ).toBe(false);
  });
});
