/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` is
 * version-traceid-parentid-flags in lower-case hex. Version 00 is exactly 55 characters; a later
 * version may append fields after a dash, which we ignore as the spec asks. Version ff, all-zero
 * ids and any other shape are invalid: the caller then starts a new trace.
 */
export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  /** The vendor list, passed on unchanged when it is well-formed. */
  tracestate?: string;
}

const TRACEPARENT_V00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TRACEPARENT_LATER = /^([0-9a-e][0-9a-f])-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
/** A tracestate member: key=value, at most 32 of them, 512 characters in all (W3C §3.3.1). */
const TRACESTATE_MEMBER = /^[a-z0-9][_0-9a-z\-*/]{0,255}(@[a-z0-9][_0-9a-z\-*/]{0,13})?=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

export function parseTraceparent(value: string | null | undefined, tracestate?: string | null): TraceContext | undefined {
  if (!value || value.length > 512) return undefined;
  const v = value.trim();
  const m = v.startsWith("00-") ? TRACEPARENT_V00.exec(v) : TRACEPARENT_LATER.exec(v);
  if (!m) return undefined;
  const [traceId, spanId, flags] = v.startsWith("00-") ? [m[1]!, m[2]!, m[3]!] : [m[2]!, m[3]!, m[4]!];
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const state = sanitizeTracestate(tracestate);
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1, ...(state ? { tracestate: state } : {}) };
}

export function sanitizeTracestate(value: string | null | undefined): string | undefined {
  if (!value || value.length > 512) return undefined;
  const members = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (members.length === 0 || members.length > 32 || !members.every((m) => TRACESTATE_MEMBER.test(m))) return undefined;
  return members.join(",");
}

export function formatTraceparent(ctx: { traceId: string; spanId: string; sampled: boolean }): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? "01" : "00"}`;
}

/** Two hex digits per byte value: ids are made for every request, telemetry on or off (the log line and `traceparent` name them). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  let any = 0;
  for (const b of buf) {
    out += HEX[b];
    any |= b;
  }
  // All zero is invalid; the odds are 2^-64 at worst, but the rule is cheap to keep.
  return any === 0 ? randomHex(bytes) : out;
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);
