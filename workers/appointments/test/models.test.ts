// getMany(model, ids, context): the batched read by ids the gateway's data mesh uses.
import { describe, expect, it } from "vitest";
import { identity } from "@buildly/shared/test";
import { freshOrg, makeAppointment, makeCalendar, rpc } from "./helpers";

describe("getMany", () => {
  it("reads calendars and appointments of the caller's organization only, in the API's shape", async () => {
    const mine = freshOrg();
    const theirs = freshOrg();
    const cal = await makeCalendar(mine.client, { name: "Mine" });
    const other = await makeCalendar(theirs.client, { name: "Theirs" });
    const appt = await makeAppointment(mine.client, {
      calendar_id: cal.id,
      start: "2026-06-01T09:00:00Z",
      end: "2026-06-01T10:00:00Z",
      recurrence: "FREQ=WEEKLY;COUNT=2",
    });
    const foreign = await makeAppointment(theirs.client, { calendar_id: other.id, start: "2026-06-01T09:00:00Z", end: "2026-06-01T10:00:00Z" });

    const calendars = await rpc.getMany("calendars", [cal.id, other.id, crypto.randomUUID()], identity(mine.org));
    expect(calendars).toEqual({ ok: true, data: [cal] });
    const appointments = await rpc.getMany("appointments", [appt.id, foreign.id, appt.id], identity(mine.org));
    expect(appointments).toEqual({ ok: true, data: [appt] });
    expect(await rpc.getMany("appointments", [foreign.id], identity(theirs.org))).toEqual({ ok: true, data: [foreign] });
    expect(await rpc.getMany("appointments", [], identity(mine.org))).toEqual({ ok: true, data: [] });
  });

  it("takes up to 100 ids in one call (one bound parameter, so D1's limit of 100 does not bite)", async () => {
    const { org, client } = freshOrg();
    const cal = await makeCalendar(client);
    const ids = [cal.id, ...Array.from({ length: 99 }, () => crypto.randomUUID())];
    expect(await rpc.getMany("calendars", ids, identity(org))).toEqual({ ok: true, data: [cal] });
    expect(await rpc.getMany("appointments", ids, identity(org))).toEqual({ ok: true, data: [] });
  });

  it("answers an unknown model with 404, too many or malformed ids with 422, no context with 401", async () => {
    const { org } = freshOrg();
    const unknown = await rpc.getMany("contacts", [crypto.randomUUID()], identity(org));
    expect(unknown).toMatchObject({ ok: false, error: { status: 404, detail: "The appointments service has no model contacts." } });
    const many = await rpc.getMany(
      "appointments",
      Array.from({ length: 101 }, () => crypto.randomUUID()),
      identity(org),
    );
    expect(many).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.getMany("calendars", ["not-a-uuid"], identity(org))).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.getMany("calendars", [crypto.randomUUID()], { request_id: "x" })).toMatchObject({ ok: false, error: { status: 401 } });
    expect(await rpc.getMany("toString", [], identity(org))).toMatchObject({ ok: false, error: { status: 404 } });
  });
});
