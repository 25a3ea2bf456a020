// The issuer and every URL of the security metadata come from ISSUER, never from the Host a
// client sends; without ISSUER only a loopback host (local development) may stand in for it.
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { PASSWORD, form, expectProblem, registerOrganization, type Account } from "./helpers";

/** ISSUER in vitest.config.ts. */
const ISSUER = "https://gateway.example";

/** The gateway Worker with the given vars over the test ones, called with any URL (hence any Host). */
async function gatewayWith(vars: Record<string, string>, url: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, init), { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const METADATA_URLS = ["issuer", "jwks_uri", "token_endpoint", "revocation_endpoint", "userinfo_endpoint"];

/** Hosts an attacker might send: other names, case, a trailing dot, ports, userinfo-like tricks. */
const HOSTILE = [
  "https://evil.example",
  "http://evil.example:8787",
  "https://GATEWAY.EXAMPLE.",
  "https://gateway.example.",
  "https://gateway.example:444",
  "https://gateway.example.evil.example",
  "https://localhost.evil.example",
  "https://127.0.0.1.nip.io",
];

let acct: Account;
beforeAll(async () => {
  acct = await registerOrganization("Issuer");
});

describe("with ISSUER set", () => {
  for (const origin of [...HOSTILE, "http://localhost:8787", "http://127.0.0.1:9999"]) {
    it(`discovery, JWKS and tokens name ISSUER whatever the Host (${origin})`, async () => {
      const conf = await gatewayWith({}, `${origin}/.well-known/openid-configuration`, { headers: { "x-forwarded-host": "evil.example" } });
      expect(conf.status).toBe(200);
      const body = await conf.json<any>();
      expect(body.issuer).toBe(ISSUER);
      for (const key of METADATA_URLS) expect(body[key].startsWith(ISSUER), key).toBe(true);
      expect(JSON.stringify(body)).not.toMatch(/evil|localhost|127\.0\.0\.1|gateway\.example\.|GATEWAY|:444/);

      const jwks = await gatewayWith({}, `${origin}/.well-known/jwks.json`);
      expect(jwks.status).toBe(200);
      const tok = await gatewayWith({}, `${origin}/v1/auth/token`, form({ grant_type: "password", username: acct.email, password: PASSWORD }));
      expect(tok.status).toBe(200);
      expect(decodeJwt((await tok.json<any>()).access_token).iss).toBe(ISSUER);

      const doc = await (await gatewayWith({}, `${origin}/openapi.json`)).json<any>();
      expect(doc.servers).toEqual([{ url: ISSUER }]);
      expect(doc.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe(`${ISSUER}/v1/auth/token`);
    });
  }

  it("a trailing slash in ISSUER is not doubled in the endpoint URLs", async () => {
    const body = await (await gatewayWith({ ISSUER: "https://id.example.com/" }, "https://id.example.com/.well-known/openid-configuration")).json<any>();
    expect(body.issuer).toBe("https://id.example.com");
    expect(body.token_endpoint).toBe("https://id.example.com/v1/auth/token");
  });
});

describe("without ISSUER", () => {
  for (const origin of HOSTILE) {
    it(`fails closed for a non-loopback host: 500 problem without detail (${origin})`, async () => {
      const errors: string[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void errors.push(args.map(String).join(" "));
      try {
        for (const [path, init] of [
          ["/.well-known/openid-configuration", {}],
          ["/.well-known/jwks.json", {}],
          ["/openapi.json", {}],
          ["/v1/auth/token", form({ grant_type: "password", username: acct.email, password: PASSWORD })],
          ["/v1/auth/me", { headers: { authorization: `Bearer ${acct.access_token}` } }],
        ] as const) {
          const res = await gatewayWith({ ISSUER: "" }, `${origin}${path}`, init);
          expect(res.status, path).toBe(500);
          const body = await expectProblem(res);
          expect(JSON.stringify(body), path).not.toMatch(/ISSUER|evil|localhost|stack/i);
          expect(res.headers.get("cache-control") ?? "", path).not.toContain("public");
        }
      } finally {
        console.error = original;
      }
      expect(errors.some((e) => e.includes("ISSUER"))).toBe(true);
    });
  }

  it("does not take X-Forwarded-Host for a loopback host", async () => {
    const res = await gatewayWith({ ISSUER: "" }, "https://evil.example/.well-known/openid-configuration", {
      headers: { "x-forwarded-host": "localhost:8787", host: "localhost:8787" },
    });
    expect(res.status).toBe(500);
  });

  for (const [url, expected] of [
    ["http://localhost:8787", "http://localhost:8787"],
    ["http://LocalHost:1234", "http://localhost:1234"],
    ["http://127.0.0.1:41234", "http://127.0.0.1:41234"],
    ["http://[::1]:8080", "http://[::1]:8080"],
    ["http://localhost", "http://localhost"],
  ] as const) {
    it(`uses a loopback origin as the local issuer, uncached (${url})`, async () => {
      const conf = await gatewayWith({ ISSUER: "" }, `${url}/.well-known/openid-configuration`);
      expect(conf.status).toBe(200);
      expect(conf.headers.get("cache-control")).toBe("no-store");
      const body = await conf.json<any>();
      expect(body.issuer).toBe(expected);
      expect(body.token_endpoint).toBe(`${expected}/v1/auth/token`);
      const tok = await gatewayWith({ ISSUER: "" }, `${url}/v1/auth/token`, form({ grant_type: "password", username: acct.email, password: PASSWORD }));
      expect(tok.status).toBe(200);
      expect(decodeJwt((await tok.json<any>()).access_token).iss).toBe(expected);
    });
  }
});
