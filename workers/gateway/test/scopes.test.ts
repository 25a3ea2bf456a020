// OAuth2 scopes limit what a token may do, on top of the roles: `read` for GET/HEAD, `write`
// for every other method, `offline_access` for a refresh token.
import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, bearer, call, form, json, expectProblem, registerOrganization, type Account } from "./helpers";

const FULL = "openid profile email offline_access read write";
let admin: Account;
let robot: { client_id: string; client_secret: string };

const passwordGrant = (extra: Record<string, string> = {}) =>
  call("/v1/auth/token", form({ grant_type: "password", username: admin.email, password: PASSWORD, ...extra }));
const clientGrant = (extra: Record<string, string> = {}) =>
  call("/v1/auth/token", form({ grant_type: "client_credentials", ...extra }, { authorization: `Basic ${btoa(`${robot.client_id}:${robot.client_secret}`)}` }));

async function granted(res: Response) {
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<{ access_token: string; refresh_token?: string; scope: string }>();
}

/** Reads and writes on a service and on admin routes, and who the token is. */
async function probe(token: string) {
  const as = (path: string, init: RequestInit = {}) => call(path, bearer(token, init));
  const created = await as("/v1/crm/contacts", json("POST", { first_name: "S", last_name: "S", email: `s-${crypto.randomUUID()}@example.com` }));
  const existing = (
    await (
      await call(
        "/v1/crm/contacts",
        json("POST", { first_name: "T", last_name: "T", email: `t-${crypto.randomUUID()}@example.com` }, { authorization: `Bearer ${admin.access_token}` }),
      )
    ).json<any>()
  ).id;
  return {
    me: (await as("/v1/auth/me")).status,
    read: (await as("/v1/crm/contacts")).status,
    head: (await as("/v1/crm/contacts", { method: "HEAD" })).status,
    create: created.status,
    update: (await as(`/v1/crm/contacts/${existing}`, json("PATCH", { first_name: "U" }))).status,
    delete: (await as(`/v1/crm/contacts/${existing}`, { method: "DELETE" })).status,
    adminRead: (await as("/v1/users")).status,
    adminWrite: (await as("/v1/clients", json("POST", { name: "x", roles: ["viewer"] }))).status,
    orgRead: (await as("/v1/organizations/current")).status,
    // An invalid body: 422 once the scope allows the call (and no password is checked).
    passwordChange: (await as("/v1/auth/password", json("POST", { current_password: "x", new_password: "short" }))).status,
  };
}

beforeAll(async () => {
  admin = await registerOrganization("Scopes");
  const res = await call("/v1/clients", bearer(admin.access_token, json("POST", { name: "Scoped robot", roles: ["admin"] })));
  robot = await res.json<any>();
});

describe("granting", () => {
  it("grants every scope the password grant allows when none is asked for, with a refresh token", async () => {
    const t = await granted(await passwordGrant());
    expect(t.scope).toBe(FULL);
    expect(typeof t.refresh_token).toBe("string");
    const claims = JSON.parse(atob(t.access_token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.scope).toBe(FULL);
  });

  it("gives a refresh token only with offline_access", async () => {
    expect((await granted(await passwordGrant({ scope: "read write" }))).refresh_token).toBeUndefined();
    const t = await granted(await passwordGrant({ scope: "read offline_access" }));
    expect(t.scope).toBe("offline_access read");
    const refreshed = await granted(await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: t.refresh_token! })));
    expect(refreshed.scope).toBe("offline_access read");
    // A refresh may narrow the scope, never widen it.
    const wider = await call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token: refreshed.refresh_token!, scope: "read write" }));
    expect(wider.status).toBe(400);
    expect((await wider.json<any>()).error).toBe("invalid_scope");
  });

  it("gives client_credentials read and write only: no offline_access, no OpenID scopes", async () => {
    const t = await granted(await clientGrant());
    expect(t.scope).toBe("read write");
    expect(t.refresh_token).toBeUndefined();
    for (const scope of ["offline_access", "read offline_access", "openid", "profile", "email"]) {
      const res = await clientGrant({ scope });
      expect(res.status, scope).toBe(400);
      expect(await res.json<any>(), scope).toMatchObject({ error: "invalid_scope" });
    }
    expect((await granted(await clientGrant({ scope: "read" }))).scope).toBe("read");
  });

  it("answers invalid_scope (RFC 6749 5.2) for unknown, misspelled or wrongly separated scopes", async () => {
    for (const scope of ["admin", "READ", "read,write", "read\twrite", "crm:write", "read write*", "openid\u00a0read"]) {
      const res = await passwordGrant({ scope });
      expect(res.status, JSON.stringify(scope)).toBe(400);
      const body = await res.json<any>();
      expect(body.error, JSON.stringify(scope)).toBe("invalid_scope");
      expect(typeof body.error_description).toBe("string");
    }
  });

  it("keeps the legacy scope api working: it means everything the grant allows", async () => {
    expect((await granted(await passwordGrant({ scope: "api" }))).scope).toBe(FULL);
    expect((await granted(await clientGrant({ scope: "api" }))).scope).toBe("read write");
    expect((await granted(await passwordGrant({ scope: "  read   read  " }))).scope).toBe("read");
  });
});

