import type { Relationship } from "./relationship";

/** When the platform's defaults were defined; they sort before any organization's own. */
const DEFINED_AT = "2026-01-01T00:00:00.000Z";

/**
 * The platform's relationships, in force for every organization without being copied into
 * its data: served from here and merged with the organization's own (relationships/store.ts).
 * They cannot be deleted, and an organization's keys cannot take theirs.
 */
export const DEFAULT_RELATIONSHIPS: readonly Relationship[] = [
  {
    id: "0e5e0000-0000-4000-8000-000000000001",
    key: "appointments",
    reverse_key: "contacts",
    origin: { service: "crm", model: "contacts" },
    related: { service: "appointments", model: "appointments" },
    kind: "field",
    field: "attendees[].contact_id",
    field_on: "related",
    on_delete: "set_null",
    builtin: true,
    created_at: DEFINED_AT,
  },
  {
    id: "0e5e0000-0000-4000-8000-000000000002",
    key: "documents",
    reverse_key: "contacts",
    origin: { service: "crm", model: "contacts" },
    related: { service: "documents", model: "files" },
    kind: "join_records",
    field: null,
    field_on: null,
    on_delete: "unlink",
    builtin: true,
    created_at: DEFINED_AT,
  },
  {
    id: "0e5e0000-0000-4000-8000-000000000003",
    key: "contacts",
    reverse_key: "company",
    origin: { service: "crm", model: "companies" },
    related: { service: "crm", model: "contacts" },
    kind: "field",
    field: "company_id",
    field_on: "related",
    on_delete: "restrict",
    builtin: true,
    created_at: DEFINED_AT,
  },
  {
    id: "0e5e0000-0000-4000-8000-000000000004",
    key: "contact",
    reverse_key: "deals",
    origin: { service: "crm", model: "deals" },
    related: { service: "crm", model: "contacts" },
    kind: "field",
    field: "contact_id",
    field_on: "origin",
    on_delete: "restrict",
    builtin: true,
    created_at: DEFINED_AT,
  },
  {
    // The privacy room's consent records (a model the gateway holds, mesh/local.ts). A contact
    // whose consent history is on record is erased through a privacy request, which keeps the
    // history as proof of consent; a plain delete is refused (docs/privacy.md).
    id: "0e5e0000-0000-4000-8000-000000000005",
    key: "consents",
    reverse_key: "contact",
    origin: { service: "crm", model: "contacts" },
    related: { service: "privacy", model: "consents" },
    kind: "field",
    field: "contact_id",
    field_on: "related",
    on_delete: "restrict",
    builtin: true,
    created_at: DEFINED_AT,
  },
];
