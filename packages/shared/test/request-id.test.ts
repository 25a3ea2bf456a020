import { describe, expect, it } from "vitest";
import { sanitizeRequestId, sanitizeTraceparent } from "../src/request-id";

describe("request ids", () => {
  it("keeps a sane inbound id and replaces anything else", () => {
    expect(sanitizeRequestId("req-1234abcd")).toBe("req-1234abcd");
    for (const bad of [null, undefined, "", "short", "has space in it", "x".repeat(129), "new\nline-12345"]) {
      const id = sanitizeRequestId(bad);
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("accepts only well-formed W3C traceparent values", () => {
    const ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(sanitizeTraceparent(ok)).toBe(ok);
    expect(sanitizeTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toBeUndefined();
    expect(sanitizeTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBeUndefined();
    expect(sanitizeTraceparent("garbage")).toBeUndefined();
  });
});
