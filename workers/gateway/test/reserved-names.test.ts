import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import { RESERVED_NAMES, ServiceEntrySchema, serviceRegistry } from "../src/upstream/registry";

/** The first segment under /v1/ of every route the gateway itself registers (not a service's prefix). */
function gatewaySegments(): string[] {
  const services = new Set(serviceRegistry(env).map((e) => e.name));
  const segments = app.routes.map((r) => /^\/v1\/([^/:*{]+)(\/|$)/.exec(r.path)?.[1]).filter((s): s is string => !!s && !services.has(s));
  return [...new Set(segments)].sort();
}

describe("the names a service may not take", () => {
  it("are exactly the /v1/ segments the gateway's own routes serve", () => {
    expect([...RESERVED_NAMES].sort()).toEqual(gatewaySegments());
  });

  it("are refused in the service registry", () => {
    const entry = { binding: "X", version: "v1", title: "X", openapi: "/openapi.json" };
    for (const name of RESERVED_NAMES) expect(ServiceEntrySchema.safeParse({ ...entry, name }).success, name).toBe(false);
    expect(ServiceEntrySchema.safeParse({ ...entry, name: "inventory" }).success).toBe(true);
  });
});
