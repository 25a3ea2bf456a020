// RFC 6749 2.3.1 client authentication: whatever arrives in `Authorization: Basic`, a bad
// credential is 401 invalid_client, never a 500.
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, form, json, registerOrganization } from "./helpers";

let client: { client_id: string; client_secret: string };
beforeAll(async () => {
  const admin = await registerOrganization("Client auth");
  const res = await call("/v1/clients", bearer(admin.access_token, json("POST", { name: "Basic", roles: ["viewer"] })));
  client = await res.json<any>();
});

const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

/** Authorization header values that must all be refused with invalid_client. */
const MALFORMED: [string, string][] = [
  ["bad percent-encoding in the id", `Basic ${btoa("%:x")}`],
  ["bad percent-encoding in the secret", `Basic ${btoa("x:%")}`],
  ["truncated percent-encoding", `Basic ${btoa("%4:x")}`],
  ["non-hex percent-encoding", `Basic ${btoa("%zz:%gg")}`],
  ["percent-encoded bytes that are not UTF-8", `Basic ${btoa("%ff%fe:x")}`],
  ["a lone surrogate, percent-encoded", `Basic ${btoa("%ed%a0%80:x")}`],
  ["decoded bytes that are not UTF-8", `Basic ${b64([0xff, 0xfe, 0x3a, 0x41])}`],
  ["not base64", "Basic !!!not-base64!!!"],
  ["base64 with a bad length", "Basic abcde"],
  ["no colon", `Basic ${btoa("just-an-id")}`],
  ["empty id", `Basic ${btoa(":secret")}`],
  ["empty secret", `Basic ${btoa("id:")}`],
  ["empty both", `Basic ${btoa(":")}`],
  ["nothing after the scheme", "Basic "],
  ["nothing after the scheme, no space", "Basic"],
  ["lower-case scheme, bad percent-encoding", `basic ${btoa("%:x")}`],
  ["unknown client", `Basic ${btoa(`${crypto.randomUUID()}:secret`)}`],
];

describe("HTTP Basic client credentials", () => {
  for (const [path, params] of [
    ["/v1/auth/token", { grant_type: "client_credentials" }],
    ["/v1/auth/revoke", { token: "some-refresh-token" }],
  ] as const) {
    for (const [label, authorization] of MALFORMED) {
      it(`${path}: ${label} -> 401 invalid_client`, async () => {
        const res = await call(path, form(params, { authorization }));
        expect(res.status).toBe(401);
        expect(res.headers.get("content-type")).toBe("application/json");
        expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
        expect(await res.json<any>()).toMatchObject({ error: "invalid_client", error_description: expect.any(String) });
      });
    }
  }

  it("accepts the credentials form-urlencoded (RFC 6749 2.3.1), as well as plain", async () => {
    const encoded = (s: string) => [...s].map((ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
    for (const authorization of [
      `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
      `Basic ${btoa(`${encoded(client.client_id)}:${encoded(client.client_secret)}`)}`,
      `basic   ${btoa(`${client.client_id}:${client.client_secret}`)}`,
    ]) {
      const res = await call("/v1/auth/token", form({ grant_type: "client_credentials" }, { authorization }));
      expect(res.status, authorization).toBe(200);
    }
    const revoke = await call(
      "/v1/auth/revoke",
      form({ token: "unknown-token" }, { authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}` }),
    );
    expect(revoke.status).toBe(200);
  });

  it("refuses the right id with a wrong secret", async () => {
    const res = await call("/v1/auth/token", form({ grant_type: "client_credentials" }, { authorization: `Basic ${btoa(`${client.client_id}:wrong`)}` }));
    expect(res.status).toBe(401);
  });
});
