import type { RouteHandler } from "@hono/zod-openapi";
import type { ServiceHealth } from "@buildly/shared";
import { withDeadline } from "../../deadline";
import { serviceBinding, serviceRegistry, type ServiceEntry } from "../../registry";
import type { GatewayEnv } from "../../../types";
import type { getHealth } from "./health.routes";

const HEALTH_TIMEOUT_MS = 3000;

export async function probe(env: Env, entry: ServiceEntry): Promise<ServiceHealth & { duration_ms: number }> {
  const started = Date.now();
  try {
    const stub = serviceBinding(env, entry);
    if (!stub) throw new Error("not bound");
    const h = await withDeadline(entry.name, Math.min(entry.timeout_ms, HEALTH_TIMEOUT_MS), () => stub.health());
    return { service: entry.name, status: h.status, checks: h.checks, duration_ms: Date.now() - started };
  } catch {
    return { service: entry.name, status: "error", checks: { reachable: "error" }, duration_ms: Date.now() - started };
  }
}

export const health: RouteHandler<typeof getHealth, GatewayEnv> = async (c) => {
  const services = await Promise.all(serviceRegistry(c.env).map((e) => probe(c.env, e)));
  const ok = services.every((s) => s.status === "ok");
  c.header("cache-control", "no-store");
  const body = { status: ok ? ("ok" as const) : ("degraded" as const), gateway: "ok" as const, services };
  return ok ? c.json(body, 200) : c.json(body, 503);
};
