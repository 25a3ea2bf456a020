import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError, newId, nowIso } from "@buildly/shared";
import { currentPrincipal } from "../identity/authenticate";
import type { GatewayEnv } from "../types";
import { registerConsents } from "./consents";
import { registerLegalHolds } from "./holds";
import { registerRetention } from "./retention";
import { createPrivacyRequest, getPrivacyRequest, type PrivacyRequestBody } from "./routes";
import type { RequestRow } from "./runner";

export { PrivacyRequest } from "./request-object";

/*
 * Privacy (issue 23, docs/privacy.md): subject requests over the data mesh. The services declare
 * their personal data in their catalogs and erase through their own contracts (findBySubject,
 * eraseBySubject); this room resolves the person, drives the run from a Durable Object's alarm
 * and redacts what the gateway holds about them (join records, events, audit payloads).
 */

function toBody(row: RequestRow): PrivacyRequestBody {
  return {
    id: row.id,
    type: row.type,
    dry_run: row.dry_run === 1,
    status: row.status,
    phase: row.phase,
    subject: JSON.parse(row.subject),
    steps: JSON.parse(row.steps),
    error: row.error ? JSON.parse(row.error) : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    completed_at: row.completed_at,
  };
}

export function registerPrivacy(app: OpenAPIHono<GatewayEnv>) {
  registerLegalHolds(app);
  registerConsents(app);
  registerRetention(app);
  return app
    .openapi(createPrivacyRequest, async (c) => {
      const input = c.req.valid("json");
      const principal = currentPrincipal(c);
      const id = newId();
      const now = nowIso();
      const dry = input.type === "erasure" && input.dry_run;
      const row = await c.env.DB.prepare(
        `INSERT INTO privacy_requests (id, organization_id, type, dry_run, status, subject, phase, steps, requested_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, 'resolve', '[]', ?6, ?7, ?7) RETURNING *`,
      )
        .bind(id, principal.organization_id, input.type, dry ? 1 : 0, JSON.stringify(input.subject), principal.subject, now)
        .first<RequestRow>();
      await c.env.PRIVACY_REQUESTS.getByName(`${principal.organization_id}:${id}`).start(id);
      return c.json(toBody(row!), 202);
    })
    .openapi(getPrivacyRequest, async (c) => {
      const { id } = c.req.valid("param");
      const org = currentPrincipal(c).organization_id;
      const row = await c.env.DB.prepare("SELECT * FROM privacy_requests WHERE id = ?1 AND organization_id = ?2").bind(id, org).first<RequestRow>();
      if (!row) throw new ApiError(404, "No privacy request has this id.");
      return c.json(toBody(row), 200);
    });
}
