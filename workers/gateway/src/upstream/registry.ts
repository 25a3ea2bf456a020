import { z } from "zod";
import type { LogicServiceRpc } from "@buildly/shared/service";

/**
 * Path segments the gateway serves itself under /v1/; no service may take them. Kept equal to the
 * gateway's own routes by test/reserved-names.test.ts; `npm run new-service` reads this list.
 */
export const RESERVED_NAMES = [
  "audit",
  "auth",
  "clients",
  "events",
  "invitations",
  "mesh",
  "organizations",
  "privacy",
  "roles",
  "services",
  "users",
  "webhooks",
  "workflows",
];

export const ServiceEntrySchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .refine((n) => !RESERVED_NAMES.includes(n), { message: "This name is used by the gateway itself" }),
  binding: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  version: z.string().regex(/^v\d+$/),
  title: z.string().min(1),
  openapi: z.string().startsWith("/"),
  timeout_ms: z.number().int().positive().max(300_000).default(10_000),
  max_body_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
});
export type ServiceEntry = z.infer<typeof ServiceEntrySchema> & { prefix: string };

const RegistrySchema = z.array(ServiceEntrySchema).min(1);

let cached: ServiceEntry[] | undefined;

/**
 * The registry from `vars.SERVICES`, validated once per isolate (vars cannot change
 * without a new deployment, hence a new isolate). A bad entry fails loudly.
 */
export function serviceRegistry(env: Env): ServiceEntry[] {
  if (cached) return cached;
  const source: unknown = env.SERVICES;
  const raw = typeof source === "string" ? JSON.parse(source) : source;
  const entries = RegistrySchema.parse(raw).map((e) => ({ ...e, prefix: `/${e.version}/${e.name}` }));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.prefix)) throw new Error(`Service registry: ${e.prefix} is listed twice`);
    seen.add(e.prefix);
  }
  cached = entries;
  return entries;
}

let names: string[] | undefined;

/** The registered services' names, in the registry's order (one list per isolate, as the registry is). */
export function serviceNames(env: Env): string[] {
  return (names ??= serviceRegistry(env).map((s) => s.name));
}

/** The entry whose prefix is a whole-segment prefix of `path`. */
export function findService(entries: ServiceEntry[], path: string): ServiceEntry | undefined {
  return entries.find((e) => path === e.prefix || path.startsWith(`${e.prefix}/`));
}

export function serviceBinding(env: Env, entry: ServiceEntry): LogicServiceRpc | undefined {
  return Reflect.get(env, entry.binding) as LogicServiceRpc | undefined;
}
