import { z } from "zod";
import { ApiError } from "@buildly/shared";

const TrustedIssuerSchema = z.object({
  issuer: z.string().url(),
  jwks_uri: z.string().url(),
  audience: z.string().min(1),
  /** Which claims carry the organization id and the role names. */
  claims: z.object({ organization: z.string().default("org"), roles: z.string().default("roles") }).default({ organization: "org", roles: "roles" }),
});
export type TrustedIssuer = z.infer<typeof TrustedIssuerSchema>;

export interface AuthConfig {
  /** Who signs our tokens, and the base of every URL in our security metadata. */
  issuer: string;
  /** True when the issuer was taken from a loopback request (local development, ISSUER unset). */
  localIssuer: boolean;
  audience: string;
  accessTtl: number;
  refreshTtl: number;
  trustedIssuers: TrustedIssuer[];
  signingSecret: string;
}

function num(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

const parsed = new WeakMap<object, Omit<AuthConfig, "issuer" | "localIssuer">>();

function misconfigured(msg: string): ApiError {
  console.error(JSON.stringify({ level: "error", msg }));
  return new ApiError(500, "The server is not configured correctly.");
}

/** Hosts that only this machine can send: the one case an unset ISSUER may be stood in for. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

const configuredIssuers = new WeakMap<object, { issuer: string; localIssuer: false }>();
/** Without ISSUER: the issuer of each loopback origin a request came to, by the request URL's text before its path. */
const localIssuers = new Map<string, { issuer: string; localIssuer: true }>();

/**
 * The issuer: ISSUER (the gateway's public origin), never the Host a client sent, which anyone
 * can set and a shared cache would keep. Without ISSUER, only a loopback request (`npm run dev`
 * on any port, or `wrangler dev` by hand) gets its own origin; anything else fails closed.
 */
export function issuerOf(env: Env, requestUrl: string): { issuer: string; localIssuer: boolean } {
  const known = configuredIssuers.get(env);
  if (known) return known;
  const value: unknown = env.ISSUER;
  const configured = typeof value === "string" ? value.trim() : "";
  if (configured) {
    if (!URL.canParse(configured)) throw misconfigured("ISSUER is not a URL");
    const fixed = { issuer: configured.replace(/\/+$/, ""), localIssuer: false as const };
    configuredIssuers.set(env, fixed);
    return fixed;
  }
  // The origin depends on the URL's scheme and authority only: what comes before its path.
  const pathStart = requestUrl.indexOf("/", requestUrl.indexOf("//") + 2);
  const origin = pathStart < 0 ? requestUrl : requestUrl.slice(0, pathStart);
  const local = localIssuers.get(origin);
  if (local) return local;
  const url = new URL(requestUrl);
  if (LOOPBACK_HOSTS.has(url.hostname)) {
    const found = { issuer: url.origin, localIssuer: true as const };
    // Bounded: a client names the host. Only loopback ones are kept.
    if (localIssuers.size >= 16) localIssuers.clear();
    localIssuers.set(origin, found);
    return found;
  }
  throw misconfigured("ISSUER is not set: set it to the gateway's public origin (it may be empty only for requests to localhost)");
}

/**
 * Auth settings from vars and secrets, parsed once per isolate; the issuer per request (see
 * issuerOf), so a local run on any port issues tokens it can verify.
 */
export function authConfig(env: Env, requestUrl: string): AuthConfig {
  // Read as unknown: tests and deployments may hand these over as JSON values, not strings.
  const e: Partial<Record<keyof Env, unknown>> = env;
  let base = parsed.get(env);
  if (!base) {
    const secret = e.SIGNING_KEYS_SECRET;
    if (typeof secret !== "string" || secret.length < 32) throw misconfigured("SIGNING_KEYS_SECRET is missing or shorter than 32 characters");
    const trusted = typeof e.TRUSTED_ISSUERS === "string" ? JSON.parse(e.TRUSTED_ISSUERS || "[]") : (e.TRUSTED_ISSUERS ?? []);
    base = {
      audience: (typeof e.AUDIENCE === "string" && e.AUDIENCE) || "buildly-api",
      accessTtl: num(e.ACCESS_TOKEN_TTL_SECONDS, 900),
      refreshTtl: num(e.REFRESH_TOKEN_TTL_SECONDS, 30 * 24 * 3600),
      trustedIssuers: z.array(TrustedIssuerSchema).parse(trusted),
      signingSecret: secret,
    };
    parsed.set(env, base);
  }
  const { issuer, localIssuer } = issuerOf(env, requestUrl);
  let byIssuer = configs.get(env);
  if (!byIssuer) configs.set(env, (byIssuer = new Map()));
  let cfg = byIssuer.get(issuer);
  if (!cfg) {
    // Frozen: one object per issuer, shared by every request of the isolate.
    cfg = Object.freeze({ ...base, issuer, localIssuer });
    if (byIssuer.size >= 16) byIssuer.clear();
    byIssuer.set(issuer, cfg);
  }
  return cfg;
}

/** The whole settings per env and issuer (one issuer when ISSUER is set; a few local ones without it). */
const configs = new WeakMap<object, Map<string, AuthConfig>>();
