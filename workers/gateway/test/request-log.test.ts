// The request log line (http/request-context.ts, logRequest in @buildly/shared): one JSON line per
// request, with the fields Workers Logs, `wrangler tail` and Logpush consumers index.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, call, registerOrganization, type Account } from "./helpers";

let admin: Account;
beforeAll(async () => {
  admin = await registerOrganization("Request log tests");
});
afterEach(() => vi.restoreAllMocks());

/** The request lines the gateway logged while `run` ran, parsed. */
async function requestLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const log = vi.spyOn(console, "log");
  await run();
  return log.mock.calls
    .filter((args) => args.length === 1 && typeof args[0] === "string" && args[0].includes('"msg":"request"'))
    .map((args) => JSON.parse(args[0] as string));
}

describe("the request log line", () => {
  it("is one JSON string per proxied request, with every field", async () => {
    const requestId = `log-${crypto.randomUUID()}`;
    let res!: Response;
    const lines = await requestLines(async () => {
      res = await call("/v1/crm/contacts?limit=1", bearer(admin.access_token, { headers: { "x-request-id": requestId } }));
      await res.body?.cancel();
    });
    expect(res.status).toBe(200);
    expect(lines).toHaveLength(1);
    const traceId = res.headers.get("traceparent")!.split("-")[1];
    expect(lines[0]).toEqual({
      level: "info",
      msg: "request",
      request_id: requestId,
      trace_id: traceId,
      method: "GET",
      route: "/:version{v[0-9]+}/:service/*",
      path: "/v1/crm/contacts",
      status: 200,
      duration_ms: expect.any(Number),
      service: "crm",
      upstream_ms: expect.any(Number),
      organization_id: admin.organization_id,
    });
    // The keys in this order, as consumers have seen them.
    expect(Object.keys(lines[0]!)).toEqual([
      "level",
      "msg",
      "request_id",
      "trace_id",
      "method",
      "route",
      "path",
      "status",
      "duration_ms",
      "service",
      "upstream_ms",
      "organization_id",
    ]);
  });

  it("leaves out what a request did not have, and logs refusals with their status", async () => {
    const lines = await requestLines(async () => {
      const res = await call("/v1/crm/contacts");
      expect(res.status).toBe(401);
      await res.body?.cancel();
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "info", msg: "request", method: "GET", path: "/v1/crm/contacts", status: 401, service: "crm" });
    expect(lines[0]).not.toHaveProperty("organization_id");
    expect(lines[0]).not.toHaveProperty("upstream_ms");
  });
});
