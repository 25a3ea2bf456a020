import { ApiError } from "@buildly/shared";
import type { CredentialsResult, CredentialsRpc } from "@buildly/shared/credentials";

/**
 * The passkey verification stack and the common-password list live in the credentials Worker
 * (workers/credentials, the CREDENTIALS binding): off every API request's path, so the gateway's
 * bundle stays small. This is its one door here. A refusal comes back as a value (the caller turns
 * it into the same 400 as before); a Worker that cannot be reached, or an answer that breaks the
 * contract, is a 503 whose body says nothing of why (the log does).
 */
type Call<K extends keyof CredentialsRpc> = Parameters<CredentialsRpc[K]>[0];
type Data<K extends keyof CredentialsRpc> = Awaited<ReturnType<CredentialsRpc[K]>> extends CredentialsResult<infer T> ? T : never;

export type WebAuthnVerdict<T> = { ok: true; data: T } | { ok: false; detail: string };

function unavailable(method: keyof CredentialsRpc, err: unknown): ApiError {
  const e = err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
  console.error(JSON.stringify({ level: "error", msg: "credentials worker call failed", method, error: e }));
  const what = method === "isCommonPassword" ? "New passwords cannot be checked" : "Passkeys are unavailable";
  return new ApiError(503, `${what} right now. Try again shortly.`, { headers: { "retry-after": "1" } });
}

async function call<K extends keyof CredentialsRpc>(env: Env, method: K, input: Call<K>): Promise<CredentialsResult<Data<K>>> {
  const stub = env.CREDENTIALS as unknown as CredentialsRpc;
  let result: CredentialsResult<Data<K>>;
  try {
    result = (await (stub[method] as (i: Call<K>) => Promise<unknown>)(input)) as CredentialsResult<Data<K>>;
  } catch (err) {
    throw unavailable(method, err);
  }
  if (!result || typeof result !== "object" || typeof result.ok !== "boolean") throw unavailable(method, new Error("malformed answer"));
  return result;
}

/**
 * A call whose every input the gateway builds itself (the options, the password check): a refusal
 * is a fault of ours, a 503 like an unreachable Worker (logged with what the Worker said).
 */
async function required<K extends keyof CredentialsRpc>(env: Env, method: K, input: Call<K>): Promise<Data<K>> {
  const r = await call(env, method, input);
  if (!r.ok) throw unavailable(method, new Error(`${r.error.detail} ${JSON.stringify(r.error.errors ?? [])}`));
  return r.data;
}

export const registrationOptionsOf = (env: Env, input: Call<"registrationOptions">) => required(env, "registrationOptions", input);
export const authenticationOptionsOf = (env: Env, input: Call<"authenticationOptions">) => required(env, "authenticationOptions", input);

/** A verification: refused (the browser's answer is malformed or does not verify) with the verifier's reason. */
async function verify<K extends "verifyRegistration" | "verifyAuthentication">(env: Env, method: K, input: Call<K>): Promise<WebAuthnVerdict<Data<K>>> {
  const r = await call(env, method, input);
  if (r.ok) return { ok: true, data: r.data };
  const why = r.error.errors?.length ? r.error.errors.map((e) => `${e.path}: ${e.message}`).join("; ") : r.error.detail;
  return { ok: false, detail: why };
}

export const verifyRegistrationWith = (env: Env, input: Call<"verifyRegistration">) => verify(env, "verifyRegistration", input);
export const verifyAuthenticationWith = (env: Env, input: Call<"verifyAuthentication">) => verify(env, "verifyAuthentication", input);

/** Whether a password being set is on the common-password list. */
export async function isCommonPassword(env: Env, password: string): Promise<boolean> {
  return (await required(env, "isCommonPassword", { password })).common;
}
