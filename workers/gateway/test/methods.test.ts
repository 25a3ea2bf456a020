// Methods a path does not have: 405 with the Allow the path really has, on every route (src/upstream/methods.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, expectProblem, registerOrganization, type Account } from "./helpers";
import { created } from "./mesh-helpers";

let admin: Account;
let contact: any;

beforeAll(async () => {
  admin = await registerOrganization("Methods");
  contact = await created(admin.access_token, "/v1/crm/contacts", { first_name: "M", last_name: "Ethod", email: `${crypto.randomUUID()}@example.com` });
});

async function expect405(path: string, method: string, allow: string, token: string | null = admin.access_token) {
  const res = await call(path, token ? bearer(token, { method }) : { method });
  expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBe(405);
  expect(res.headers.get("allow"), `${method} ${path}`).toBe(allow);
  const problem = await expectProblem(res);
  expect(problem.detail).toContain(allow);
}

describe("405 with Allow", () => {
  it("on service routes, for TRACE (even for an admin), with the methods of the service's own document", async () => {
    await expect405("/v1/crm/contacts", "TRACE", "GET, HEAD, POST");
    await expect405(`/v1/crm/contacts/${contact.id}`, "TRACE", "DELETE, GET, HEAD, PATCH");
    await expect405("/v1/appointments/calendars", "TRACE", "GET, HEAD, POST");
    await expect405("/v1/crm/openapi.json", "TRACE", "GET, HEAD");
    // Without a token too, as the gateway's own routes answer.
    await expect405("/v1/crm/contacts", "TRACE", "GET, HEAD, POST", null);
    // A path the service does not have is 404, whatever the method.
    expect((await call("/v1/crm/nothing-here", bearer(admin.access_token, { method: "TRACE" }))).status).toBe(404);
  });

  it("for PUT where only PATCH exists, and for other unknown or odd methods", async () => {
    await expect405(`/v1/crm/contacts/${contact.id}`, "PUT", "DELETE, GET, HEAD, PATCH");
    await expect405("/v1/crm/contacts", "DELETE", "GET, HEAD, POST");
    await expect405("/v1/crm/contacts", "PROPFIND", "GET, HEAD, POST");
    // fetch upper-cases the standard lower-case names; PATCH on a collection is not there.
    await expect405("/v1/crm/contacts", "patch", "GET, HEAD, POST");
    await expect405(`/v1/crm/contacts/${contact.id}`, "put", "DELETE, GET, HEAD, PATCH");
  });

  it("for OPTIONS that is not a CORS preflight; a preflight is still answered 204", async () => {
    await expect405("/v1/crm/contacts", "OPTIONS", "GET, HEAD, POST");
    await expect405("/v1/users", "OPTIONS", "GET, HEAD, POST");
    const preflight = await call("/v1/crm/contacts", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });

  it("with ?join=: a method the path lacks is 405, not the data mesh's 422", async () => {
    await expect405(`/v1/crm/contacts/${contact.id}?join=documents`, "PUT", "DELETE, GET, HEAD, PATCH");
    await expect405("/v1/crm/contacts?join=documents", "TRACE", "GET, HEAD, POST");
    await expect405("/v1/crm/contacts?join=documents", "DELETE", "GET, HEAD, POST");
    await expect405("/v1/crm/contacts?join=", "PATCH", "GET, HEAD, POST");
    // A method the path has keeps join's own answers.
    const del = await call(`/v1/crm/contacts/${contact.id}?join=documents`, bearer(admin.access_token, { method: "DELETE" }));
    expect(del.status).toBe(422);
    const read = await call(`/v1/crm/contacts/${contact.id}?join=documents`, bearer(admin.access_token));
    expect(read.status).toBe(200);
  });

  it("on the gateway's own routes, the same way", async () => {
    await expect405("/v1/users", "TRACE", "GET, HEAD, POST");
    await expect405("/v1/mesh/relationships", "PUT", "GET, HEAD, POST");
    await expect405("/health", "TRACE", "GET, HEAD");
    await expect405("/v1/workflows/templates", "DELETE", "GET, HEAD, POST");
  });
});
