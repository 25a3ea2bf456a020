// Who a request speaks for, as the gateway's context carries it (types.ts); no imports, so the
// request context can name it without depending on how tokens are verified.

/** Who a verified token speaks for. */
export interface Principal {
  kind: "user" | "client";
  subject: string;
  organization_id: string;
  roles: string[];
  scope: string;
  issuer: string;
  /** The client the token was issued to (RFC 9068 client_id), for our own tokens. */
  client_id?: string;
  /** The authorization grant (code) the token descends from: revoked when the code is replayed. */
  grant?: string;
  /** An external issuer's token: its verified claims (for the organization's claim-to-role mapping). */
  claims?: Record<string, unknown>;
}
