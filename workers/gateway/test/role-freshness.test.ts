// Roles come from the accounts, not from the access token: a demotion takes effect on the next
// request, and what a demoted or deactivated admin created (invitations, machine clients) is
// checked again when it is used.
import { beforeEach, describe, expect, it } from "vitest";
import { PASSWORD, bearer, call, form, json, login, expectProblem, registerOrganization, type Account } from "./helpers";

const as =
  (token: string) =>
  (path: string, init: RequestInit = {}) =>
    call(path, bearer(token, init));
const uniqueEmail = (who = "user") => `${who}-${crypto.randomUUID()}@example.com`;

async function createUser(token: string, roles: string[]) {
  const res = await call("/v1/users", bearer(token, json("POST", { email: uniqueEmail(), name: "Someone", password: PASSWORD, roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  const user = await res.json<any>();
  return { id: user.id as string, email: user.email as string, ...(await login(user.email)) };
}

async function createClient(token: string, roles: string[]) {
  const res = await call("/v1/clients", bearer(token, json("POST", { name: "Robot", roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<{ client_id: string; client_secret: string }>();
}

function clientToken(client: { client_id: string; client_secret: string }) {
  return call("/v1/auth/token", form({ grant_type: "client_credentials" }, { authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}` }));
}

async function clientAccessToken(client: { client_id: string; client_secret: string }) {
  const res = await clientToken(client);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json<any>()).access_token as string;
}

async function invite(token: string, role: string) {
  const res = await call("/v1/invitations", bearer(token, json("POST", { email: uniqueEmail("invitee"), role })));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json<any>()).token as string;
}

const accept = (invitation_token: string) => call("/v1/auth/register", json("POST", { invitation_token, password: PASSWORD, name: "Invitee" }));

/** Everything an admin token could do to make a new admin, and a service write. */
async function expectNoAdminPowers(token: string, victimId: string) {
  const act = as(token);
  const attempts: [string, RequestInit][] = [
    ["/v1/clients", json("POST", { name: "Backdoor", roles: ["admin"] })],
    ["/v1/invitations", json("POST", { email: uniqueEmail("backdoor"), role: "admin" })],
    ["/v1/users", json("POST", { email: uniqueEmail("backdoor"), name: "Backdoor", password: PASSWORD, roles: ["admin"] })],
    [`/v1/users/${victimId}/roles`, json("PUT", { roles: ["admin"] })],
    ["/v1/roles", json("POST", { name: `r-${crypto.randomUUID().slice(0, 8)}`, permissions: { "*": ["delete"] } })],
    ["/v1/organizations/current", json("PATCH", { name: "Taken over" })],
    ["/v1/users", {}],
  ];
  for (const [path, init] of attempts) {
    const res = await act(path, init);
    expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(403);
    await expectProblem(res);
  }
}

let org: Account;
let second: Awaited<ReturnType<typeof createUser>>;
beforeEach(async () => {
  org = await registerOrganization("Role freshness");
  second = await createUser(org.access_token, ["admin"]);
});

describe("a role change takes effect on the next request", () => {
  it("a demoted admin's unexpired token can no longer create clients, invitations, users or role changes", async () => {
    const bystander = await createUser(org.access_token, ["viewer"]);
    expect((await as(second.access_token)("/v1/users")).status).toBe(200);
    const demoted = await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["viewer"] }));
    expect(demoted.status).toBe(200);

    await expectNoAdminPowers(second.access_token, bystander.id);
    const me = await (await as(second.access_token)("/v1/auth/me")).json<any>();
    expect(me.roles).toEqual(["viewer"]);
    expect(me.permissions.crm).toEqual(["read"]);
    // The services see the new roles too.
    const write = await as(second.access_token)("/v1/crm/contacts", json("POST", { first_name: "D", last_name: "D", email: uniqueEmail() }));
    expect(write.status).toBe(403);
    expect((await as(second.access_token)("/v1/crm/contacts")).status).toBe(200);
    const seen = await (await as(second.access_token)("/v1/fixture/echo")).json<any>();
    expect(seen.context.roles).toEqual(["viewer"]);
    // Nothing was created.
    expect((await (await as(bystander.access_token)("/v1/auth/me")).json<any>()).roles).toEqual(["viewer"]);
    const admins = (await (await as(org.access_token)("/v1/users?limit=100")).json<any>()).data.filter((u: any) => u.roles.includes("admin"));
    expect(admins.map((u: any) => u.id)).toEqual([org.user_id]);
  });

  it("a promotion takes effect at once too", async () => {
    const viewer = await createUser(org.access_token, ["viewer"]);
    const before = await as(viewer.access_token)("/v1/crm/contacts", json("POST", { first_name: "P", last_name: "P", email: uniqueEmail() }));
    expect(before.status).toBe(403);
    expect((await as(org.access_token)(`/v1/users/${viewer.id}/roles`, json("PUT", { roles: ["editor"] }))).status).toBe(200);
    const after = await as(viewer.access_token)("/v1/crm/contacts", json("POST", { first_name: "P", last_name: "P", email: uniqueEmail() }));
    expect(after.status, await after.clone().text()).toBe(201);
  });

  it("the token's roles claim is not trusted for our own tokens: only the account's roles count", async () => {
    const viewer = await createUser(org.access_token, ["viewer"]);
    const claims = JSON.parse(atob(viewer.access_token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.roles).toEqual(["viewer"]);
    // Deactivated and reactivated admins come back with the roles they hold now.
    expect((await as(org.access_token)(`/v1/users/${second.id}`, json("PATCH", { status: "deactivated" }))).status).toBe(200);
    expect((await as(second.access_token)("/v1/users")).status).toBe(401);
    expect((await as(org.access_token)(`/v1/users/${second.id}`, json("PATCH", { status: "active" }))).status).toBe(200);
    expect((await as(second.access_token)("/v1/users")).status).toBe(200);
  });
});

describe("invitations are checked again when accepted", () => {
  it("an admin invitation from an admin who was then demoted grants nothing", async () => {
    const token = await invite(second.access_token, "admin");
    expect((await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["editor"] }))).status).toBe(200);
    const res = await accept(token);
    expect(res.status).toBe(400);
    expect((await expectProblem(res)).errors).toEqual([{ path: "invitation_token", message: expect.stringContaining("no longer") }]);
  });

  it("an invitation from an admin who was then deactivated grants nothing, whatever its role", async () => {
    const adminInvite = await invite(second.access_token, "admin");
    const viewerInvite = await invite(second.access_token, "viewer");
    expect((await as(org.access_token)(`/v1/users/${second.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await accept(adminInvite)).status).toBe(400);
    expect((await accept(viewerInvite)).status).toBe(400);
  });

  it("an invitation whose inviter is still an admin works, and a refused one can still be used once the inviter is an admin again", async () => {
    const token = await invite(second.access_token, "admin");
    expect((await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["viewer"] }))).status).toBe(200);
    expect((await accept(token)).status).toBe(400);
    expect((await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["admin"] }))).status).toBe(200);
    const res = await accept(token);
    expect(res.status, await res.clone().text()).toBe(201);
    expect((await res.json<any>()).user.roles).toEqual(["admin"]);
  });

  it("an invitation made by a machine client is checked against that client and whoever created it", async () => {
    const robot = await createClient(second.access_token, ["admin"]);
    const token = await invite(await clientAccessToken(robot), "admin");
    expect((await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["viewer"] }))).status).toBe(200);
    expect((await accept(token)).status).toBe(400);
  });
});

