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
  issuer: string;
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

/**
 * Auth settings from vars and secrets. The issuer defaults to the gateway's own origin,
 * so a local run on any port issues tokens it can verify.
 */
const parsed = new WeakMap<object, Omit<AuthConfig, "issuer">>();

/**
 * Auth settings from vars and secrets, parsed once per isolate. The issuer defaults to the
 * gateway's own origin, so a local run on any port issues tokens it can verify.
 */
export function authConfig(env: Env, requestUrl: string): AuthConfig {
  // Read as unknown: tests and deployments may hand these over as JSON values, not strings.
  const e: Partial<Record<keyof Env, unknown>> = env;
  let base = parsed.get(env);
  if (!base) {
    const secret = e.SIGNING_KEYS_SECRET;
    if (typeof secret !== "string" || secret.length < 32) {
      console.error(JSON.stringify({ level: "error", msg: "SIGNING_KEYS_SECRET is missing or shorter than 32 characters" }));
      throw new ApiError(500, "The identity service is not configured.");
    }
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
  return { ...base, issuer: (typeof e.ISSUER === "string" && e.ISSUER) || new URL(requestUrl).origin };
}
