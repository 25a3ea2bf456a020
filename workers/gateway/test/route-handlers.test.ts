import { describe, expect, it } from "vitest";
import { app } from "../src/app";

// A route built while one of its middleware was still undefined (an import circle: a room's routes
// evaluated before the module that exports their middleware) has no handler at that place, and
// every call falls through to the 404/405 handler. Found when two sign-in branches met.
describe("the gateway's routes", () => {
  it("every route's handlers and middleware are functions", () => {
    const broken = app.routes.filter((r) => typeof r.handler !== "function").map((r) => `${r.method} ${r.path}`);
    expect(app.routes.length).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });
});