describe("machine clients act only while whoever created them is still an active admin", () => {
  it("a client made by an admin who was then demoted can neither get tokens nor use the ones it has", async () => {
    const robot = await createClient(second.access_token, ["admin"]);
    const robotToken = await clientAccessToken(robot);
    expect((await as(robotToken)("/v1/users")).status).toBe(200);
    expect((await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["viewer"] }))).status).toBe(200);

    const refused = await clientToken(robot);
    expect(refused.status).toBe(401);
    expect((await refused.json<any>()).error).toBe("invalid_client");
    for (const [path, init] of [
      ["/v1/users", {}],
      ["/v1/clients", json("POST", { name: "Backdoor", roles: ["admin"] })],
      ["/v1/crm/contacts", {}],
    ] as const) {
      expect((await as(robotToken)(path, init)).status, path).toBe(401);
    }
  });

  it("a client made by an admin who was then deactivated stops too, whatever its roles", async () => {
    const viewerRobot = await createClient(second.access_token, ["viewer"]);
    const robotToken = await clientAccessToken(viewerRobot);
    expect((await as(org.access_token)(`/v1/users/${second.id}`, json("PATCH", { status: "deactivated" }))).status).toBe(200);
    expect((await clientToken(viewerRobot)).status).toBe(401);
    expect((await as(robotToken)("/v1/crm/contacts")).status).toBe(401);
  });

  it("a client made by a client follows the chain up to the admin who started it", async () => {
    const first = await createClient(second.access_token, ["admin"]);
    const child = await createClient(await clientAccessToken(first), ["admin"]);
    const childToken = await clientAccessToken(child);
    expect((await as(childToken)("/v1/users")).status).toBe(200);
    expect((await as(org.access_token)(`/v1/users/${second.id}/roles`, json("PUT", { roles: ["editor"] }))).status).toBe(200);
    expect((await clientToken(child)).status).toBe(401);
    expect((await as(childToken)("/v1/users")).status).toBe(401);
    // Revoking the parent client stops the child as well.
    const other = await createClient(org.access_token, ["admin"]);
    const otherChild = await createClient(await clientAccessToken(other), ["viewer"]);
    expect((await clientToken(otherChild)).status).toBe(200);
    expect((await as(org.access_token)(`/v1/clients/${other.client_id}`, { method: "DELETE" })).status).toBe(204);
    expect((await clientToken(otherChild)).status).toBe(401);
  });
});