describe("enforcement, together with the roles", () => {
  it("openid alone: who am I, nothing else", async () => {
    const t = await granted(await passwordGrant({ scope: "openid" }));
    expect(await probe(t.access_token)).toEqual({
      me: 200,
      read: 403,
      head: 403,
      create: 403,
      update: 403,
      delete: 403,
      adminRead: 403,
      adminWrite: 403,
      orgRead: 403,
      passwordChange: 403,
    });
    const refused = await call("/v1/crm/contacts", bearer(t.access_token, json("POST", { first_name: "N", last_name: "N", email: "n@example.com" })));
    expect(refused.headers.get("www-authenticate")).toMatch(/error="insufficient_scope".*scope="write"/);
    expect((await expectProblem(refused)).detail).toContain("write");
  });

  it("read: reads everywhere the roles allow, no writes", async () => {
    const t = await granted(await passwordGrant({ scope: "read" }));
    expect(await probe(t.access_token)).toEqual({
      me: 200,
      read: 200,
      head: 200,
      create: 403,
      update: 403,
      delete: 403,
      adminRead: 200,
      adminWrite: 403,
      orgRead: 200,
      passwordChange: 403,
    });
    const seen = await (await call("/v1/fixture/echo", bearer(t.access_token))).json<any>();
    expect(seen.context.permissions.crm).toEqual(["read"]);
  });

  it("write without read: writes, no reads", async () => {
    const t = await granted(await passwordGrant({ scope: "write" }));
    expect(await probe(t.access_token)).toEqual({
      me: 200,
      read: 403,
      head: 403,
      create: 201,
      update: 200,
      delete: 204,
      adminRead: 403,
      adminWrite: 201,
      orgRead: 403,
      passwordChange: 422,
    });
  });

  it("read write (and the default): everything the roles allow", async () => {
    for (const t of [await granted(await passwordGrant({ scope: "read write" })), await granted(await passwordGrant())]) {
      expect(await probe(t.access_token)).toEqual({
        me: 200,
        read: 200,
        head: 200,
        create: 201,
        update: 200,
        delete: 204,
        adminRead: 200,
        adminWrite: 201,
        orgRead: 200,
        passwordChange: 422,
      });
    }
  });

  it("a client_credentials token with read only cannot write, whatever its roles", async () => {
    const t = await granted(await clientGrant({ scope: "read" }));
    const result = await probe(t.access_token);
    expect(result).toMatchObject({ read: 200, create: 403, update: 403, delete: 403, adminRead: 200, adminWrite: 403 });
  });

  it("roles still apply to a token with every scope", async () => {
    const email = `v-${crypto.randomUUID()}@example.com`;
    await call("/v1/users", bearer(admin.access_token, json("POST", { email, name: "V", password: PASSWORD, roles: ["viewer"] })));
    const t = await granted(await call("/v1/auth/token", form({ grant_type: "password", username: email, password: PASSWORD })));
    expect(t.scope).toBe(FULL);
    const result = await probe(t.access_token);
    expect(result).toMatchObject({ read: 200, create: 403, delete: 403, adminRead: 403, adminWrite: 403 });
  });
});

describe("discovery", () => {
  it("lists the scopes in scopes_supported and in the OpenAPI oauth2 scheme", async () => {
    const conf = await (await call("/.well-known/openid-configuration")).json<any>();
    expect(conf.scopes_supported).toEqual(["openid", "profile", "email", "offline_access", "read", "write"]);
    const doc = await (await call("/openapi.json")).json<any>();
    for (const flow of ["password", "clientCredentials"]) {
      expect(Object.keys(doc.components.securitySchemes.oauth2.flows[flow].scopes)).toEqual(expect.arrayContaining(["read", "write"]));
    }
    expect(Object.keys(doc.components.securitySchemes.oauth2.flows.clientCredentials.scopes)).not.toContain("offline_access");
  });
});
