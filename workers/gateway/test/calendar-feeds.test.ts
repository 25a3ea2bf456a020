import { describe, expect, it } from "vitest";
import { bearer, call, expectProblem, json, registerOrganization, type Account } from "./helpers";

/** A fresh address per test: the calendar-feeds policy counts anonymous feed calls per IP. */
const freshIp = () => `198.18.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;

async function calendarWithAppointment(account: Account, title: string) {
  const cal = await call("/v1/appointments/calendars", bearer(account.access_token, json("POST", { name: `${title} calendar`, time_zone: "Europe/Paris" })));
  expect(cal.status, await cal.clone().text()).toBe(201);
  const calendar = await cal.json<{ id: string }>();
  const appt = await call(
    "/v1/appointments/appointments",
    bearer(account.access_token, json("POST", { calendar_id: calendar.id, title, start: "2027-05-03T08:00:00Z", end: "2027-05-03T09:00:00Z" })),
  );
  expect(appt.status, await appt.clone().text()).toBe(201);
  return calendar;
}

async function rotate(account: Account, calendarId: string) {
  const res = await call(`/v1/appointments/calendars/${calendarId}/feed-url`, bearer(account.access_token, { method: "POST" }));
  expect(res.status, await res.clone().text()).toBe(201);
  expect(res.headers.get("cache-control")).toContain("no-store");
  return res.json<{ token: string; path: string }>();
}

const feed = (path: string, ip: string, init: RequestInit = {}) =>
  call(path, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), "cf-connecting-ip": ip } });

describe("secret calendar feed URLs, through the real appointments Worker", () => {
  it("answer the feed without a token, private and not stored; revoking makes the URL 404 at once", async () => {
    const admin = await registerOrganization("Feeds");
    const calendar = await calendarWithAppointment(admin, "Dentist visit");
    const { token, path } = await rotate(admin, calendar.id);
    expect(path).toBe(`/v1/appointments/feeds/${token}.ics`);
    const ip = freshIp();
    const res = await feed(path, ip);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("ratelimit-policy")).toContain('"route-calendar-feeds";q=30;w=60');
    const text = await res.text();
    expect(text).toContain("BEGIN:VEVENT");
    expect(text).toContain("SUMMARY:Dentist visit");
    const head = await feed(path, ip, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");

    const revoked = await call(`/v1/appointments/calendars/${calendar.id}/feed-url/revoke`, bearer(admin.access_token, { method: "POST" }));
    expect(revoked.status).toBe(204);
    const gone = await expectProblem(await feed(path, ip), 404);
    expect(gone.detail).toBe("No calendar feed has this URL.");
  });

  it("rotating replaces the URL: the old one 404s, the new one answers", async () => {
    const admin = await registerOrganization("Rotate");
    const calendar = await calendarWithAppointment(admin, "Standup");
    const first = await rotate(admin, calendar.id);
    const second = await rotate(admin, calendar.id);
    const ip = freshIp();
    await expectProblem(await feed(first.path, ip), 404);
    expect((await feed(second.path, ip)).status).toBe(200);
  });

  it("a token names one calendar of one organization: org A's URL never shows org B's calendar, and B cannot rotate or revoke A's", async () => {
    const a = await registerOrganization("Org A");
    const b = await registerOrganization("Org B");
    const calA = await calendarWithAppointment(a, "Alpha secret meeting");
    const calB = await calendarWithAppointment(b, "Bravo secret meeting");
    const urlA = await rotate(a, calA.id);
    const urlB = await rotate(b, calB.id);
    const ip = freshIp();
    const textA = await (await feed(urlA.path, ip)).text();
    const textB = await (await feed(urlB.path, ip)).text();
    expect(textA).toContain("Alpha secret meeting");
    expect(textA).not.toContain("Bravo");
    expect(textB).toContain("Bravo secret meeting");
    expect(textB).not.toContain("Alpha");
    await expectProblem(await call(`/v1/appointments/calendars/${calA.id}/feed-url`, bearer(b.access_token, { method: "POST" })), 404);
    await expectProblem(await call(`/v1/appointments/calendars/${calA.id}/feed-url/revoke`, bearer(b.access_token, { method: "POST" })), 404);
    expect((await feed(urlA.path, ip)).status).toBe(200);
    // A bearer token of another organization changes nothing: the URL alone names the calendar.
    const withB = await feed(urlA.path, ip, bearer(b.access_token));
    expect(withB.status).toBe(200);
    expect(await withB.text()).toContain("Alpha secret meeting");
  });

  it("malformed tokens of every shape are 404 problems (400 for paths no route may have), never 500, and tell nothing", async () => {
    const admin = await registerOrganization("Malformed");
    const calendar = await calendarWithAppointment(admin, "Hidden");
    const { token } = await rotate(admin, calendar.id);
    const ip = freshIp();
    const shapes = [
      "x.ics",
      `${token}`,
      `${token}.ICS`,
      `${token}.ics.ics`,
      `${token.slice(0, 42)}.ics`,
      `${token}A.ics`,
      `${token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase()}.ics`,
      `${token.slice(0, 42)}%3D.ics`,
      `${token.slice(0, 42)}+.ics`,
      `${"A".repeat(43)}.ics`,
      `${"é".repeat(43)}.ics`,
      `${"A".repeat(5000)}.ics`,
      ".ics",
    ];
    // Paths no route may have are refused before routing, for every path alike (http/canonical-path.ts).
    for (const shape of [`${token.slice(0, 42)}%00.ics`, `${"%2F".repeat(14)}a.ics`, "%E0%A4%A.ics"]) {
      await expectProblem(await feed(`/v1/appointments/feeds/${shape}`, ip), 400);
    }
    for (const shape of shapes) {
      const res = await feed(`/v1/appointments/feeds/${shape}`, ip);
      const body = await expectProblem(res, 404);
      // The same answer as for a revoked URL: nothing about why.
      expect(Object.keys(body).sort()).toEqual(["detail", "request_id", "status", "title", "type"]);
      expect(body.detail).toBe("No calendar feed has this URL.");
    }
  });

  it("is read-only: every other method answers 405 with Allow, and writes nothing", async () => {
    const admin = await registerOrganization("Read only");
    const calendar = await calendarWithAppointment(admin, "Fixed");
    const { path } = await rotate(admin, calendar.id);
    const ip = freshIp();
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await feed(path, ip, bearer(admin.access_token, json(method, { title: "changed" })));
      await expectProblem(res, 405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
    expect(await (await feed(path, ip)).text()).toContain("SUMMARY:Fixed");
  });

  it("is rate-limited per IP address (the calendar-feeds policy), unknown URLs included", async () => {
    const ip = freshIp();
    const path = `/v1/appointments/feeds/${"B".repeat(43)}.ics`;
    for (let i = 0; i < 30; i++) expect((await feed(path, ip)).status).toBe(404);
    const limited = await expectProblem(await feed(path, ip), 429);
    expect(limited.exceeded).toEqual(["route-calendar-feeds"]);
    // Another address is not affected.
    expect((await feed(path, freshIp())).status).toBe(404);
  });

  it("is rate-limited per URL, whatever the address (60 per 10 minutes)", async () => {
    const admin = await registerOrganization("Per URL");
    const calendar = await calendarWithAppointment(admin, "Popular");
    const { path } = await rotate(admin, calendar.id);
    for (let i = 0; i < 60; i++) expect((await feed(path, freshIp())).status).toBe(200);
    const res = await feed(path, freshIp());
    const limited = await expectProblem(res, 429);
    expect(limited.exceeded).toEqual(["calendar-feed-url"]);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another calendar's URL keeps its own allowance.
    const other = await calendarWithAppointment(admin, "Quiet");
    expect((await feed((await rotate(admin, other.id)).path, freshIp())).status).toBe(200);
  }, 120_000);
});
