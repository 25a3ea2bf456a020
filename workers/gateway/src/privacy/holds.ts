import type { OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError, decodeCursor, newId, nowIso, paginate } from "@buildly/shared";
import { actorOf, gatewayEvent, outboxStatement, relaySoon } from "../events";
import { currentPrincipal } from "../identity/authenticate";
import { meshRecordExists } from "../mesh";
import type { GatewayEnv } from "../types";
import { createLegalHold, getLegalHold, listLegalHolds, releaseLegalHold } from "./holds.routes";
import type { LegalHoldSchema } from "./schemas";

/*
 * Legal holds (docs/privacy.md): a record under a hold in force is kept by erasure and reported
 * as held (runner.ts reads the holds in force per service). Released holds stay on record.
 */

type Hold = z.infer<typeof LegalHoldSchema>;

const notFound = () => new ApiError(404, "No legal hold has this id.");

export function registerLegalHolds(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(createLegalHold, async (c) => {
      const input = c.req.valid("json");
      const principal = currentPrincipal(c);
      const ref = { service: input.service, model: input.model };
      if (!(await meshRecordExists(c, ref, input.record_id))) {
        throw new ApiError(404, `No ${input.service} ${input.model} record with this id in your organization.`);
      }
      // The partial unique index allows one hold in force per record: a second insert does nothing (and writes no event).
      const id = newId();
      const [inserted] = await c.env.DB.batch([
        c.env.DB.prepare(
          `INSERT INTO privacy_legal_holds (id, organization_id, service, model, record_id, reason, created_by, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
           ON CONFLICT (organization_id, service, model, record_id) WHERE released_at IS NULL DO NOTHING RETURNING *`,
        ).bind(id, principal.organization_id, input.service, input.model, input.record_id, input.reason, principal.subject, nowIso()),
        outboxStatement(
          c.env.DB,
          gatewayEvent(actorOf(c), "privacy.legal_hold.placed", { subject: id, organizationid: principal.organization_id, data: { id, ...input } }),
          { onlyIfChanged: true },
        ),
      ]);
      const row = inserted?.results[0] as Hold | undefined;
      if (!row) throw new ApiError(409, "This record is already under a legal hold in force.");
      relaySoon(c);
      return c.json(toBody(row), 201);
    })
    .openapi(listLegalHolds, async (c) => {
      const q = c.req.valid("query");
      const org = currentPrincipal(c).organization_id;
      const after = decodeCursor(q.cursor);
      const { results } = await c.env.DB.prepare(
        `SELECT * FROM privacy_legal_holds WHERE organization_id = ?1
           AND (?2 = 'all' OR (?2 = 'active') = (released_at IS NULL))
           AND (?3 IS NULL OR service = ?3) AND (?4 IS NULL OR model = ?4) AND (?5 IS NULL OR record_id = ?5)
           AND (?6 IS NULL OR (created_at, id) < (?6, ?7))
         ORDER BY created_at DESC, id DESC LIMIT ?8`,
      )
        .bind(org, q.status, q.service ?? null, q.model ?? null, q.record_id ?? null, after?.k ?? null, after?.id ?? null, q.limit + 1)
        .all<Hold>();
      const page = paginate(results, q.limit, (r) => r.created_at);
      return c.json({ data: page.data.map(toBody), next_cursor: page.next_cursor }, 200);
    })
    .openapi(getLegalHold, async (c) => {
      const { id } = c.req.valid("param");
      const org = currentPrincipal(c).organization_id;
      const row = await c.env.DB.prepare("SELECT * FROM privacy_legal_holds WHERE id = ?1 AND organization_id = ?2").bind(id, org).first<Hold>();
      if (!row) throw notFound();
      return c.json(toBody(row), 200);
    })
    .openapi(releaseLegalHold, async (c) => {
      const { id } = c.req.valid("param");
      const principal = currentPrincipal(c);
      const body = (c.req.valid("json") as { reason?: string } | undefined) ?? {};
      const [updated] = await c.env.DB.batch([
        c.env.DB.prepare(
          `UPDATE privacy_legal_holds SET released_at = ?3, released_by = ?4, release_reason = ?5
           WHERE id = ?1 AND organization_id = ?2 AND released_at IS NULL RETURNING *`,
        ).bind(id, principal.organization_id, nowIso(), principal.subject, body.reason ?? null),
        outboxStatement(
          c.env.DB,
          gatewayEvent(actorOf(c), "privacy.legal_hold.released", {
            subject: id,
            organizationid: principal.organization_id,
            data: { id, release_reason: body.reason ?? null },
          }),
          { onlyIfChanged: true },
        ),
      ]);
      const row = updated?.results[0] as Hold | undefined;
      if (row) {
        relaySoon(c);
        return c.json(toBody(row), 200);
      }
      const exists = await c.env.DB.prepare("SELECT 1 AS x FROM privacy_legal_holds WHERE id = ?1 AND organization_id = ?2")
        .bind(id, principal.organization_id)
        .first();
      if (!exists) throw notFound();
      throw new ApiError(409, "This legal hold was already released.");
    });
}

function toBody(r: Hold): Hold {
  return {
    id: r.id,
    service: r.service,
    model: r.model,
    record_id: r.record_id,
    reason: r.reason,
    created_by: r.created_by,
    created_at: r.created_at,
    released_by: r.released_by,
    released_at: r.released_at,
    release_reason: r.release_reason,
  };
}
