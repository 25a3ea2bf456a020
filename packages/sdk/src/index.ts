export type { Auth, Tokens } from "./auth.ts";
export { type Client, type ClientOptions, createClient, type Method, type MethodWithResponse } from "./client.ts";
export { ApiError, NetworkError, type Problem } from "./errors.ts";
export type { components, operations, paths } from "./generated/api.ts";
export { type Page, paginate } from "./paginate.ts";
export type { RetryOptions } from "./transport.ts";
export { type VerifyOptions, verifyWebhook, WebhookVerificationError } from "./webhooks.ts";
export type { WatchOptions, WorkflowEvent } from "./workflows.ts";

import type { components } from "./generated/api.ts";

/** A schema of the document by name, e.g. Schema<"Crm_Contact">. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

/**
 * A record read or written with `?join=`: the document types `_embedded` per key as generic
 * records (the relationships are data: GET /v1/mesh/relationships), so name what a key holds, e.g.
 * WithEmbedded<Schema<"Crm_Contact">, { appointments: Schema<"Appointments_Appointment">[] }>.
 */
export type WithEmbedded<T, E extends Record<string, unknown[]>> = T & {
  _embedded?: Partial<E>;
  _embedded_errors?: { [K in keyof E]?: components["schemas"]["Problem"] };
  _embedded_more?: { [K in keyof E]?: true };
};
