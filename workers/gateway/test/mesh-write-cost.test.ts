// What a request that fans out costs: a cap on a joined write's records, and the rate limiter charged per service call.
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, expectProblem, json, registerOrganization, type Account } from "./helpers";
import { MAX_EMBEDDED_RECORDS } from "../src/mesh/embed/write";
import { as, serviceCalls } from "./mesh-records";

let admin: Account;
let api: ReturnType<typeof as>;

beforeAll(async () => {
  admin = await registerOrganization("Mesh write cost");
  api = as(admin.access_token);
});

const userRemaining = (res: Response) => Number(/"user";r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1] ?? Number.NaN);

describe("the cost of a fanned-out request", () => {
  it(`refuses a joined write of more than ${MAX_EMBEDDED_RECORDS} embedded records before writing anything`, async () => {
    const calendar = await api.calendar();
    const appointment = (i: number) => ({
      calendar_id: calendar.id,
      title: `M${i}`,
      start: "2031-01-01T10:00:00Z",
      end: "2031-01-01T11:00:00Z",
      allow_overlap: true,
    });
    const email = `cap-${crypto.randomUUID()}@example.com`;
    // Within each key's own limit (20), over the total.
    const res = await api.post("/v1/crm/contacts?join=appointments,documents", {
      first_name: "Too",
      last_name: "Many",
      email,
      _embedded: {
        appointments: Array.from({ length: 20 }, (_, i) => appointment(i)),
        documents: Array.from({ length: MAX_EMBEDDED_RECORDS - 19 }, () => ({ id: crypto.randomUUID() })),
      },
    });
    expect(res.status).toBe(422);
    const problem = await expectProblem(res);
    expect(problem.errors).toEqual([{ path: "_embedded", message: `At most ${MAX_EMBEDDED_RECORDS} records` }]);
    expect(serviceCalls(res).filter((c) => c.method === "handle")).toEqual([]);
  });

  it("charges the rate limiter one unit per service call beyond the first", async () => {
    const limits = await call(
      "/v1/organizations/current",
      bearer(admin.access_token, json("PATCH", { rate_limits: { user: { limit: 30, window_seconds: 3600 } } })),
    );
    expect(limits.status, await limits.clone().text()).toBe(200);
    const [contact, file] = await Promise.all([api.contact(), api.file()]);
    await api.link("documents", contact.id, file.id);
    const calendar = await api.calendar();
    await api.appointment(calendar.id, [contact]);

    const before = await api.get("/v1/crm/contacts?limit=1");
    expect(before.status).toBe(200);
    const joined = await api.get(`/v1/crm/contacts/${contact.id}?join=documents,appointments`);
    expect(joined.status).toBe(200);
    const calls = serviceCalls(joined).filter((c) => c.method !== "describe").length;
    expect(calls).toBeGreaterThan(2);
    const after = await api.get("/v1/crm/contacts?limit=1");
    expect(after.status).toBe(200);
    // The joined read (1 + its calls beyond the first) and the last read (1).
    expect(userRemaining(before) - userRemaining(after)).toBe(1 + (calls - 1) + 1);

    // A plain read is one unit.
    const again = await api.get("/v1/crm/contacts?limit=1");
    expect(userRemaining(after) - userRemaining(again)).toBe(1);
  });
});
