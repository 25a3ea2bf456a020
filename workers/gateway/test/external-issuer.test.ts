import { env } from "cloudflare:workers";
import { SignJWT, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, registerOrganization, type Account } from "./helpers";

const IDP = "https://idp.example";

async function idpToken(claims: Record<string, unknown>, kid = "idp-key-1") {
  const key = await importJWK(JSON.parse((env as any).IDP_PRIVATE_JWK), "ES256");
  return new SignJWT({ scope: "read write", ...claims })
    .setProtectedHeader({ alg: "ES256", kid })
    .setIssuer(IDP)
    .setAudience("buildly")
    .setSubject("external-user-42")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key);
}

async function idpFetches(): Promise<number> {
  // The same outbound path the gateway uses reaches the IdP fixture.
  return (await (await fetch(`${IDP}/fetches`)).json<any>()).fetches;
}

let org: Account;
beforeAll(async () => {
  org = await registerOrganization("BYO IdP");
});

describe("trusted external issuers", () => {
  it("accepts a token from a configured IdP, mapping its claims to organization and roles", async () => {
    const token = await idpToken({ tenant: org.organization_id, groups: ["viewer"] });
    const me = await call("/v1/auth/me", bearer(token));
    expect(me.status).toBe(200);
    const body = await me.json<any>();
    expect(body.organization.id).toBe(org.organization_id);
    expect(body.roles).toEqual(["viewer"]);
    expect((await call("/v1/crm/contacts", bearer(token))).status).toBe(200);
    const post = await call("/v1/crm/contacts", bearer(token, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }));
    expect(post.status).toBe(403);
  });

  it("a subject and roles named in any script reach the service as they were (the identity context's header is escaped ASCII)", async () => {
    const key = await importJWK(JSON.parse((env as any).IDP_PRIVATE_JWK), "ES256");
    const subject = "jürgen-管理-😀";
    const token = await new SignJWT({ scope: "read write", tenant: org.organization_id, groups: ["viewer", "管理者"] })
      .setProtectedHeader({ alg: "ES256", kid: "idp-key-1" })
      .setIssuer(IDP)
      .setAudience("buildly")
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);
    const res = await call("/v1/fixture/echo", bearer(token));
    expect(res.status).toBe(200);
    const seen = await res.json<any>();
    expect(seen.context.user_id).toBe(`${IDP}#${subject}`);
    expect(seen.context.roles).toEqual(["viewer", "管理者"]);
    expect(seen.context.organization_id).toBe(org.organization_id);
  });

  it("checks their scope like ours (scope, or an scp list): none is 403, read alone cannot write", async () => {
    const none = await idpToken({ tenant: org.organization_id, groups: ["admin"], scope: "" });
    const noneRes = await call("/v1/crm/contacts", bearer(none));
    expect(noneRes.status).toBe(403);
    expect(noneRes.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    const readOnly = await idpToken({ tenant: org.organization_id, groups: ["admin"], scope: undefined, scp: ["read"] });
    expect((await call("/v1/crm/contacts", bearer(readOnly))).status).toBe(200);
    const write = await call(
      "/v1/crm/contacts",
      bearer(readOnly, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "X" }) }),
    );
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate")).toContain('scope="write"');
  });

  it("refuses its tokens for the wrong audience or without an organization claim", async () => {
    const key = await importJWK(JSON.parse((env as any).IDP_PRIVATE_JWK), "ES256");
    const wrongAud = await new SignJWT({ tenant: org.organization_id })
      .setProtectedHeader({ alg: "ES256", kid: "idp-key-1" })
      .setIssuer(IDP)
      .setAudience("other")
      .setSubject("x")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);
    expect((await call("/v1/auth/me", bearer(wrongAud))).status).toBe(401);
    expect((await call("/v1/auth/me", bearer(await idpToken({ groups: ["admin"] })))).status).toBe(401);
  });

  it("does not let unknown kids hammer the IdP: one refetch, then a cooldown", async () => {
    const before = await idpFetches();
    const bogus = await Promise.all(Array.from({ length: 10 }, (_, i) => idpToken({ tenant: org.organization_id }, `unknown-${i}`)));
    const results = await Promise.all(bogus.map((t) => call("/v1/auth/me", bearer(t))));
    for (const r of results) expect(r.status).toBe(401);
    expect((await idpFetches()) - before).toBeLessThanOrEqual(1);
  });
});
