import { loadLazyRoutes } from "@buildly/shared";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import { call, expectProblem } from "./helpers";

const documented = () => new Set(app.openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [`${d.route.method} ${d.route.path}`] : [])));

// The rooms' route groups are built on their first request (lazyRoutes in each room's index.ts),
// so an isolate's start-up builds none of their zod schemas.
describe("the gateway's route groups, built on first use", () => {
  it("a group is built by its first request, and not before", async () => {
    expect(documented().has("post /v1/webhooks")).toBe(false);
    // Before the group is built the router already knows its paths: 405 with Allow, and HEAD as GET.
    const put = await call("/v1/webhooks", { method: "PUT" });
    await expectProblem(put, 405);
    expect(put.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(documented().has("post /v1/webhooks")).toBe(false);
    await expectProblem(await call("/v1/webhooks"), 401);
    expect(documented().has("post /v1/webhooks")).toBe(true);
    expect(documented().has("get /v1/webhooks/{id}/deliveries")).toBe(false);
    const head = await call("/v1/webhooks/x/deliveries", { method: "HEAD" });
    expect(head.status).toBe(401);
    expect(await head.text()).toBe("");
    expect(documented().has("get /v1/webhooks/{id}/deliveries")).toBe(true);
  });

  it("every group registers exactly the routes of its list, each with function handlers", async () => {
    const before = app.routes.length;
    // Builds every group: one whose list differs from what it registers throws, naming the difference.
    await loadLazyRoutes(app);
    expect(app.routes.length).toBe(before);
    for (const path of [
      "/v1/auth/token",
      "/v1/users/{id}/roles",
      "/v1/mesh/joins/{id}",
      "/v1/workflows/instances/{id}/events",
      "/v1/privacy/requests/{id}/archive",
    ]) {
      expect(
        [...documented()].some((k) => k.endsWith(` ${path}`)),
        path,
      ).toBe(true);
    }
  });
});
