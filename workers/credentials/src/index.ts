import { WorkerEntrypoint } from "cloudflare:workers";
import {
  AuthenticationOptionsInputSchema,
  type CredentialsResult,
  type CredentialsRpc,
  PasswordCheckInputSchema,
  RegistrationOptionsInputSchema,
  VerifyAuthenticationInputSchema,
  VerifyRegistrationInputSchema,
} from "@buildly/shared/credentials";
import type { z } from "zod";
import { isCommonPassword } from "./passwords";
import type { Verified } from "./passkeys";

/*
 * The passkey stack (@simplewebauthn/server, @peculiar/x509, asn1js: most of this Worker's
 * start-up) loads on the first passkey call, not when an isolate starts: a password check never
 * needs it (bench/README.md "Bundles and start-up").
 */
const passkeys = () => import("./passkeys");

/** The input, parsed, or the 422 that names what broke the contract. */
function parse<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; data: z.output<S> } | { ok: false; error: CredentialsResult<never> & { ok: false } } {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, data: r.data };
  return {
    ok: false,
    error: {
      ok: false,
      error: {
        status: 422,
        detail: "The input does not match the credentials contract.",
        errors: r.error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message })),
      },
    },
  };
}

function verdict<T>(v: Verified<T>): CredentialsResult<T> {
  if (v.verified) return { ok: true, data: v.data };
  return { ok: false, error: { status: 400, detail: v.reason ?? "" } };
}

/**
 * The gateway's CREDENTIALS binding. Every method validates its input (zod) and answers a
 * CredentialsResult: what the gateway needs to turn a refusal into the same problem+json as before.
 */
export class CredentialsService extends WorkerEntrypoint<Env> implements CredentialsRpc {
  async registrationOptions(input: unknown) {
    const p = parse(RegistrationOptionsInputSchema, input);
    if (!p.ok) return p.error;
    return { ok: true as const, data: (await (await passkeys()).registrationOptions(p.data)) as unknown as Record<string, unknown> };
  }

  async authenticationOptions(input: unknown) {
    const p = parse(AuthenticationOptionsInputSchema, input);
    if (!p.ok) return p.error;
    return { ok: true as const, data: (await (await passkeys()).authenticationOptions(p.data)) as unknown as Record<string, unknown> };
  }

  async verifyRegistration(input: unknown) {
    const p = parse(VerifyRegistrationInputSchema, input);
    if (!p.ok) return p.error;
    return verdict(await (await passkeys()).verifyRegistration(p.data));
  }

  async verifyAuthentication(input: unknown) {
    const p = parse(VerifyAuthenticationInputSchema, input);
    if (!p.ok) return p.error;
    return verdict(await (await passkeys()).verifyAuthentication(p.data));
  }

  async isCommonPassword(input: unknown) {
    const p = parse(PasswordCheckInputSchema, input);
    if (!p.ok) return p.error;
    return { ok: true as const, data: { common: isCommonPassword(p.data.password) } };
  }
}

// No HTTP surface: the Worker has no route and no workers.dev URL; RPC is its only door.
export default {
  fetch() {
    return new Response(null, { status: 404 });
  },
} satisfies ExportedHandler<Env>;
