import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, registerOrganization, type Account } from "./helpers";
import { as, created, nextSlot, timings, uploadedFile, userWith } from "./mesh-helpers";

/** A word no other test uses: FTS5 reads it as one token. */
const unique = (prefix: string) => `${prefix}${crypto.randomUUID().replace(/-/g, "").slice(0, 8)}`;

let admin: Account;
let word: string;
let hits: Record<string, any>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh search");
  word = unique("Zorblax");
  const calendar = await created(admin.access_token, "/v1/appointments/calendars", { name: "Desk", time_zone: "UTC" });
  hits = {
    company: await created(admin.access_token, "/v1/crm/companies", { name: word }),
    contact: await created(admin.access_token, "/v1/crm/contacts", { first_name: "Ada", last_name: word, email: `${word.toLowerCase()}@example.com` }),
    file: await uploadedFile(admin.access_token, `${word} notes.txt`),
    appointment: await created(admin.access_token, "/v1/appointments/appointments", { calendar_id: calendar.id, title: `${word} review`, ...nextSlot() }),
  };
});

const ALL = "crm.contacts,crm.companies,crm.deals,documents.files,documents.folders,appointments.appointments";
const search = (token: string, query: string) => as(token)(`/v1/mesh/search?${query}`);

describe("GET /v1/mesh/search", () => {
  it("searches every service at once, best first, each hit with the record's gateway url", async () => {
    const res = await search(admin.access_token, `q=${word.toLowerCase()}&models=${ALL}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("true");
    const body = await res.json<any>();
    expect(body.errors).toBeUndefined();
    // The exact name (1), names that start with the query (0.9; ties in registry order), then the
    // contact, whose email starts with the query (0.8 x 0.9).
    expect(body.data.map((h: any) => [h.service, h.model, h.id, h.score])).toEqual([
      ["crm", "companies", hits.company.id, 1],
      ["documents", "files", hits.file.id, 0.9],
      ["appointments", "appointments", hits.appointment.id, 0.9],
      ["crm", "contacts", hits.contact.id, 0.72],
    ]);
    expect(body.data[0]).toEqual({
      id: hits.company.id,
      service: "crm",
      model: "companies",
      name: word,
      type: "company",
      description: null,
      url: `/v1/crm/companies/${hits.company.id}`,
      score: 1,
    });
    expect(body.data[1]).toMatchObject({ type: "file", name: `${word} notes.txt`, url: `/v1/documents/files/${hits.file.id}` });
    expect(body.data[2]).toMatchObject({ type: "appointment", url: `/v1/appointments/appointments/${hits.appointment.id}` });
    expect(body.next_cursor).toBeNull();
    // Each url is the record.
    for (const hit of body.data) {
      const record = await as(admin.access_token)(hit.url);
      expect(record.status, hit.url).toBe(200);
      expect((await record.json<any>()).id).toBe(hit.id);
    }
    // One Server-Timing entry per service asked.
    expect(timings(res).filter(([, m]) => m === "search")).toEqual([
      ["crm", "search"],
      ["documents", "search"],
      ["appointments", "search"],
    ]);
  });

  it("shows another organization none of the first's hits", async () => {
    const other = await registerOrganization("Mesh search other");
    const res = await search(other.access_token, `q=${word}&models=${ALL}`);
    expect(res.status).toBe(200);
    expect(await res.json<any>()).toEqual({ data: [], next_cursor: null });
  });

  it("without models asks every service you may read, and names any that could not be asked", async () => {
    const res = await search(admin.access_token, `q=${word}`);
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.data.map((h: any) => h.id)).toEqual([hits.company.id, hits.file.id, hits.appointment.id, hits.contact.id]);
    // The broken service cannot say what it holds: the answer says it may be incomplete.
    expect(res.headers.get("mesh-complete")).toBe("false");
    expect(Object.keys(body.errors)).toEqual(["broken"]);
  });

  it("a failing or late service does not fail the search: 200, its problem in errors, Mesh-Complete false", async () => {
    for (const [trigger, status] of [
      ["boom", 502],
      ["slowpoke", 504],
    ] as const) {
      const company = await created(admin.access_token, "/v1/crm/companies", { name: `${trigger} ${word}` });
      const res = await search(admin.access_token, `q=${trigger}+${word}&models=crm.companies,fixture.things`);
      expect(res.status, trigger).toBe(200);
      expect(res.headers.get("mesh-complete")).toBe("false");
      const body = await res.json<any>();
      expect(body.data.map((h: any) => h.id)).toEqual([company.id]);
      expect(Object.keys(body.errors)).toEqual(["fixture"]);
      expect(body.errors.fixture).toMatchObject({ status, request_id: res.headers.get("x-request-id") });
      expect(JSON.stringify(body)).not.toContain("secret");
      expect(timings(res).filter(([, m]) => m === "search")).toEqual([
        ["crm", "search"],
        ["fixture", "search"],
      ]);
    }
  });

  it("passes the caller's identity to each service (the fixture echoes the organization)", async () => {
    const res = await search(admin.access_token, `q=fixture+${word}&models=fixture.things`);
    const body = await res.json<any>();
    expect(body.data).toEqual([
      {
        id: "00000000-0000-4000-8000-00000000f001",
        service: "fixture",
        model: "things",
        name: `fixture ${word}`,
        type: "thing",
        description: admin.organization_id,
        url: "/v1/fixture/things/00000000-0000-4000-8000-00000000f001",
        score: 1,
      },
    ]);
  });

  it("asks only services the caller may read; a named one they may not is reported forbidden", async () => {
    const token = await userWith(admin.access_token, { crm: ["read"] });
    const res = await search(token, `q=${word}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("true");
    const body = await res.json<any>();
    expect(new Set(body.data.map((h: any) => h.service))).toEqual(new Set(["crm"]));
    expect(body.data.map((h: any) => h.id)).toEqual(expect.arrayContaining([hits.company.id, hits.contact.id]));
    expect(timings(res).filter(([, m]) => m === "search")).toEqual([["crm", "search"]]);

    const named = await search(token, `q=${word}&models=documents.files,crm.companies`);
    expect(named.status).toBe(200);
    expect(named.headers.get("mesh-complete")).toBe("false");
    const namedBody = await named.json<any>();
    expect(namedBody.data[0].id).toBe(hits.company.id);
    expect(new Set(namedBody.data.map((h: any) => `${h.service}.${h.model}`))).toEqual(new Set(["crm.companies"]));
    expect(namedBody.errors).toEqual({ documents: expect.objectContaining({ status: 403, title: "Forbidden" }) });
    expect(timings(named).filter(([, m]) => m === "search")).toEqual([["crm", "search"]]);
  });

  it("pages through the merged list with an opaque cursor bound to the query", async () => {
    const many = unique("Paged");
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await created(admin.access_token, "/v1/crm/companies", { name: `${many} ${i}` })).id);
    ids.add((await uploadedFile(admin.access_token, `${many}.txt`)).id);
    ids.add((await created(admin.access_token, "/v1/crm/contacts", { first_name: many, last_name: "X", email: `${many.toLowerCase()}@example.com` })).id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await search(admin.access_token, `q=${many}&models=crm.companies,crm.contacts,documents.files&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const body = await res.json<any>();
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((h: any) => h.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.length).toBe(5);
    expect(new Set(seen)).toEqual(ids);

    const first = await (await search(admin.access_token, `q=${many}&models=crm.companies&limit=1`)).json<any>();
    const elsewhere = await search(admin.access_token, `q=${word}&models=crm.companies&limit=1&cursor=${first.next_cursor}`);
    expect(elsewhere.status).toBe(422);
    expect((await expectProblem(elsewhere)).errors).toEqual([{ path: "cursor", message: "Invalid cursor" }]);
    expect((await search(admin.access_token, `q=${many}&cursor=garbage`)).status).toBe(422);
  });

  it("refuses what it cannot search: 401 without a token, 422 for a bad query or model", async () => {
    expect((await call(`/v1/mesh/search?q=${word}`)).status).toBe(401);
    const cases: [string, string][] = [
      ["", "query.q"],
      [`q=${"x".repeat(201)}`, "query.q"],
      [`q=${word}&limit=51`, "query.limit"],
      [`q=${word}&models=crm`, "query.models.0"],
      [`q=${word}&models=crm.invoices`, "models"],
      [`q=${word}&models=crm.pipelines`, "models"],
      [`q=${word}&models=nowhere.things`, "models"],
    ];
    for (const [query, path] of cases) {
      const res = await search(admin.access_token, query);
      expect(res.status, query).toBe(422);
      expect(
        (await expectProblem(res)).errors.map((e: any) => e.path),
        query,
      ).toContain(path);
    }
    // Search syntax is plain text.
    const syntax = await search(admin.access_token, `q=${encodeURIComponent('" OR * NEAR(')}&models=${ALL}`);
    expect(syntax.status).toBe(200);
  });
});
