import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServiceHealth } from "@buildly/shared";
import { ORG_A, ORG_B, identity, serviceClient, type RpcService } from "@buildly/shared/test";

const rpc = (exports as unknown as { AppointmentsService: RpcService & { health(): Promise<ServiceHealth> } }).AppointmentsService;
const a = serviceClient(rpc, ORG_A);
const b = serviceClient(rpc, ORG_B);

const NINE_TO_FIVE = [{ start: "09:00", end: "17:00" }];
const DEFAULT_HOURS = { mon: NINE_TO_FIVE, tue: NINE_TO_FIVE, wed: NINE_TO_FIVE, thu: NINE_TO_FIVE, fri: NINE_TO_FIVE, sat: [], sun: [] };

function hours(overrides: Record<string, { start: string; end: string }[]> = {}) {
  return { ...DEFAULT_HOURS, ...overrides };
}

async function created(client: ReturnType<typeof serviceClient>, body: Record<string, unknown> = {}) {
  const res = await client.post("/calendars", { name: "Front desk", time_zone: "Europe/London", ...body });
  expect(res.status).toBe(201);
  return res.json<any>();
}

async function problemPaths(res: Response): Promise<string[]> {
  expect(res.status).toBe(422);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const problem = await res.json<any>();
  expect(problem).toMatchObject({ status: 422, title: "Unprocessable Content" });
  return problem.errors.map((e: any) => e.path);
}

