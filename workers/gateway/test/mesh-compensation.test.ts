// A joined write that failed and was undone: its events stay in the trail, the undo's marked compensated.
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, registerOrganization, type Account } from "./helpers";
import { as, type Row } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh compensation");
  api = as(admin.access_token);
});

/** Polls GET /v1/events (bounded) until `done` holds. */
async function eventsUntil(done: (events: Row[]) => boolean, query: string): Promise<Row[]> {
  let events: Row[] = [];
  for (let i = 0; i < 100; i++) {
    events = (await (await api.get(`/v1/events?limit=100${query}`)).json<Row>()).data;
    if (done(events)) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`events never arrived; have: ${events.map((e) => e.type).join(", ")}`);
}

describe("compensated requests in the events", () => {
  it("keeps the created and deleted events of a rolled-back joined write, the undo's marked compensated, naming the request", async () => {
    const t = crypto.randomUUID().slice(0, 8);
    const requestId = crypto.randomUUID();
    const res = await api.send("/v1/crm/companies?join=contacts", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({
        name: `Doomed ${t}`,
        _embedded: {
          contacts: [
            { first_name: "A", last_name: t, email: `a-${t}@example.com` },
            { first_name: "B", last_name: t, email: "not-an-email" },
          ],
        },
      }),
    });
    expect(res.status).toBe(422);
    expect((await expectProblem(res)).detail).toContain("Nothing of this request was kept");

    const done = (events: Row[]) => events.filter((e) => e.requestid === requestId).length >= 4;
    const events = (await eventsUntil(done, "")).filter((e) => e.requestid === requestId);
    const summary = events.map((e) => `${e.type}${e.compensated ? " (compensated)" : ""}`).sort();
    expect(summary).toEqual(["crm.company.created", "crm.company.deleted (compensated)", "crm.contact.created", "crm.contact.deleted (compensated)"]);
    // The writes of the request itself carry no marker at all.
    for (const e of events.filter((e) => e.type.endsWith(".created"))) expect(Object.hasOwn(e, "compensated")).toBe(false);

    // A plain delete is not compensation.
    const contact = await api.contact();
    expect((await api.del(`/v1/crm/contacts/${contact.id}`)).status).toBe(204);
    const plain = await eventsUntil((es) => es.some((e) => e.type === "crm.contact.deleted" && e.subject === contact.id), `&subject=${contact.id}`);
    expect(plain.find((e) => e.type === "crm.contact.deleted")!.compensated).toBeUndefined();
  });
});
