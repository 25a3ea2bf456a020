import { describe, expect, it } from "vitest";
import { forgetMeshCatalog } from "../src/mesh/catalog/catalog";
import { ADDED_SERVICES, call, expectProblem, registerOrganization } from "./helpers";
import { as, timings, userWith } from "./mesh-helpers";

describe("GET /v1/mesh/models", () => {
  it("needs a token", async () => {
    const res = await call("/v1/mesh/models");
    expect(res.status).toBe(401);
    await expectProblem(res);
  });

  it("lists every service's models with fields and references; a service that cannot describe itself is reported and asked again next time", async () => {
    forgetMeshCatalog();
    const admin = await registerOrganization("Mesh catalog");
    const res = await as(admin.access_token)("/v1/mesh/models");
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    // Services added with `npm run new-service` are listed too; this test is about the built-in ones.
    const added = new Set(ADDED_SERVICES);
    expect(ADDED_SERVICES.filter((s) => !body.data.some((m: any) => m.service === s))).toEqual([]);
    const builtin = body.data.filter((m: any) => !added.has(m.service));
    const keys = builtin.map((m: any) => `${m.service}.${m.name}`);
    expect(keys).toEqual([
      "crm.contacts",
      "crm.companies",
      "crm.deals",
      "crm.pipelines",
      "crm.activities",
      "documents.folders",
      "documents.files",
      "appointments.calendars",
      "appointments.appointments",
      "fixture.things",
      "mirror.gadgets",
      // The gateway's own model (privacy's consent records, src/mesh/local.ts): described without a call.
      "privacy.consents",
    ]);
    const appointments = body.data.find((m: any) => m.service === "appointments" && m.name === "appointments");
    expect(appointments).toMatchObject({ path: "/appointments", title: "Appointment", searchable: true });
    expect(appointments.fields).toContainEqual({
      name: "attendees[].contact_id",
      type: "uuid",
      nullable: true,
      references: { service: "crm", model: "contacts" },
      lookup: true,
    });
    expect(builtin.filter((m: any) => m.searchable).map((m: any) => `${m.service}.${m.name}`)).toEqual([
      "crm.contacts",
      "crm.companies",
      "crm.deals",
      "documents.folders",
      "documents.files",
      "appointments.appointments",
      "fixture.things",
    ]);

    // The broken service is named, with an opaque problem; the others are served meanwhile.
    expect(res.headers.get("mesh-complete")).toBe("false");
    expect(Object.keys(body.errors)).toEqual(["broken"]);
    expect(body.errors.broken).toMatchObject({ status: 502, title: "Bad Gateway", request_id: res.headers.get("x-request-id") });
    expect(JSON.stringify(body)).not.toContain("secret");
    // One Server-Timing entry per describe() call.
    expect(timings(res).sort()).toEqual(
      ["appointments", "broken", "crm", "documents", "fixture", "mirror", ...ADDED_SERVICES].sort().map((s) => [s, "describe"]),
    );

    // Within the TTL only the failing service is asked again.
    const count = async () => (await (await as(admin.access_token)("/v1/broken/describe-count")).json<any>()).describes as number;
    const before = await count();
    const again = await as(admin.access_token)("/v1/mesh/models");
    expect(again.status).toBe(200);
    expect(timings(again)).toEqual([["broken", "describe"]]);
    expect(await count()).toBeGreaterThan(before);
  });

  it("is readable with any valid token, whatever the roles allow", async () => {
    const admin = await registerOrganization("Mesh catalog roles");
    const token = await userWith(admin.access_token, { crm: ["read"] });
    const res = await as(token)("/v1/mesh/models");
    expect(res.status).toBe(200);
    expect((await res.json<any>()).data.some((m: any) => m.service === "documents")).toBe(true);
  });

  it("is described in the OpenAPI document, with the search route", async () => {
    const doc = await (await call("/openapi.json")).json<any>();
    expect(doc.paths["/v1/mesh/models"].get.operationId).toBe("listMeshModels");
    expect(doc.paths["/v1/mesh/search"].get.operationId).toBe("searchMesh");
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["MeshModelList", "MeshModel", "MeshField", "MeshSearchResult", "MeshSearchHit"]),
    );
    expect(doc.paths["/v1/mesh/search"].get.responses["200"].headers["Mesh-Complete"]).toBeDefined();
  });
});
