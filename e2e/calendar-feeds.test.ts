import { describe, expect, it } from "vitest";
import { anon, api, expectProblem, postJson, unique } from "./helpers";

describe("a calendar's secret feed URL, over HTTP", () => {
  it("a calendar program subscribes without a token; revoking the URL makes it 404", async () => {
    const title = unique("Feed check");
    const cal = await postJson("/v1/appointments/calendars", { name: unique("Feed calendar"), time_zone: "Europe/Berlin" });
    expect(cal.status).toBe(201);
    const calendar = (await cal.json()) as { id: string };
    const appt = await postJson("/v1/appointments/appointments", {
      calendar_id: calendar.id,
      title,
      start: "2027-06-07T07:00:00Z",
      end: "2027-06-07T08:00:00Z",
    });
    expect(appt.status).toBe(201);

    const rotated = await api(`/v1/appointments/calendars/${calendar.id}/feed-url`, { method: "POST" });
    expect(rotated.status).toBe(201);
    const { token, path } = (await rotated.json()) as { token: string; path: string };
    expect(path).toBe(`/v1/appointments/feeds/${token}.ics`);

    const res = await anon(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    const text = await res.text();
    expect(text).toContain("BEGIN:VEVENT");
    expect(text).toContain(`SUMMARY:${title}`);

    const revoked = await api(`/v1/appointments/calendars/${calendar.id}/feed-url/revoke`, { method: "POST" });
    expect(revoked.status).toBe(204);
    await expectProblem(await anon(path), 404);
    await expectProblem(await anon(path, { method: "DELETE" }), 405);
  });
});