describe("calendars", () => {
  it("creates, reads, updates and deletes a calendar in D1", async () => {
    const res = await a.post("/calendars", { name: "  Front desk  ", time_zone: "America/New_York" });
    expect(res.status).toBe(201);
    const cal = await res.json<any>();
    expect(cal).toMatchObject({ name: "Front desk", time_zone: "America/New_York" });
    expect(cal.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(cal.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(cal.updated_at).toBe(cal.created_at);
    expect(cal).not.toHaveProperty("organization_id");
    expect(res.headers.get("location")).toBe(`/calendars/${cal.id}`);

    const read = await a.get(`/calendars/${cal.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(cal);

    const weekend = hours({ sat: [{ start: "10:00", end: "14:00" }] });
    const updated = await a.patch(`/calendars/${cal.id}`, { name: "Reception", time_zone: "Asia/Tokyo", working_hours: weekend });
    expect(updated.status).toBe(200);
    const after = await updated.json<any>();
    expect(after).toMatchObject({ id: cal.id, name: "Reception", time_zone: "Asia/Tokyo", working_hours: weekend, created_at: cal.created_at });
    expect(after.updated_at >= cal.updated_at).toBe(true);
    expect(await (await a.get(`/calendars/${cal.id}`)).json()).toEqual(after);

    // A partial update leaves the other fields alone.
    const renamed = await (await a.patch(`/calendars/${cal.id}`, { name: "Desk 2" })).json<any>();
    expect(renamed).toMatchObject({ name: "Desk 2", time_zone: "Asia/Tokyo", working_hours: weekend });

    const del = await a.delete(`/calendars/${cal.id}`);
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await a.get(`/calendars/${cal.id}`)).status).toBe(404);
    expect((await a.delete(`/calendars/${cal.id}`)).status).toBe(404);
    expect((await a.patch(`/calendars/${cal.id}`, { name: "Ghost" })).status).toBe(404);
  });

  it("gives a new calendar Monday-to-Friday 09:00-17:00 unless told otherwise", async () => {
    const cal = await created(a);
    expect(cal.working_hours).toEqual(DEFAULT_HOURS);
    expect((await (await a.get(`/calendars/${cal.id}`)).json<any>()).working_hours).toEqual(DEFAULT_HOURS);

    const split = hours({
      mon: [
        { start: "08:00", end: "12:00" },
        { start: "13:00", end: "18:30" },
      ],
      fri: [],
    });
    const custom = await created(a, { working_hours: split });
    expect(custom.working_hours).toEqual(split);
    expect((await (await a.get(`/calendars/${custom.id}`)).json<any>()).working_hours).toEqual(split);
  });

  it("accepts IANA time zones and rejects others with 422", async () => {
    for (const tz of ["UTC", "Europe/London", "America/Argentina/Buenos_Aires", "Pacific/Chatham", "Etc/GMT+5"]) {
      expect((await created(a, { time_zone: tz })).time_zone).toBe(tz);
    }
    for (const tz of ["Mars/Olympus", "Europe/Atlantis", "Not a zone", "", "x".repeat(65)]) {
      // "" and the 65-character name fail both the length check and the zone check.
      const paths = await problemPaths(await a.post("/calendars", { name: "Desk", time_zone: tz }));
      expect([...new Set(paths)], tz).toEqual(["time_zone"]);
    }
    const mars = await (await a.post("/calendars", { name: "Desk", time_zone: "Mars/Olympus" })).json<any>();
    expect(mars.errors).toEqual([{ path: "time_zone", message: "Not an IANA time zone" }]);

    const cal = await created(a);
    expect(await problemPaths(await a.patch(`/calendars/${cal.id}`, { time_zone: "Mars/Olympus" }))).toEqual(["time_zone"]);
    expect((await (await a.get(`/calendars/${cal.id}`)).json<any>()).time_zone).toBe("Europe/London");
  });

  it("rejects UTC offsets, which are not IANA time zones", async () => {
    for (const tz of ["+01:00", "-0530"]) {
      expect(await problemPaths(await a.post("/calendars", { name: "Desk", time_zone: tz })), tz).toEqual(["time_zone"]);
    }
  });

  it("validates working hours: HH:MM on a 24-hour clock, start before end, every day present", async () => {
    const post = (working_hours: unknown) => a.post("/calendars", { name: "Desk", time_zone: "UTC", working_hours });

    const backwards = await post(hours({ mon: [{ start: "17:00", end: "09:00" }] }));
    expect(backwards.status).toBe(422);
    expect((await backwards.json<any>()).errors).toEqual([{ path: "working_hours.mon.0", message: "start must be before end" }]);
    expect(await problemPaths(await post(hours({ tue: [{ start: "10:00", end: "10:00" }] })))).toEqual(["working_hours.tue.0"]);

    for (const bad of ["9:00", "24:00", "12:60", "12-00", "noon", "12:00:00"]) {
      // The start-before-end check also runs on the malformed string, so it may add an entry for the interval.
      const paths = await problemPaths(await post(hours({ wed: [{ start: bad, end: "23:00" }] })));
      expect(paths, bad).toContain("working_hours.wed.0.start");
      expect(
        paths.filter((p) => p !== "working_hours.wed.0"),
        bad,
      ).toEqual(["working_hours.wed.0.start"]);
    }
    expect(await problemPaths(await post(hours({ fri: [{ start: "08:00", end: "25:00" }] })))).toEqual(["working_hours.fri.0.end"]);

    const { sun: _sun, ...noSunday } = DEFAULT_HOURS;
    expect(await problemPaths(await post(noSunday))).toEqual(["working_hours.sun"]);
    expect(await problemPaths(await post(hours({ mon: Array.from({ length: 9 }, () => ({ start: "09:00", end: "10:00" })) })))).toEqual(["working_hours.mon"]);

    // The edges of the clock are fine.
    expect((await post(hours({ sun: [{ start: "00:00", end: "23:59" }] }))).status).toBe(201);

    const cal = await created(a);
    expect(await problemPaths(await a.patch(`/calendars/${cal.id}`, { working_hours: hours({ thu: [{ start: "18:00", end: "08:00" }] }) }))).toEqual([
      "working_hours.thu.0",
    ]);
    expect((await (await a.get(`/calendars/${cal.id}`)).json<any>()).working_hours).toEqual(DEFAULT_HOURS);
  });

  it("rejects missing, blank and unknown fields with 422", async () => {
    expect(await problemPaths(await a.post("/calendars", {}))).toEqual(expect.arrayContaining(["name", "time_zone"]));
    expect(await problemPaths(await a.post("/calendars", { name: "   ", time_zone: "UTC" }))).toEqual(["name"]);
    expect(await problemPaths(await a.post("/calendars", { name: "x".repeat(201), time_zone: "UTC" }))).toEqual(["name"]);
    // Strict: a client cannot smuggle in another organization or its own id.
    expect((await a.post("/calendars", { name: "Desk", time_zone: "UTC", organization_id: ORG_B })).status).toBe(422);
    const cal = await created(a);
    expect((await a.patch(`/calendars/${cal.id}`, { id: crypto.randomUUID() })).status).toBe(422);
    expect((await a.patch(`/calendars/${cal.id}`, {})).status).toBe(422);
    expect((await a.get("/calendars/not-a-uuid")).status).toBe(422);
  });

  it("pages through the list with an opaque cursor, oldest first", async () => {
    const c = serviceClient(rpc, crypto.randomUUID());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await created(c, { name: `Desk ${i}` })).id);

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await c.get(`/calendars?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      const page: any = await res.json();
      sizes.push(page.data.length);
      seen.push(...page.data.map((x: any) => x.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(ids);

    const all = await (await c.get("/calendars")).json<any>();
    expect(all.data.map((x: any) => x.name)).toEqual(["Desk 0", "Desk 1", "Desk 2", "Desk 3", "Desk 4"]);
    expect(all.next_cursor).toBeNull();
    expect((await (await c.get("/calendars?limit=5")).json<any>()).next_cursor).toBeNull();
    expect(await (await serviceClient(rpc, crypto.randomUUID()).get("/calendars")).json()).toEqual({ data: [], next_cursor: null });

    for (const q of ["limit=0", "limit=101", "limit=abc", "cursor=garbage"]) {
      expect((await c.get(`/calendars?${q}`)).status, q).toBe(422);
    }
  });

  it("hides other organizations' calendars as if they did not exist", async () => {
    const cal = await created(a, { name: "Private desk" });
    for (const res of [
      await b.get(`/calendars/${cal.id}`),
      await b.patch(`/calendars/${cal.id}`, { name: "Mallory" }),
      await b.delete(`/calendars/${cal.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, detail: "No calendar has this id." });
    }
    const seenByB: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await (await b.get(`/calendars?limit=100${cursor ? `&cursor=${cursor}` : ""}`)).json();
      seenByB.push(...page.data.map((x: any) => x.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seenByB).not.toContain(cal.id);
    // B's attempts changed nothing.
    expect(await (await a.get(`/calendars/${cal.id}`)).json()).toEqual(cal);
  });

  it("answers malformed requests with problem+json", async () => {
    const badJson = await a.raw("POST", "/calendars", { body: "{nope", headers: { "content-type": "application/json" } });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get("content-type")).toBe("application/problem+json");
    expect(await badJson.json()).toMatchObject({ status: 400, title: "Bad Request", detail: "The request body is not valid JSON." });

    const text = await a.raw("POST", "/calendars", { body: JSON.stringify({ name: "Desk", time_zone: "UTC" }), headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ status: 415, title: "Unsupported Media Type" });
    expect((await a.raw("POST", "/calendars", { body: "{}" })).status).toBe(415);
    const cal = await created(a);
    expect((await a.raw("PATCH", `/calendars/${cal.id}`, { body: "{nope", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await a.raw("PATCH", `/calendars/${cal.id}`, { body: "{}", headers: { "content-type": "text/plain" } })).status).toBe(415);
    const huge = JSON.stringify({ name: "x".repeat(70 * 1024), time_zone: "UTC" });
    expect((await a.raw("POST", "/calendars", { body: huge, headers: { "content-type": "application/json" } })).status).toBe(413);

    const putList = await a.raw("PUT", "/calendars");
    expect(putList.status).toBe(405);
    expect(putList.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(putList.headers.get("content-type")).toBe("application/problem+json");
    const putOne = await a.raw("PUT", `/calendars/${cal.id}`);
    expect(putOne.status).toBe(405);
    expect(putOne.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");

    const nowhere = await a.get("/nowhere");
    expect(nowhere.status).toBe(404);
    expect(nowhere.headers.get("content-type")).toBe("application/problem+json");
    expect(await nowhere.json()).toMatchObject({ status: 404, detail: "No route matches GET /nowhere." });
    expect((await a.get(`/calendars/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it("refuses calls without a valid identity context, and any direct HTTP call", async () => {
    const noCtx = await rpc.handle(new Request("https://service.internal/calendars"), { request_id: "x" });
    expect(noCtx.status).toBe(401);
    expect(noCtx.headers.get("content-type")).toBe("application/problem+json");
    expect((await rpc.handle(new Request("https://service.internal/calendars"), null)).status).toBe(401);
    const direct = await (exports as any).default.fetch("https://appointments.example/calendars");
    expect(direct.status).toBe(401);
    expect(direct.headers.get("content-type")).toBe("application/problem+json");
  });

  it("reports health from a real D1 query and serves its OpenAPI 3.1", async () => {
    expect(await rpc.health()).toEqual({ service: "appointments", status: "ok", checks: { d1: "ok" } });
    const res = await rpc.handle(new Request("https://service.internal/openapi.json"), identity());
    expect(res.status).toBe(200);
    const doc = await res.json<any>();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Buildly Appointments");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/appointments",
      "/appointments/{id}",
      "/calendars",
      "/calendars/{id}",
      "/calendars/{id}/availability",
      "/calendars/{id}/calendar.ics",
      "/calendars/{id}/feed-url",
      "/calendars/{id}/feed-url/revoke",
    ]);
    expect(Object.keys(doc.paths["/calendars/{id}"]).sort()).toEqual(["delete", "get", "patch"]);
    expect(doc.components.schemas).toHaveProperty("WorkingHours");
  });
});
