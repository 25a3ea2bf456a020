import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RpcResult } from "@buildly/shared";
import { feedTokenHash } from "../src/routes/feeds/feed-tokens";
import { expectProblem, freshOrg, makeAppointment, makeCalendar } from "./helpers";

type FeedRpc = { calendarFeedByTokenHash(hash: unknown): Promise<RpcResult<string>> };
const feeds = (exports as unknown as { AppointmentsService: FeedRpc }).AppointmentsService;
const DB = (env as unknown as { DB: D1Database }).DB;

async function rotate(client: ReturnType<typeof freshOrg>["client"], calendarId: string) {
  const res = await client.post(`/calendars/${calendarId}/feed-url`, {});
  expect(res.status).toBe(201);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return res.json<{ calendar_id: string; token: string; path: string; created_at: string }>();
}

async function feedOf(token: string) {
  return feeds.calendarFeedByTokenHash(await feedTokenHash(token));
}

describe("secret calendar feed URLs", () => {
  it("rotate gives a token shown once, stores only its SHA-256, and the hash finds the calendar's feed", async () => {
    const { client, org } = freshOrg();
    const cal = await makeCalendar(client, { name: "Front desk" });
    await makeAppointment(client, { calendar_id: cal.id, title: "Checkup", start: "2027-03-01T10:00:00Z", end: "2027-03-01T10:30:00Z" });
    const made = await rotate(client, cal.id);
    expect(made.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(made.path).toBe(`/v1/appointments/feeds/${made.token}.ics`);
    const rows = await DB.prepare("SELECT * FROM calendar_feed_tokens WHERE calendar_id = ?").bind(cal.id).all<Record<string, string>>();
    expect(rows.results).toEqual([{ calendar_id: cal.id, organization_id: org, token_hash: await feedTokenHash(made.token), created_at: made.created_at }]);
    expect(JSON.stringify(rows.results)).not.toContain(made.token);
    const feed = await feedOf(made.token);
    expect(feed.ok).toBe(true);
    const text = (feed as { data: string }).data;
    expect(text).toContain("BEGIN:VCALENDAR");
    expect(text).toContain("SUMMARY:Checkup");
    expect(text).toContain("X-WR-CALNAME:Front desk");
  });

  it("rotating again revokes the previous URL at once; revoke makes the current one 404", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const first = await rotate(client, cal.id);
    const second = await rotate(client, cal.id);
    expect(second.token).not.toBe(first.token);
    expect(await feedOf(first.token)).toMatchObject({ ok: false, error: { status: 404 } });
    expect((await feedOf(second.token)).ok).toBe(true);
    const revoked = await client.post(`/calendars/${cal.id}/feed-url/revoke`, {});
    expect(revoked.status).toBe(204);
    expect(await feedOf(second.token)).toMatchObject({ ok: false, error: { status: 404, detail: "No calendar feed has this URL." } });
    // Revoking again (nothing left) is still 204.
    expect((await client.post(`/calendars/${cal.id}/feed-url/revoke`, {})).status).toBe(204);
  });

  it("deleting the calendar deletes its feed URL", async () => {
    const { client } = freshOrg();
    const cal = await makeCalendar(client);
    const made = await rotate(client, cal.id);
    expect((await client.delete(`/calendars/${cal.id}`)).status).toBe(204);
    expect(await feedOf(made.token)).toMatchObject({ ok: false, error: { status: 404 } });
    const left = await DB.prepare("SELECT count(*) AS n FROM calendar_feed_tokens WHERE calendar_id = ?").bind(cal.id).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("another organization can neither rotate nor revoke the calendar's URL (404), and its own token names only its own calendar", async () => {
    const a = freshOrg();
    const b = freshOrg();
    const calA = await makeCalendar(a.client, { name: "A only" });
    const calB = await makeCalendar(b.client, { name: "B only" });
    const tokenA = await rotate(a.client, calA.id);
    await expectProblem(await b.client.post(`/calendars/${calA.id}/feed-url`, {}), 404);
    await expectProblem(await b.client.post(`/calendars/${calA.id}/feed-url/revoke`, {}), 404);
    expect((await feedOf(tokenA.token)).ok).toBe(true);
    const tokenB = await rotate(b.client, calB.id);
    const feedB = (await feedOf(tokenB.token)) as { ok: true; data: string };
    expect(feedB.data).toContain("B only");
    expect(feedB.data).not.toContain("A only");
  });

  it("an unknown or malformed hash of any shape is a 404 value, never a throw", async () => {
    for (const hash of [
      "0".repeat(64),
      "",
      "ABCDEF".padEnd(64, "0"),
      "0".repeat(63),
      "0".repeat(65),
      `${"0".repeat(63)}%`,
      "' OR 1=1 --",
      null,
      undefined,
      42,
      { token_hash: "x" },
      ["0".repeat(64)],
    ]) {
      expect(await feeds.calendarFeedByTokenHash(hash)).toMatchObject({ ok: false, error: { status: 404 } });
    }
  });

  it("rotate and revoke on an unknown or malformed calendar id: 404 and 422", async () => {
    const { client } = freshOrg();
    await expectProblem(await client.post(`/calendars/${crypto.randomUUID()}/feed-url`, {}), 404);
    await expectProblem(await client.post(`/calendars/${crypto.randomUUID()}/feed-url/revoke`, {}), 404);
    await expectProblem(await client.post("/calendars/not-a-uuid/feed-url", {}), 422);
  });
});
