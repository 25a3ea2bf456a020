/** RFC 6749 section 5.2 error bodies, for the token and revocation endpoints only. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "unsupported_token_type";

export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly status = code === "invalid_client" ? 401 : 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }

  toResponse(requestId: string): Response {
    return new Response(JSON.stringify({ error: this.code, error_description: this.description }), {
      status: this.status,
      headers: {
        ...this.headers,
        "content-type": "application/json",
        "cache-control": "no-store",
        pragma: "no-cache",
        "x-request-id": requestId,
      },
    });
  }
}
