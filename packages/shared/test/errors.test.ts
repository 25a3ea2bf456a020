import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { ApiError, PROBLEM_CONTENT_TYPE, problemResponse, problemTitle, problemType, toApiError } from "../src/errors";

const GENERIC_500 = "The server could not complete the request.";

describe("ApiError.toProblem", () => {
  it("writes RFC 9457 fields with the request id", () => {
    const problem = new ApiError(404, "No contact has this id.").toProblem("req-12345678");
    expect(problem).toEqual({
      type: "https://buildly.dev/problems/not-found",
      title: "Not Found",
      status: 404,
      detail: "No contact has this id.",
      request_id: "req-12345678",
    });
    expect(problem).not.toHaveProperty("errors");
  });

  it("carries field errors, extensions and custom type/title, but extensions cannot overwrite the core fields", () => {
    const err = new ApiError(422, "Bad input.", {
      errors: [{ path: "email", message: "Invalid email" }],
      extensions: { max_bytes: 10, status: 200, detail: "spoofed", request_id: "spoofed" },
      type: "https://example.com/custom",
      title: "Custom",
    });
    expect(err.toProblem("req-abcdefgh")).toEqual({
      type: "https://example.com/custom",
      title: "Custom",
      status: 422,
      detail: "Bad input.",
      request_id: "req-abcdefgh",
      max_bytes: 10,
      errors: [{ path: "email", message: "Invalid email" }],
    });
  });

  it("names statuses it knows and falls back for the others", () => {
    expect([problemType(413), problemTitle(413)]).toEqual(["https://buildly.dev/problems/payload-too-large", "Content Too Large"]);
    expect([problemType(418), problemTitle(418)]).toEqual(["https://buildly.dev/problems/status-418", "Error"]);
  });
});

describe("problemResponse", () => {
  it("answers with the status, problem+json, the request id header and extra headers", async () => {
    const err = new ApiError(405, "PUT is not allowed.", { headers: { allow: "GET, HEAD" } });
    const res = problemResponse(err.toProblem("req-12345678"), err.headers);
    expect(res.status).toBe(405);
    expect(res.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
    expect(res.headers.get("x-request-id")).toBe("req-12345678");
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await res.json()).toMatchObject({ status: 405, detail: "PUT is not allowed." });
  });

  it("does not let extra headers replace the content type or request id", () => {
    const res = problemResponse(new ApiError(400, "x").toProblem("req-12345678"), {
      "content-type": "text/html",
      "x-request-id": "spoofed-id",
    });
    expect(res.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
    expect(res.headers.get("x-request-id")).toBe("req-12345678");
  });
});

describe("toApiError", () => {
  it("passes an ApiError through unchanged", () => {
    const err = new ApiError(409, "Taken.");
    expect(toApiError(err)).toBe(err);
  });

  it("turns an unknown Error into an opaque 500 that does not repeat its message", () => {
    const err = toApiError(new Error("D1_ERROR: no such column: password_hash (token sk_live_123)"));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(500);
    const problem = err.toProblem("req-12345678");
    expect(problem).toMatchObject({ status: 500, title: "Internal Server Error", detail: GENERIC_500 });
    const text = JSON.stringify(problem);
    for (const secret of ["D1_ERROR", "password_hash", "sk_live_123"]) expect(text).not.toContain(secret);
  });

  it("turns thrown non-Error values into an opaque 500", () => {
    for (const thrown of ["a string with secret", undefined, null, 42, { message: "secret" }]) {
      const err = toApiError(thrown);
      expect(err.status).toBe(500);
      expect(err.message).toBe(GENERIC_500);
    }
  });

  it("keeps hono's 4xx HTTPException messages and hides its 5xx ones", () => {
    const bad = toApiError(new HTTPException(400, { message: "Malformed JSON in request body" }));
    expect([bad.status, bad.message, bad.title]).toEqual([400, "Malformed JSON in request body", "Bad Request"]);
    const empty = toApiError(new HTTPException(401));
    expect([empty.status, empty.message]).toEqual([401, "Unauthorized"]);
    const down = toApiError(new HTTPException(503, { message: "upstream 10.0.0.7:5432 refused" }));
    expect([down.status, down.message]).toEqual([503, GENERIC_500]);
  });
});
