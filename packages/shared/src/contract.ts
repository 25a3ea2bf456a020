import type { IdentityContextInput } from "./context";
import type { Problem } from "./errors";

export interface ServiceHealth {
  service: string;
  status: "ok" | "error";
  checks: Record<string, "ok" | "error">;
}

/**
 * What crosses RPC when a call can fail: thrown errors lose their fields on the way, so
 * failures travel as values and the caller rebuilds the ApiError.
 */
export type RpcResult<T> = { ok: true; data: T } | { ok: false; error: Problem };

/** At most this many ids in one batched read. */
export const GET_MANY_MAX_IDS = 100;

/**
 * The header that carries the identity context (as JSON) on a call to a service entrypoint's
 * `fetch`: set only by the gateway, read only by the named entrypoint (never by a Worker's default
 * export), and taken off the request before the service's app sees it.
 */
export const IDENTITY_CONTEXT_HEADER = "x-buildly-identity-context";

const OUTSIDE_PRINTABLE_ASCII = /[^\x20-\x7e]/;
const OUTSIDE_PRINTABLE_ASCII_ALL = /[^\x20-\x7e]/g;

/**
 * The identity context as IDENTITY_CONTEXT_HEADER's value: JSON with every character outside
 * printable ASCII written as \uXXXX (JSON.parse gives back the same strings). A role or subject an
 * external identity provider names in another script would otherwise travel as raw bytes in a
 * header, which HTTP leaves to each runtime's reading (obs-text); escaped, the value means the same
 * to every reader.
 */
