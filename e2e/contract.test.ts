import { describe, expect, it } from "vitest";
import { api, contractIssues } from "./helpers";

/** The check every e2e answer goes through (helpers.ts) must be able to fail: these answers are wrong on purpose. */
describe("the API-document check of every answer", () => {
  const problem = (status: number, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify({ type: "https://buildly.dev/problems/x", title: "X", status, detail: "x", request_id: "r" }), {
      status,
      headers: { "content-type": "application/problem+json", "x-request-id": "r", ...headers },
    });
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "x-request-id": "r" } });

  it("passes a real answer, and the same answer to HEAD", async () => {
    const res = await api("/v1/crm/contacts?limit=1");
    expect(await contractIssues("GET", "/v1/crm/contacts", res)).toEqual([]);
    expect(await contractIssues("HEAD", "/v1/crm/contacts", new Response(null, { status: 200, headers: { "x-request-id": "r" } }))).toEqual([]);
  });

  it.each([
    ["an undocumented status", "GET", "/v1/crm/contacts", () => json({}, 418), /418 is not documented/],
    [
      "an undocumented content type",
      "GET",
      "/v1/crm/contacts",
      () => new Response("<p>", { headers: { "content-type": "text/html", "x-request-id": "r" } }),
      /text\/html is not documented/,
    ],
    ["a body that does not match its schema", "GET", "/v1/crm/contacts", () => json({ data: "nope" }), /does not match/],
    [
      "a problem body without its fields",
      "GET",
      "/v1/crm/contacts/6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01",
      () => json({ status: 404 }, 404),
      /not documented|does not match/,
    ],
    ["a missing required header (401 without WWW-Authenticate)", "GET", "/v1/crm/contacts", () => problem(401), /WWW-Authenticate is missing/],
    ["a 429 without Retry-After", "GET", "/v1/auth/me", () => problem(429), /Retry-After is missing/],
    ["a body where the document has none", "POST", "/v1/auth/revoke", () => json({}), /says no body/],
    ["an undocumented path that answers 200", "GET", "/v1/crm/nowhere", () => json({}), /not in the document/],
    ["an undocumented path whose 404 is no problem", "GET", "/v1/crm/nowhere", () => json({}, 404), /does not match|not documented/],
  ])("refuses %s", async (_, method, path, answer, why) => {
    const issues = await contractIssues(method, path, answer());
    expect(issues.join("\n")).toMatch(why);
  });
});
