/*
 * `@buildly/shared/service`: what a logic service's start-up needs (its entrypoint, app, cron
 * handler and Durable Object classes), and nothing that builds a schema or a table when it is
 * evaluated. `@buildly/shared` (index.ts) evaluates every module of the package, its shared
 * schemas (ids, timestamps, pagination, problem details, events) and drizzle included; a Worker
 * whose start-up imports only this subpath evaluates those when a route group or the data mesh's
 * models first import them (bench/README.md "Where start-up goes"). Keep it so: a module added
 * here must build nothing at its top level.
 */
export * from "./errors";
export * from "./request-id";
export * from "./context";
export * from "./logging";
export * from "./app";
export * from "./contract";
export * from "./lazy-routes";
export * from "./lazy-object";
export * from "./load-once";
export * from "./meta";
export * from "./entrypoint";
export * from "./outbox";
export * from "./d1-session";
export * from "./telemetry";
// Types only (erased from the bundle): who acts, as the outbox records it.
export type { EventActor } from "./events";