export function identityContextHeaderValue(context: IdentityContextInput): string {
  const json = JSON.stringify(context);
  if (!OUTSIDE_PRINTABLE_ASCII.test(json)) return json;
  return json.replace(OUTSIDE_PRINTABLE_ASCII_ALL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * A request to a service on someone's behalf, the gateway's call: over the binding's own `fetch`
 * (the Request and Response carried natively, cheaper than as RPC arguments), with the identity
 * context in IDENTITY_CONTEXT_HEADER, set here on every call, so that a header of that name the
 * request already had (a client's) never passes. `request` is one the caller built (its headers
 * can be set). The named entrypoint's `fetch` (entrypoint.ts) is the other side.
 */
export function callService(stub: Pick<LogicServiceRpc, "fetch">, request: Request, context: IdentityContextInput): Promise<Response> {
  request.headers.set(IDENTITY_CONTEXT_HEADER, identityContextHeaderValue(context));
  return stub.fetch(request);
}

/**
 * The RPC surface every logic service's entrypoint offers the gateway.
 * `fetch` is the proxied call: the client's request as it is (its body streamed), with the
 * identity context in IDENTITY_CONTEXT_HEADER; the service binding's own `fetch` carries the
 * `Request` and `Response` natively, about 0.2 ms a call cheaper here than passing them as RPC
 * arguments (docs/benchmarks.md, "Other call contracts").
 * `handle` is the same call with the identity context as a typed argument;
 * `getMany` is the batched read by ids the data mesh uses, scoped to the context's organization.
 */
export interface LogicServiceRpc extends MeshRpc {
  fetch(request: Request): Promise<Response>;
  handle(request: Request, context: IdentityContextInput): Promise<Response>;
  health(): Promise<ServiceHealth>;
  getMany(model: string, ids: string[], context: IdentityContextInput): Promise<RpcResult<Record<string, unknown>[]>>;
}

// ---------------------------------------------------------------------------------------------
// The data mesh's view of a service (issue 8). The gateway reads every service's catalog over
// RPC (`describe`), joins with `getMany` (by id) and `findBy` (by a field's values, for the
// reverse side of a field relationship), and searches with `search`.

/** Value types a catalog field may declare. */
export type MeshFieldType = "uuid" | "string" | "text" | "integer" | "number" | "boolean" | "datetime" | "date" | "object" | "array";

export interface MeshField {
  /**
   * The field's name as the API shows it. A field inside a list of objects is written with `[]`,
   * e.g. `attendees[].contact_id` (an appointment's attendees each naming a CRM contact).
   */
  name: string;
  type: MeshFieldType;
  nullable?: boolean;
  /** This field holds the id of another service's record, e.g. `{ service: "crm", model: "contacts" }`. */
  references?: { service: string; model: string };
  /** `findBy` accepts this field (it is indexed for lookups by value). */
  lookup?: boolean;
}

export interface MeshModel {
  /** The model's name, unique within the service, e.g. `contacts`. */
  name: string;
  /** The collection's path under the service, e.g. `/contacts` (records at `/contacts/{id}`). */
  path: string;
  /** A human title: `Contact`. */
  title: string;
  fields: MeshField[];
  /** `search` covers this model. */
  searchable: boolean;
  /** What the model holds about people and what erasure does to it (issue 23, docs/privacy.md). */
  personal_data: PersonalData;
}

// ---------------------------------------------------------------------------------------------
// Privacy (issue 23): every model declares its personal data, how a person is found in it and
// what erasure does; the gateway's privacy room finds, exports and erases a person through them.

/**
 * How a person is found in a model: by their email, by the id of their CRM contact, by their
 * user id, or `linked`: records tied to the person's contact by the mesh's join records.
 */
export const SUBJECT_KEYS = ["email", "contact_id", "user_id", "linked"] as const;
export type SubjectKey = (typeof SUBJECT_KEYS)[number];

/**
 * What erasure does to a record found for a person: delete it; anonymize named fields (each
 * replaced by the value given; `list[]: null` removes the person's entries from a list); or keep
 * it under a legal basis the catalog states.
 */
export type ErasureRule = { action: "delete" } | { action: "anonymize"; replace: Record<string, string | null> } | { action: "keep"; legal_basis: string };

export interface PersonalData {
  /** Catalog fields that hold personal data (empty: the model holds none). */
  fields: string[];
  /** Subject key -> the catalog field it is matched on (`linked` -> "id"). Empty: no person is found here. */
  found_by: Partial<Record<SubjectKey, string>>;
  erasure: ErasureRule;
}

/** The person a request is about, as the gateway resolved it for the services. */
export interface PrivacySubject {
  emails: string[];
  contact_ids: string[];
  user_ids: string[];
  /** model -> ids of this service's records linked to the person's contacts (mesh join records). */
  linked: Record<string, string[]>;
}

/** At most this many records of one model per findBySubject/eraseBySubject call (the caller repeats an erasure until none remain). */
export const PRIVACY_MAX_RECORDS = 200;

/** One model's records about a person. */
export interface SubjectRecords {
  model: string;
  erasure: ErasureRule;
  records: Record<string, unknown>[];
  /** More records than PRIVACY_MAX_RECORDS matched. */
  truncated: boolean;
}

/** What one eraseBySubject call did (or, dry run, would do) to one model. */
export interface ErasureStep {
  model: string;
  action: ErasureRule["action"];
  /** Records erased (deleted or anonymized); kept records are listed with their legal basis in `kept`. */
  ids: string[];
  /** Records a legal hold kept from erasure. */
  held: string[];
  kept: string[];
  legal_basis: string | null;
  /** Stored objects (R2) deleted with the records. */
  objects_deleted: number;
  /** More records remain (the call was bounded): call again. */
  remaining: boolean;
}

export interface ServiceCatalog {
  service: string;
  models: MeshModel[];
}

/** One search hit, in the mesh's common shape (the gateway adds `service` and the `url`). */
export interface SearchHit {
  id: string;
  model: string;
  name: string;
  /** What kind of thing it is, for display: "contact", "file", "appointment"... */
  type: string;
  description: string | null;
  /** Higher is better; comparable across services only roughly (0..1). */
  score: number;
}

/** At most this many values in one `findBy`, and at most this many records per value. */
export const FIND_BY_MAX_VALUES = 100;
export const FIND_BY_MAX_PER_VALUE = 50;
/** At most this many hits from one service's `search`. */
export const SEARCH_MAX_HITS = 50;
/** A search query holds at most this many characters (after trimming). */
export const SEARCH_MAX_QUERY_LENGTH = 200;

/** What the mesh adds to the RPC surface of every logic service. */
export interface MeshRpc {
  /** The service's models: names, paths, fields, references. No identity needed: it is schema, not data. */
  describe(): Promise<ServiceCatalog>;
  /**
   * Records of `model` whose `field` holds one of `values` (at most FIND_BY_MAX_VALUES), within
   * the context's organization, at most `perValue` (<= FIND_BY_MAX_PER_VALUE) per value, newest
   * first (by created_at, then id). Only fields the catalog marks `lookup: true`. One query on the
   * service's side whatever the number of values. A record matching several values (an
   * appointment with two of the contacts asked for) comes once; the caller groups by the field.
   * Unknown model: 404; a field that is not a lookup, bad values or perValue: 422.
   */
  findBy(model: string, field: string, values: string[], perValue: number, context: IdentityContextInput): Promise<RpcResult<Record<string, unknown>[]>>;
  /**
   * Best matches for `query` (1..SEARCH_MAX_QUERY_LENGTH characters) among `models` (empty = every
   * searchable model), at most `limit` (<= SEARCH_MAX_HITS), best first. Unknown model: 404; a
   * model that is not searchable: 422.
   */
  search(query: string, models: string[], limit: number, context: IdentityContextInput): Promise<RpcResult<SearchHit[]>>;
  /** Each personal-data model's records about the subject, within the context's organization (bounded per model). */
  findBySubject(subject: PrivacySubject, context: IdentityContextInput): Promise<RpcResult<SubjectRecords[]>>;
  /**
   * Applies each model's erasure rule to the subject's records (at most PRIVACY_MAX_RECORDS per
   * model per call), skipping `held` ids (model -> ids under legal hold); `dry_run`: says what
   * it would do and changes nothing. Writes make no events (the gateway records one audit entry).
   */
  eraseBySubject(
    subject: PrivacySubject,
    options: { dry_run: boolean; held: Record<string, string[]> },
    context: IdentityContextInput,
  ): Promise<RpcResult<ErasureStep[]>>;
}
