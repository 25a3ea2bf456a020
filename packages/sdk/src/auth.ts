import { apiErrorFrom, NetworkError } from "./errors.ts";

/** A user's tokens, as the token endpoint gave them (`expiresAt`: epoch milliseconds). */
export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: number;
  scope?: string;
}

/** How the client authenticates its calls. */
export type Auth =
  /** An API client (machine to machine): the client_credentials grant, renewed before expiry. */
  | { type: "clientCredentials"; clientId: string; clientSecret: string; scope?: string }
  /**
   * A user's tokens from the authorization code flow (or any grant that gives a refresh token).
   * Refreshed with grant_type=refresh_token before they expire; every rotation is handed to
   * `onTokens` (persist it: the old refresh token no longer works).
   */
  | { type: "user"; tokens: Tokens; clientId?: string; clientSecret?: string; onTokens?: (tokens: Tokens) => void | Promise<void> }
  /** A user's name and password (the password grant), e.g. for scripts and tests; refreshed like "user". */
  | { type: "password"; username: string; password: string; scope?: string; onTokens?: (tokens: Tokens) => void | Promise<void> }
  /** A token obtained elsewhere, used as is (never refreshed). */
  | { type: "token"; token: string };

/** Refresh this long before the access token expires (and never use one inside this margin). */
const EARLY_MS = 60_000;

export const TOKEN_PATH = "/v1/auth/token";

/**
 * The access token of every call. One refresh at a time: concurrent calls that find the token
 * (nearly) expired all wait for the same request, and a rotated refresh token replaces the old
 * one together with its access token, after `onTokens` has stored it.
 */
export class TokenSource {
  private tokens: Tokens | undefined;
  private pending: Promise<Tokens> | undefined;
  private readonly auth: Auth;
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  constructor(auth: Auth, baseUrl: string, fetchFn: typeof fetch) {
    this.auth = auth;
    this.baseUrl = baseUrl;
    this.fetch = fetchFn;
    if (auth.type === "user") this.tokens = { ...auth.tokens };
    if (auth.type === "token") this.tokens = { accessToken: auth.token };
  }

  /** Whether a 401 is worth one new token (a static token stays what it is). */
  get renewable(): boolean {
    return this.auth.type !== "token";
  }

  /** The tokens held now (after any rotation). */
  get current(): Tokens | undefined {
    return this.tokens && { ...this.tokens };
  }

  /** A valid access token; `stale` is the token a 401 refused, which forces a new one. */
  async accessToken(stale?: string): Promise<string> {
    const t = this.tokens;
    const fresh = t && t.accessToken !== stale && (t.expiresAt === undefined || t.expiresAt - EARLY_MS > Date.now());
    if (fresh) return t.accessToken;
    if (!this.renewable && t) return t.accessToken;
    this.pending ??= this.obtain().finally(() => {
      this.pending = undefined;
    });
    return (await this.pending).accessToken;
  }

  private async obtain(): Promise<Tokens> {
    const a = this.auth;
    const form: Record<string, string> = {};
    if (a.type === "clientCredentials") {
      Object.assign(form, { grant_type: "client_credentials", client_id: a.clientId, client_secret: a.clientSecret });
      if (a.scope) form.scope = a.scope;
    } else if (a.type === "password" && !this.tokens?.refreshToken) {
      Object.assign(form, { grant_type: "password", username: a.username, password: a.password });
      if (a.scope) form.scope = a.scope;
    } else if (a.type === "user" || a.type === "password") {
      const refreshToken = this.tokens?.refreshToken;
      if (!refreshToken) throw new Error("The access token expired and there is no refresh token to renew it.");
      form.grant_type = "refresh_token";
      form.refresh_token = refreshToken;
      if (a.type === "user" && a.clientId) form.client_id = a.clientId;
      if (a.type === "user" && a.clientSecret) form.client_secret = a.clientSecret;
    } else {
      throw new Error("A static token cannot be renewed.");
    }
    const body = await this.tokenRequest(form);
    const next: Tokens = {
      accessToken: body.access_token,
      // Without a new refresh token (no rotation), the old one stays valid.
      refreshToken: body.refresh_token ?? (form.grant_type === "refresh_token" ? form.refresh_token : undefined),
      expiresAt: typeof body.expires_in === "number" ? Date.now() + body.expires_in * 1000 : undefined,
      scope: body.scope,
    };
    if ((a.type === "user" || a.type === "password") && a.onTokens) await a.onTokens({ ...next });
    this.tokens = next;
    return next;
  }

  private async tokenRequest(form: Record<string, string>) {
    let res: Response;
    try {
      res = await this.fetch(new URL(TOKEN_PATH, this.baseUrl), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams(form).toString(),
      });
    } catch (err) {
      throw new NetworkError(`POST ${TOKEN_PATH} failed: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    if (!res.ok) throw await apiErrorFrom(res);
    return (await res.json()) as { access_token: string; refresh_token?: string; expires_in?: number; scope?: string };
  }
}
