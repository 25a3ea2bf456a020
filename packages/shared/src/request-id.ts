/** Inbound X-Request-Id values are kept only when they are short and printable. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function sanitizeRequestId(value: string | null | undefined): string {
  if (value && SANE_REQUEST_ID.test(value)) return value;
  return crypto.randomUUID();
}

/** W3C trace context: version-traceid-parentid-flags, lower-case hex, no all-zero ids. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function sanitizeTraceparent(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m || m[1] === "ff" || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return value.trim();
}
