// The identity administration endpoints: organization, users, roles, invitations, machine clients.
import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, bearer, call, form, json, login, expectProblem, registerOrganization, type Account } from "./helpers";

let admin: Account;
let other: Account;
/** A viewer of `admin`'s organization, created through POST /v1/users. */
let viewer: { id: string; email: string; access_token: string; refresh_token: string };

const as =
  (token: string) =>
  (path: string, init: RequestInit = {}) =>
    call(path, bearer(token, init));
const asAdmin = (path: string, init: RequestInit = {}) => as(admin.access_token)(path, init);
const asOther = (path: string, init: RequestInit = {}) => as(other.access_token)(path, init);
const asViewer = (path: string, init: RequestInit = {}) => as(viewer.access_token)(path, init);

const uniqueEmail = (who = "user") => `${who}-${crypto.randomUUID()}@example.com`;

async function createUser(token: string, roles: string[] = ["viewer"], email = uniqueEmail()) {
  const res = await call("/v1/users", bearer(token, json("POST", { email, name: "Someone", password: PASSWORD, roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<any>();
}

async function createUserAndLogin(token: string, roles: string[]) {
  const user = await createUser(token, roles);
  return { id: user.id as string, email: user.email as string, ...(await login(user.email)) };
}

async function createRole(token: string, name: string, permissions: Record<string, string[]>) {
  const res = await call("/v1/roles", bearer(token, json("POST", { name, permissions })));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<any>();
}

async function createClient(token: string, roles: string[]) {
  const res = await call("/v1/clients", bearer(token, json("POST", { name: "Robot", roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<any>();
}

function clientToken(client_id: string, client_secret: string) {
  return call("/v1/auth/token", form({ grant_type: "client_credentials" }, { authorization: `Basic ${btoa(`${client_id}:${client_secret}`)}` }));
}

function passwordGrant(email: string, password = PASSWORD) {
  return call("/v1/auth/token", form({ grant_type: "password", username: email, password }));
}

function refreshGrant(refresh_token: string) {
  return call("/v1/auth/token", form({ grant_type: "refresh_token", refresh_token }));
}

const roleName = () => `r-${crypto.randomUUID().slice(0, 8)}`;

/** A record of another organization must look exactly like a record that does not exist. */
async function expectHiddenLikeMissing(otherOrgsPath: string, missingPath: string, init: RequestInit = {}) {
  const hidden = await asAdmin(otherOrgsPath, init);
  const missing = await asAdmin(missingPath, init);
  expect(hidden.status).toBe(404);
  expect(missing.status).toBe(404);
  const [h, m] = [await expectProblem(hidden), await expectProblem(missing)];
  expect(h.detail).toBe(m.detail);
}

beforeAll(async () => {
  admin = await registerOrganization("Admin tests");
  other = await registerOrganization("Other organization");
  viewer = await createUserAndLogin(admin.access_token, ["viewer"]);
});

describe("organizations", () => {
  it("GET /v1/organizations/current answers the caller's organization to any member", async () => {
    const res = await asViewer("/v1/organizations/current");
    expect(res.status).toBe(200);
    expect(await res.json<any>()).toMatchObject({ id: admin.organization_id, name: "Admin tests", settings: {} });
    const theirs = await asOther("/v1/organizations/current");
    expect((await theirs.json<any>()).id).toBe(other.organization_id);
    expect((await call("/v1/organizations/current")).status).toBe(401);
  });

  it("PATCH renames and replaces settings, admins only", async () => {
    const org = await registerOrganization("Before");
    const res = await as(org.access_token)("/v1/organizations/current", json("PATCH", { name: "After", settings: { locale: "fr-FR", nested: { a: 1 } } }));
    expect(res.status).toBe(200);
    expect(await res.json<any>()).toMatchObject({ id: org.organization_id, name: "After", settings: { locale: "fr-FR", nested: { a: 1 } } });
    // settings is replaced as a whole; name alone leaves it as it is.
    await as(org.access_token)("/v1/organizations/current", json("PATCH", { settings: { theme: "dark" } }));
    await as(org.access_token)("/v1/organizations/current", json("PATCH", { name: "Again" }));
    const read = await (await as(org.access_token)("/v1/organizations/current")).json<any>();
    expect(read).toMatchObject({ name: "Again", settings: { theme: "dark" } });
    expect(read.settings.locale).toBeUndefined();
    // Another organization is untouched.
    expect((await (await asAdmin("/v1/organizations/current")).json<any>()).name).toBe("Admin tests");
  });

  it("PATCH validates its body (422) and refuses non-admins (403)", async () => {
    for (const body of [{}, { name: "" }, { settings: "dark" }, { settings: [1] }, { name: "x", plan: "gold" }]) {
      const res = await asAdmin("/v1/organizations/current", json("PATCH", body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await expectProblem(res)).errors.length).toBeGreaterThan(0);
    }
    const forbidden = await asViewer("/v1/organizations/current", json("PATCH", { name: "Taken over" }));
    expect(forbidden.status).toBe(403);
    await expectProblem(forbidden);
  });
});

describe("users", () => {
  it("POST creates a user with roles (201, Location); the user can log in and holds those roles", async () => {
    const email = uniqueEmail("Grace");
    const res = await asAdmin("/v1/users", json("POST", { email, name: "Grace Hopper", password: PASSWORD, roles: ["editor", "viewer", "editor"] }));
    expect(res.status).toBe(201);
    const body = await res.json<any>();
    expect(body).toMatchObject({ email: email.toLowerCase(), name: "Grace Hopper", status: "active", roles: ["editor", "viewer"] });
    expect(body.password_hash).toBeUndefined();
    expect(res.headers.get("location")).toBe(`/v1/users/${body.id}`);
    const tokens = await login(email);
    const me = await (await as(tokens.access_token)("/v1/auth/me")).json<any>();
    expect(me.user.id).toBe(body.id);
    expect(me.organization.id).toBe(admin.organization_id);
    expect(me.roles).toEqual(["editor", "viewer"]);
  });

  it("POST answers 409 for an email already registered, whatever its case", async () => {
    const user = await createUser(admin.access_token);
    const res = await asAdmin("/v1/users", json("POST", { email: user.email.toUpperCase(), name: "Dup", password: PASSWORD, roles: ["viewer"] }));
    expect(res.status).toBe(409);
    expect((await expectProblem(res)).errors).toEqual([{ path: "email", message: "Already registered" }]);
    // Emails are unique across organizations too.
    const elsewhere = await asOther("/v1/users", json("POST", { email: admin.email, name: "Dup", password: PASSWORD, roles: ["viewer"] }));
    expect(elsewhere.status).toBe(409);
  });

  it("POST validates (422): email, password length, roles", async () => {
    const good = { email: uniqueEmail(), name: "N", password: PASSWORD, roles: ["viewer"] };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, email: "not-an-email" }, "email"],
      [{ ...good, password: "too-short" }, "password"],
      [{ ...good, roles: [] }, "roles"],
      [{ ...good, roles: ["viewer", "no-such-role"] }, "roles"],
      [{ ...good, name: "" }, "name"],
      [{ ...good, is_admin: true }, ""],
    ];
    for (const [body, path] of cases) {
      const res = await asAdmin("/v1/users", json("POST", body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      const p = await expectProblem(res);
      expect(
        p.errors.some((e: any) => e.path === path),
        JSON.stringify(p.errors),
      ).toBe(true);
    }
    // Nothing was created by the refused requests.
    expect((await passwordGrant(good.email)).status).toBe(400);
  });

  it("every user endpoint is for admins only (403 for a viewer, 401 without a token)", async () => {
    const target = await createUser(admin.access_token);
    const calls: [string, RequestInit][] = [
      ["/v1/users", {}],
      ["/v1/users", json("POST", { email: uniqueEmail(), name: "N", password: PASSWORD, roles: ["admin"] })],
      [`/v1/users/${target.id}`, {}],
      [`/v1/users/${target.id}`, json("PATCH", { name: "Renamed" })],
      [`/v1/users/${target.id}`, { method: "DELETE" }],
      [`/v1/users/${target.id}/roles`, json("PUT", { roles: ["admin"] })],
    ];
    for (const [path, init] of calls) {
      const res = await asViewer(path, init);
      expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(403);
      await expectProblem(res);
      expect((await call(path, init)).status).toBe(401);
    }
    const still = await (await asAdmin(`/v1/users/${target.id}`)).json<any>();
    expect(still).toMatchObject({ name: "Someone", status: "active", roles: ["viewer"] });
  });

  it("GET /v1/users pages through the organization's users only, with a cursor and a status filter", async () => {
    const org = await registerOrganization("Paging");
    const made = [await createUser(org.access_token), await createUser(org.access_token), await createUser(org.access_token)];
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await as(org.access_token)(`/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const page = await res.json<any>();
      expect(page.data.length).toBeLessThanOrEqual(2);
      ids.push(...page.data.map((u: any) => u.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(ids).toEqual([org.user_id, ...made.map((u) => u.id)]);
    const first = await (await as(org.access_token)("/v1/users?limit=1")).json<any>();
    expect(first.data[0]).toMatchObject({ id: org.user_id, roles: ["admin"], status: "active" });

    await as(org.access_token)(`/v1/users/${made[1].id}`, { method: "DELETE" });
    const deactivated = await (await as(org.access_token)("/v1/users?status=deactivated")).json<any>();
    expect(deactivated.data.map((u: any) => u.id)).toEqual([made[1].id]);

    for (const q of ["limit=0", "limit=101", "cursor=not-a-cursor", "status=gone"]) {
      const res = await as(org.access_token)(`/v1/users?${q}`);
      expect(res.status, q).toBe(422);
      await expectProblem(res);
    }
  });

  it("GET /v1/users/{id}: 200 for the organization's user, 404 for another organization's exactly like a missing one, 422 for a bad id", async () => {
    const res = await asAdmin(`/v1/users/${viewer.id}`);
    expect(res.status).toBe(200);
    expect(await res.json<any>()).toMatchObject({ id: viewer.id, email: viewer.email, roles: ["viewer"] });
    await expectHiddenLikeMissing(`/v1/users/${other.user_id}`, `/v1/users/${crypto.randomUUID()}`);
    expect((await asAdmin("/v1/users/not-a-uuid")).status).toBe(422);
  });

  it("PATCH renames a user; validates (422); another organization's user is 404 and unchanged", async () => {
    const user = await createUser(admin.access_token);
    const res = await asAdmin(`/v1/users/${user.id}`, json("PATCH", { name: "New name" }));
    expect(res.status).toBe(200);
    expect(await res.json<any>()).toMatchObject({ id: user.id, name: "New name", status: "active", roles: ["viewer"] });
    for (const body of [{}, { status: "banned" }, { name: "" }, { email: "x@example.com" }]) {
      expect((await asAdmin(`/v1/users/${user.id}`, json("PATCH", body))).status, JSON.stringify(body)).toBe(422);
    }
    await expectHiddenLikeMissing(`/v1/users/${other.user_id}`, `/v1/users/${crypto.randomUUID()}`, json("PATCH", { status: "deactivated" }));
    const theirs = await (await asOther("/v1/auth/me")).json<any>();
    expect(theirs.user.status).toBe("active");
  });

  it("deactivating a user revokes its refresh tokens at once and stops its logins; reactivating lets it back in", async () => {
    const user = await createUserAndLogin(admin.access_token, ["editor"]);
    const res = await asAdmin(`/v1/users/${user.id}`, json("PATCH", { status: "deactivated" }));
    expect(res.status).toBe(200);
    expect((await res.json<any>()).status).toBe("deactivated");
    const loggedIn = await passwordGrant(user.email);
    expect(loggedIn.status).toBe(400);
    expect((await loggedIn.json<any>()).error).toBe("invalid_grant");

    const back = await asAdmin(`/v1/users/${user.id}`, json("PATCH", { status: "active" }));
    expect((await back.json<any>()).status).toBe("active");
    expect((await passwordGrant(user.email)).status).toBe(200);
    // The refresh token was revoked at deactivation, not merely refused while deactivated.
    const refreshed = await refreshGrant(user.refresh_token);
    expect(refreshed.status).toBe(400);
    expect(await refreshed.json<any>()).toMatchObject({ error: "invalid_grant", error_description: expect.stringContaining("revoked") });
  });

  it("an admin cannot deactivate or delete themselves (409), even with another admin around", async () => {
    const org = await registerOrganization("Self");
    await createUser(org.access_token, ["admin"]);
    for (const init of [json("PATCH", { status: "deactivated" }), { method: "DELETE" }]) {
      const res = await as(org.access_token)(`/v1/users/${org.user_id}`, init);
      expect(res.status).toBe(409);
      expect((await expectProblem(res)).detail).toContain("your own account");
    }
    expect((await (await as(org.access_token)(`/v1/users/${org.user_id}`)).json<any>()).status).toBe("active");
    expect((await refreshGrant(org.refresh_token)).status).toBe(200);
  });

  it("DELETE deactivates (204): the user can no longer log in or refresh, the record remains", async () => {
    const user = await createUserAndLogin(admin.access_token, ["viewer"]);
    const res = await asAdmin(`/v1/users/${user.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await passwordGrant(user.email)).status).toBe(400);
    expect((await refreshGrant(user.refresh_token)).status).toBe(400);
    const read = await asAdmin(`/v1/users/${user.id}`);
    expect(read.status).toBe(200);
    expect(await read.json<any>()).toMatchObject({ status: "deactivated", email: user.email, roles: ["viewer"] });
    // Deleting again is harmless.
    expect((await asAdmin(`/v1/users/${user.id}`, { method: "DELETE" })).status).toBe(204);
    await expectHiddenLikeMissing(`/v1/users/${other.user_id}`, `/v1/users/${crypto.randomUUID()}`, { method: "DELETE" });
    expect((await asAdmin("/v1/users/nope", { method: "DELETE" })).status).toBe(422);
    expect((await passwordGrant(other.email)).status).toBe(200);
  });

  it("PUT /v1/users/{id}/roles replaces the roles; the next login carries them", async () => {
    const user = await createUser(admin.access_token, ["viewer"]);
    const res = await asAdmin(`/v1/users/${user.id}/roles`, json("PUT", { roles: ["editor"] }));
    expect(res.status).toBe(200);
    expect((await res.json<any>()).roles).toEqual(["editor"]);
    const again = await asAdmin(`/v1/users/${user.id}/roles`, json("PUT", { roles: ["viewer", "editor"] }));
    expect((await again.json<any>()).roles).toEqual(["editor", "viewer"]);
    const tokens = await login(user.email);
    expect((await (await as(tokens.access_token)("/v1/auth/me")).json<any>()).roles).toEqual(["editor", "viewer"]);
  });

  it("PUT roles: unknown role 422 (nothing changes), empty list 422, another organization's user 404", async () => {
    const user = await createUser(admin.access_token, ["viewer"]);
    const unknown = await asAdmin(`/v1/users/${user.id}/roles`, json("PUT", { roles: ["editor", "overlord"] }));
    expect(unknown.status).toBe(422);
    expect((await expectProblem(unknown)).errors).toEqual([{ path: "roles", message: "Unknown role overlord" }]);
    expect((await asAdmin(`/v1/users/${user.id}/roles`, json("PUT", { roles: [] }))).status).toBe(422);
    expect((await (await asAdmin(`/v1/users/${user.id}`)).json<any>()).roles).toEqual(["viewer"]);
    // The other organization's own roles are not ours either.
    const theirRole = await createRole(other.access_token, roleName(), { crm: ["read"] });
    expect((await asAdmin(`/v1/users/${user.id}/roles`, json("PUT", { roles: [theirRole.name] }))).status).toBe(422);
    await expectHiddenLikeMissing(`/v1/users/${other.user_id}/roles`, `/v1/users/${crypto.randomUUID()}/roles`, json("PUT", { roles: ["viewer"] }));
    expect((await (await asOther("/v1/auth/me")).json<any>()).user.roles).toEqual(["admin"]);
  });

  it("the organization always keeps an active admin (409), and an admin may step down when another remains", async () => {
    const org = await registerOrganization("Last admin");
    const own = as(org.access_token);
    const alone = await own(`/v1/users/${org.user_id}/roles`, json("PUT", { roles: ["editor"] }));
    expect(alone.status).toBe(409);
    await expectProblem(alone);
    expect((await (await own(`/v1/users/${org.user_id}`)).json<any>()).roles).toEqual(["admin"]);

    // A machine client with the admin role is not a user: it cannot deactivate the last admin user either.
    const robot = await createClient(org.access_token, ["admin"]);
    const robotToken = (await (await clientToken(robot.client_id, robot.client_secret)).json<any>()).access_token;
    for (const init of [json("PATCH", { status: "deactivated" }), { method: "DELETE" }]) {
      const res = await as(robotToken)(`/v1/users/${org.user_id}`, init);
      expect(res.status).toBe(409);
      expect((await expectProblem(res)).detail).toContain("without an active admin");
    }

    // A deactivated admin does not count.
    const dormant = await createUser(org.access_token, ["admin"]);
    expect((await own(`/v1/users/${dormant.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await own(`/v1/users/${org.user_id}/roles`, json("PUT", { roles: ["viewer"] }))).status).toBe(409);

    const second = await createUser(org.access_token, ["admin"]);
    const stepDown = await own(`/v1/users/${org.user_id}/roles`, json("PUT", { roles: ["editor"] }));
    expect(stepDown.status).toBe(200);
    expect((await stepDown.json<any>()).roles).toEqual(["editor"]);
    const secondTokens = await login(second.email);
    const back = await as(secondTokens.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["viewer"] }));
    expect(back.status).toBe(409);
    // The first robot acted for the admin who created it, who no longer is one: it stops (role-freshness.test.ts).
    expect((await as(robotToken)(`/v1/users/${second.id}`, { method: "DELETE" })).status).toBe(401);
    const robot2 = await createClient(secondTokens.access_token, ["admin"]);
    const robot2Token = (await (await clientToken(robot2.client_id, robot2.client_secret)).json<any>()).access_token;
    // With the first admin gone, a client may no longer remove the second one.
    expect((await as(robot2Token)(`/v1/users/${second.id}`, { method: "DELETE" })).status).toBe(409);
    // ...but it may remove a non-admin, and give the admin role back.
    expect((await as(robot2Token)(`/v1/users/${org.user_id}/roles`, json("PUT", { roles: ["admin", "editor"] }))).status).toBe(200);
    expect((await as(robot2Token)(`/v1/users/${second.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("roles", () => {
  it("any member lists and reads the organization's roles; the built-in ones come first", async () => {
    const res = await asViewer("/v1/roles");
    expect(res.status).toBe(200);
    const { data } = await res.json<any>();
    const builtins = data
      .filter((r: any) => r.builtin)
      .map((r: any) => r.name)
      .sort();
    expect(builtins).toEqual(["admin", "editor", "viewer"]);
    expect(data.find((r: any) => r.name === "viewer").permissions).toEqual({ "*": ["read"] });
    const theirs = await createRole(other.access_token, roleName(), { crm: ["read"] });
    expect(data.map((r: any) => r.id)).not.toContain(theirs.id);

    const one = await asViewer(`/v1/roles/${data[0].id}`);
    expect(one.status).toBe(200);
    expect(await one.json<any>()).toEqual(data[0]);
    await expectHiddenLikeMissing(`/v1/roles/${theirs.id}`, `/v1/roles/${crypto.randomUUID()}`);
    expect((await call("/v1/roles")).status).toBe(401);
    expect((await asViewer("/v1/roles?cursor=zzz")).status).toBe(422);
    expect((await asViewer("/v1/roles/abc")).status).toBe(422);
  });

  it("pages through roles with a cursor", async () => {
    const org = await registerOrganization("Role paging");
    await createRole(org.access_token, "sales", { crm: ["read"] });
    const first = await (await as(org.access_token)("/v1/roles?limit=3")).json<any>();
    expect(first.data).toHaveLength(3);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await (await as(org.access_token)(`/v1/roles?limit=3&cursor=${first.next_cursor}`)).json<any>();
    expect(second.data.map((r: any) => r.name)).toEqual(["sales"]);
    expect(second.next_cursor).toBeNull();
  });

  it("POST creates a custom role (201) with its actions in canonical order; a taken name is 409", async () => {
    const name = roleName();
    const res = await asAdmin("/v1/roles", json("POST", { name, permissions: { crm: ["update", "read", "read"], "*": ["read"] } }));
    expect(res.status).toBe(201);
    const role = await res.json<any>();
    expect(role).toMatchObject({ name, builtin: false, permissions: { crm: ["read", "update"], "*": ["read"] } });
    expect(res.headers.get("location")).toBe(`/v1/roles/${role.id}`);
    const dup = await asAdmin("/v1/roles", json("POST", { name, permissions: { crm: ["read"] } }));
    expect(dup.status).toBe(409);
    expect((await expectProblem(dup)).errors).toEqual([{ path: "name", message: "Already taken" }]);
    expect((await asAdmin("/v1/roles", json("POST", { name: "admin", permissions: { crm: ["read"] } }))).status).toBe(409);
    // Names are per organization.
    expect((await asOther("/v1/roles", json("POST", { name, permissions: { crm: ["read"] } }))).status).toBe(201);
  });

  it("POST validates the name, the services (from the registry) and the actions (422)", async () => {
    const cases: [unknown, string][] = [
      [{ name: "Sales", permissions: { crm: ["read"] } }, "name"],
      [{ name: "s", permissions: { crm: ["read"] } }, "name"],
      [{ name: "9lives", permissions: { crm: ["read"] } }, "name"],
      [{ name: `a${"b".repeat(40)}`, permissions: { crm: ["read"] } }, "name"],
      [{ name: roleName(), permissions: { billing: ["read"] } }, "permissions.billing"],
      [{ name: roleName(), permissions: { crm: ["write"] } }, "permissions.crm.0"],
      [{ name: roleName(), permissions: { crm: [] } }, "permissions.crm"],
      [{ name: roleName(), permissions: ["crm"] }, "permissions"],
      [{ name: roleName() }, "permissions"],
    ];
    for (const [body, path] of cases) {
      const res = await asAdmin("/v1/roles", json("POST", body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      const p = await expectProblem(res);
      expect(
        p.errors.map((e: any) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
  });

  it("role writes are for admins only (403)", async () => {
    const role = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    const calls: [string, RequestInit][] = [
      ["/v1/roles", json("POST", { name: roleName(), permissions: { "*": ["delete"] } })],
      [`/v1/roles/${role.id}`, json("PATCH", { permissions: { "*": ["delete"] } })],
      [`/v1/roles/${role.id}`, { method: "DELETE" }],
    ];
    for (const [path, init] of calls) {
      const res = await asViewer(path, init);
      expect(res.status, `${init.method} ${path}`).toBe(403);
      await expectProblem(res);
    }
    expect((await (await asAdmin(`/v1/roles/${role.id}`)).json<any>()).permissions).toEqual({ crm: ["read"] });
  });

  it("built-in roles cannot be changed or deleted (409)", async () => {
    const { data } = await (await asAdmin("/v1/roles")).json<any>();
    for (const role of data.filter((r: any) => r.builtin)) {
      const patch = await asAdmin(`/v1/roles/${role.id}`, json("PATCH", { permissions: { crm: ["read"] } }));
      expect(patch.status).toBe(409);
      await expectProblem(patch);
      expect((await asAdmin(`/v1/roles/${role.id}`, { method: "DELETE" })).status).toBe(409);
    }
    const after = await (await asAdmin("/v1/roles")).json<any>();
    expect(after.data.find((r: any) => r.name === "admin").permissions).toEqual({ "*": ["create", "read", "update", "delete"] });
  });

  it("a custom role {crm: [read]} allows reading CRM, not writing it, and nothing of documents; a PATCH applies at once", async () => {
    const role = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    const user = await createUserAndLogin(admin.access_token, [role.name]);
    const mine = as(user.access_token);
    expect((await mine("/v1/crm/contacts")).status).toBe(200);
    const write = await mine("/v1/crm/contacts", json("POST", { first_name: "No", last_name: "Way", email: "no@example.com" }));
    expect(write.status).toBe(403);
    await expectProblem(write);
    expect((await mine("/v1/documents/files")).status).toBe(403);
    expect((await (await mine("/v1/auth/me")).json<any>()).permissions).toMatchObject({ crm: ["read"], documents: [], appointments: [] });

    const patched = await asAdmin(`/v1/roles/${role.id}`, json("PATCH", { permissions: { crm: ["read"], documents: ["read"] } }));
    expect(patched.status).toBe(200);
    expect((await patched.json<any>()).permissions).toEqual({ crm: ["read"], documents: ["read"] });
    expect((await mine("/v1/documents/files")).status).toBe(200);
  });

  it("PATCH validates (422), refuses a new name (the name is fixed), and another organization's role is 404", async () => {
    const role = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    for (const body of [{}, { permissions: { nowhere: ["read"] } }, { permissions: { crm: ["fly"] } }, { name: "renamed", permissions: { crm: ["read"] } }]) {
      const res = await asAdmin(`/v1/roles/${role.id}`, json("PATCH", body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      await expectProblem(res);
    }
    const theirs = await createRole(other.access_token, roleName(), { crm: ["read"] });
    await expectHiddenLikeMissing(`/v1/roles/${theirs.id}`, `/v1/roles/${crypto.randomUUID()}`, json("PATCH", { permissions: { "*": ["delete"] } }));
    await expectHiddenLikeMissing(`/v1/roles/${theirs.id}`, `/v1/roles/${crypto.randomUUID()}`, { method: "DELETE" });
    expect((await (await asOther(`/v1/roles/${theirs.id}`)).json<any>()).permissions).toEqual({ crm: ["read"] });
  });

  it("DELETE removes an unused custom role (204); one held by a user or an active client is 409", async () => {
    const unused = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    expect((await asAdmin(`/v1/roles/${unused.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await asAdmin(`/v1/roles/${unused.id}`)).status).toBe(404);
    expect((await asAdmin("/v1/roles/not-an-id", { method: "DELETE" })).status).toBe(422);

    const held = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    const user = await createUser(admin.access_token, [held.name]);
    const inUse = await asAdmin(`/v1/roles/${held.id}`, { method: "DELETE" });
    expect(inUse.status).toBe(409);
    expect((await expectProblem(inUse)).detail).toContain("1 user(s)");
    // Still held by a deactivated user: they could be reactivated.
    await asAdmin(`/v1/users/${user.id}`, { method: "DELETE" });
    expect((await asAdmin(`/v1/roles/${held.id}`, { method: "DELETE" })).status).toBe(409);
    await asAdmin(`/v1/users/${user.id}/roles`, json("PUT", { roles: ["viewer"] }));
    expect((await asAdmin(`/v1/roles/${held.id}`, { method: "DELETE" })).status).toBe(204);

    const forRobots = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    const robot = await createClient(admin.access_token, [forRobots.name]);
    const byClient = await asAdmin(`/v1/roles/${forRobots.id}`, { method: "DELETE" });
    expect(byClient.status).toBe(409);
    expect((await expectProblem(byClient)).detail).toContain("1 active client(s)");
    expect((await asAdmin(`/v1/clients/${robot.client_id}`, { method: "DELETE" })).status).toBe(204);
    expect((await asAdmin(`/v1/roles/${forRobots.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("invitations", () => {
  it("invite -> register with the token -> log in with the invited role; the token works once", async () => {
    const email = uniqueEmail("Invitee");
    const res = await asAdmin("/v1/invitations", json("POST", { email, role: "editor" }));
    expect(res.status).toBe(201);
    const inv = await res.json<any>();
    expect(inv).toMatchObject({ email: email.toLowerCase(), role: "editor", token: expect.any(String) });
    expect(inv.token.length).toBeGreaterThanOrEqual(40);
    const days = (Date.parse(inv.expires_at) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);

    const pending = await (await asAdmin("/v1/invitations?limit=100")).json<any>();
    const listed = pending.data.find((i: any) => i.id === inv.id);
    expect(listed).toEqual({ id: inv.id, email: email.toLowerCase(), role: "editor", expires_at: inv.expires_at, created_at: inv.created_at });
    expect(JSON.stringify(pending)).not.toContain(inv.token);

    const reg = await call("/v1/auth/register", json("POST", { invitation_token: inv.token, password: PASSWORD, name: "Invitee" }));
    expect(reg.status, await reg.clone().text()).toBe(201);
    const registered = await reg.json<any>();
    expect(registered.organization.id).toBe(admin.organization_id);
    expect(registered.user).toMatchObject({ email: email.toLowerCase(), roles: ["editor"] });
    const clients = await (await asAdmin("/v1/clients?limit=100")).json<any>();
    expect(registered.console_client_id).toBe(clients.data.find((c: any) => c.first_party).client_id);

    const tokens = await login(email);
    const me = await (await as(tokens.access_token)("/v1/auth/me")).json<any>();
    expect(me.roles).toEqual(["editor"]);
    expect(me.organization.id).toBe(admin.organization_id);

    const reuse = await call("/v1/auth/register", json("POST", { invitation_token: inv.token, password: PASSWORD, name: "Again" }));
    expect(reuse.status).toBe(400);
    await expectProblem(reuse);
    const after = await (await asAdmin("/v1/invitations?limit=100")).json<any>();
    expect(after.data.map((i: any) => i.id)).not.toContain(inv.id);
  });

  it("POST validates (422: email, unknown role), refuses a registered email (409) and non-admins (403)", async () => {
    for (const [body, path] of [
      [{ email: "nope", role: "viewer" }, "email"],
      [{ email: uniqueEmail(), role: "overlord" }, "role"],
      [{ email: uniqueEmail() }, "role"],
      [{ email: uniqueEmail(), role: "viewer", token: "mine" }, ""],
    ] as const) {
      const res = await asAdmin("/v1/invitations", json("POST", body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await expectProblem(res)).errors.map((e: any) => e.path)).toContain(path);
    }
    const theirRole = await createRole(other.access_token, roleName(), { crm: ["read"] });
    expect((await asAdmin("/v1/invitations", json("POST", { email: uniqueEmail(), role: theirRole.name }))).status).toBe(422);
    const taken = await asAdmin("/v1/invitations", json("POST", { email: viewer.email.toUpperCase(), role: "viewer" }));
    expect(taken.status).toBe(409);
    await expectProblem(taken);
    for (const [path, init] of [
      ["/v1/invitations", json("POST", { email: uniqueEmail(), role: "admin" })],
      ["/v1/invitations", {}],
    ] as const) {
      const res = await asViewer(path, init);
      expect(res.status).toBe(403);
      await expectProblem(res);
    }
  });

  it("each organization lists only its own pending invitations", async () => {
    const mine = await (await asAdmin("/v1/invitations", json("POST", { email: uniqueEmail(), role: "viewer" }))).json<any>();
    const theirs = await (await asOther("/v1/invitations", json("POST", { email: uniqueEmail(), role: "viewer" }))).json<any>();
    const ours = (await (await asAdmin("/v1/invitations?limit=100")).json<any>()).data.map((i: any) => i.id);
    expect(ours).toContain(mine.id);
    expect(ours).not.toContain(theirs.id);
    expect((await asAdmin("/v1/invitations?cursor=zzz")).status).toBe(422);
  });

  it("deleting a role withdraws the pending invitations to it", async () => {
    const role = await createRole(admin.access_token, roleName(), { crm: ["read"] });
    const inv = await (await asAdmin("/v1/invitations", json("POST", { email: uniqueEmail(), role: role.name }))).json<any>();
    expect((await asAdmin(`/v1/roles/${role.id}`, { method: "DELETE" })).status).toBe(204);
    const ids = (await (await asAdmin("/v1/invitations?limit=100")).json<any>()).data.map((i: any) => i.id);
    expect(ids).not.toContain(inv.id);
    const reg = await call("/v1/auth/register", json("POST", { invitation_token: inv.token, password: PASSWORD, name: "Late" }));
    expect(reg.status).toBe(400);
  });
});

describe("machine clients", () => {
  it("create -> client_credentials with HTTP Basic -> a viewer client reads CRM through the gateway but cannot write; revoked -> invalid_client", async () => {
    const res = await asAdmin("/v1/clients", json("POST", { name: "Nightly export", roles: ["viewer"] }));
    expect(res.status).toBe(201);
    const client = await res.json<any>();
    expect(client).toMatchObject({
      name: "Nightly export",
      roles: ["viewer"],
      status: "active",
      client_id: expect.any(String),
      client_secret: expect.any(String),
    });
    expect(client.client_secret.length).toBeGreaterThanOrEqual(43);
    expect(res.headers.get("cache-control")).toBe("no-store");

    const tokenRes = await clientToken(client.client_id, client.client_secret);
    expect(tokenRes.status).toBe(200);
    const token = await tokenRes.json<any>();
    expect(token.refresh_token).toBeUndefined();
    const robot = as(token.access_token);
    expect((await robot("/v1/crm/contacts")).status).toBe(200);
    const write = await robot("/v1/crm/contacts", json("POST", { first_name: "Robo", last_name: "Writer", email: "robo@example.com" }));
    expect(write.status).toBe(403);
    await expectProblem(write);
    // A viewer client is no admin.
    expect((await robot("/v1/users")).status).toBe(403);

    expect((await clientToken(client.client_id, "wrong-secret")).status).toBe(401);

    const revoked = await asAdmin(`/v1/clients/${client.client_id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    const refused = await clientToken(client.client_id, client.client_secret);
    expect(refused.status).toBe(401);
    expect((await refused.json<any>()).error).toBe("invalid_client");
    const listed = (await (await asAdmin("/v1/clients?limit=100")).json<any>()).data.find((c: any) => c.client_id === client.client_id);
    expect(listed.status).toBe("revoked");
  });

  it("an editor client may write CRM", async () => {
    const client = await createClient(admin.access_token, ["editor"]);
    const token = (await (await clientToken(client.client_id, client.client_secret)).json<any>()).access_token;
    const created = await as(token)("/v1/crm/contacts", json("POST", { first_name: "Robo", last_name: "Writer", email: "robo@example.com" }));
    expect(created.status, await created.clone().text()).toBe(201);
  });

  it("GET /v1/clients lists the organization's clients without secrets, a page at a time", async () => {
    const org = await registerOrganization("Clients");
    const a = await createClient(org.access_token, ["viewer"]);
    const b = await createClient(org.access_token, ["editor", "viewer"]);
    await createClient(other.access_token, ["viewer"]);
    // The organization's console client comes first (made with the organization), then the machine clients.
    const first = await (await as(org.access_token)("/v1/clients?limit=1")).json<any>();
    const second = await (await as(org.access_token)(`/v1/clients?limit=1&cursor=${first.next_cursor}`)).json<any>();
    const third = await (await as(org.access_token)(`/v1/clients?limit=1&cursor=${second.next_cursor}`)).json<any>();
    expect(first.data[0]).toMatchObject({ first_party: true, client_type: "public" });
    expect([...second.data, ...third.data].map((c: any) => c.client_id)).toEqual([a.client_id, b.client_id]);
    expect(third.next_cursor).toBeNull();
    expect(third.data[0]).toEqual({
      client_id: b.client_id,
      name: "Robot",
      roles: ["editor", "viewer"],
      status: "active",
      client_type: "confidential",
      first_party: false,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials"],
      redirect_uris: [],
      post_logout_redirect_uris: [],
      scopes: ["read", "write"],
      created_at: b.created_at,
      updated_at: b.updated_at,
    });
    const text = JSON.stringify([first, second, third]);
    expect(text).not.toContain(a.client_secret);
    expect(text).not.toContain('"client_secret":');
    expect(text).not.toContain("secret_hash");
    expect((await as(org.access_token)("/v1/clients?cursor=zzz")).status).toBe(422);
    expect((await as(org.access_token)("/v1/clients?limit=1000")).status).toBe(422);
  });

  it("validates (422), is for admins only (403), and another organization's client is 404 and keeps working", async () => {
    for (const [body, path] of [
      [{ name: "", roles: ["viewer"] }, "name"],
      [{ name: "R", roles: [] }, "roles"],
      [{ name: "R", roles: ["overlord"] }, "roles"],
      [{ name: "R" }, "roles"],
    ] as const) {
      const res = await asAdmin("/v1/clients", json("POST", body));
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await expectProblem(res)).errors.map((e: any) => e.path)).toContain(path);
    }
    const theirs = await createClient(other.access_token, ["viewer"]);
    for (const [path, init] of [
      ["/v1/clients", json("POST", { name: "R", roles: ["admin"] })],
      ["/v1/clients", {}],
      [`/v1/clients/${theirs.client_id}`, { method: "DELETE" }],
    ] as const) {
      const res = await asViewer(path, init);
      expect(res.status).toBe(403);
      await expectProblem(res);
    }
    await expectHiddenLikeMissing(`/v1/clients/${theirs.client_id}`, `/v1/clients/${crypto.randomUUID()}`, { method: "DELETE" });
    expect((await asAdmin("/v1/clients/xyz", { method: "DELETE" })).status).toBe(422);
    expect((await clientToken(theirs.client_id, theirs.client_secret)).status).toBe(200);
  });
});

describe("documentation", () => {
  it("the OpenAPI document describes every admin endpoint, with examples", async () => {
    const doc = await (await call("/openapi.json")).json<any>();
    const expected: Record<string, string[]> = {
      "/v1/organizations/current": ["get", "patch"],
      "/v1/users": ["get", "post"],
      "/v1/users/{id}": ["get", "patch", "delete"],
      "/v1/users/{id}/roles": ["put"],
      "/v1/roles": ["get", "post"],
      "/v1/roles/{id}": ["get", "patch", "delete"],
      "/v1/invitations": ["get", "post"],
      "/v1/clients": ["get", "post"],
      "/v1/clients/{id}": ["delete"],
    };
    for (const [path, methods] of Object.entries(expected)) {
      for (const m of methods) {
        const op = doc.paths[path]?.[m];
        expect(op, `${m} ${path}`).toBeDefined();
        expect(op.responses["401"], `${m} ${path}`).toBeDefined();
      }
    }
    for (const name of ["UserCreate", "UserUpdate", "UserRoles", "RoleCreate", "RoleUpdate", "InvitationCreate", "ClientCreate", "OrganizationUpdate"]) {
      expect(doc.components.schemas[name]?.example, name).toBeDefined();
    }
    expect(doc.paths["/v1/users"].post.responses["409"]).toBeDefined();
  });
});
