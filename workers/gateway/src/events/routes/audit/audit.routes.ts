import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../../identity/authenticate";
import { AuditListQuerySchema, AuditListSchema, VerifyQuerySchema, VerifyReportSchema } from "../../schemas";

const tags = ["Audit trail"];

export const listAudit = createRoute({
  method: "get",
  path: "/v1/audit",
  operationId: "listAuditEntries",
  summary: "The organization's audit trail, newest first (admins only)",
  description:
    "Append-only: one entry per event, chained by SHA-256 hashes. Filter by actor (a user or client id), service " +
    "(crm, documents, appointments, identity), type, and the event's time (from inclusive, to exclusive).",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { query: AuditListQuerySchema },
  responses: {
    200: { description: "A page of audit entries", content: { "application/json": { schema: AuditListSchema } } },
    ...problemResponses(401, 403, 422),
  },
});

export const verifyAudit = createRoute({
  method: "get",
  path: "/v1/audit/verify",
  operationId: "verifyAuditTrail",
  summary: "Re-walk the organization's hash chain and say whether it is intact (admins only)",
  description:
    "Checks each entry's hash against its content, its link to the entry before it and that no entry is missing, at most " +
    "`limit` entries from `from_seq` per call. When `complete` is false, call again with `from_seq` = `next_from_seq`.",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { query: VerifyQuerySchema },
  responses: {
    200: { description: "The verification of the entries walked", content: { "application/json": { schema: VerifyReportSchema } } },
    ...problemResponses(401, 403, 422),
  },
});
