import type { Context } from "hono";
import { serviceCall } from "./telemetry";
import type { GatewayEnv, ServiceCallTiming } from "../types";

/**
 * Runs one call to a logic service and records it for the `Server-Timing` header, whether it
 * answers, fails or times out: the header shows every call the request cost, so tests, the
 * bench and browser devtools can see a request's fan-out. The call is a span of the request's
 * trace too: `call` gets the `traceparent` to put in the identity context it sends.
 */
export async function timed<T>(c: Context<GatewayEnv>, service: string, method: string, call: (traceparent: string | undefined) => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await serviceCall(c, service, method, call);
  } finally {
    let calls = c.get("serviceCalls");
    if (!calls) c.set("serviceCalls", (calls = []));
    calls.push({ service, method, ms: performance.now() - started });
  }
}

/** `crm;dur=3.1;desc="handle", appointments;dur=5.0;desc="findBy"`: one entry per call, in the order they ended. */
export function serverTimingValue(calls: ServiceCallTiming[]): string {
  return calls.map((t) => `${t.service};dur=${t.ms.toFixed(1)};desc="${t.method}"`).join(", ");
}

/** Writes the `Server-Timing` header on a response whose request called a logic service (also on errors; http/edge.ts). */
export function writeServerTiming(c: Context<GatewayEnv>): void {
  const calls = c.get("serviceCalls");
  if (calls?.length) c.res.headers.set("server-timing", serverTimingValue(calls));
}
