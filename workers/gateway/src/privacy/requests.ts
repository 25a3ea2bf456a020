import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError, newId, nowIso } from "@buildly/shared";
import { currentPrincipal } from "../identity/authenticate";
import type { GatewayEnv } from "../types";
import { fromBase64Url } from "@buildly/shared/encoding";
import { type ArchiveSummary, archiveLink, linkValid } from "./archive";
import { createPrivacyRequest, deletePrivacyArchive, downloadPrivacyArchive, getPrivacyRequest, type PrivacyRequestBody } from "./routes";
import { erasesLastAdmin } from "./identity-data";
import type { RequestRow } from "./runner";

async function toBody(env: Env, row: RequestRow): Promise<PrivacyRequestBody> {
  let archive: PrivacyRequestBody["archive"] = null;
  if (row.archive) {
    const a = JSON.parse(row.archive) as ArchiveSummary;
    archive = {
      ...(await archiveLink(env.SIGNING_KEYS_SECRET, row.organization_id, row.id)),
      bytes: a.bytes,
      sha256: a.sha256,
      entries: a.entries,
      created_at: a.created_at,
    };
  }
  return {
    id: row.id,
    type: row.type,
    dry_run: row.dry_run === 1,
    status: row.status,
    phase: row.phase,
    subject: JSON.parse(row.subject),
    steps: JSON.parse(row.steps),
    error: row.error ? JSON.parse(row.error) : null,
    archive,
    created_at: row.created_at,
    updated_at: row.updated_at,
    completed_at: row.completed_at,
  };
}

/** Subject requests: start one, read its progress, download or delete its archive. */
export function registerPrivacyRequests(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(createPrivacyRequest, async (c) => {
      const input = c.req.valid("json");
      const principal = currentPrincipal(c);
      const id = newId();
      const now = nowIso();
      const dry = input.type === "erasure" && input.dry_run;
      if (
        input.type === "erasure" &&
        !dry &&
        (await erasesLastAdmin(c.env.DB, principal.organization_id, {
          emails: input.subject.email ? [input.subject.email] : [],
          user_ids: input.subject.user_id ? [input.subject.user_id] : [],
        }))
      ) {
        throw new ApiError(409, "This would erase the organization's last active admin. Make another user admin first.");
      }
      const row = await c.env.DB.prepare(
        `INSERT INTO privacy_requests (id, organization_id, type, dry_run, status, subject, phase, steps, requested_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, 'resolve', '[]', ?6, ?7, ?7) RETURNING *`,
      )
        .bind(id, principal.organization_id, input.type, dry ? 1 : 0, JSON.stringify(input.subject), principal.subject, now)
        .first<RequestRow>();
      await c.env.PRIVACY_REQUESTS.getByName(`${principal.organization_id}:${id}`).start(id);
      return c.json(await toBody(c.env, row!), 202);
    })
    .openapi(getPrivacyRequest, async (c) => {
      const { id } = c.req.valid("param");
      const org = currentPrincipal(c).organization_id;
      const row = await c.env.DB.prepare("SELECT * FROM privacy_requests WHERE id = ?1 AND organization_id = ?2").bind(id, org).first<RequestRow>();
      if (!row) throw new ApiError(404, "No privacy request has this id.");
      return c.json(await toBody(c.env, row), 200);
    })
    .openapi(deletePrivacyArchive, async (c) => {
      const { id } = c.req.valid("param");
      const org = currentPrincipal(c).organization_id;
      const row = await c.env.DB.prepare("SELECT archive FROM privacy_requests WHERE id = ?1 AND organization_id = ?2")
        .bind(id, org)
        .first<Pick<RequestRow, "archive">>();
      if (!row?.archive) throw new ApiError(404, "This request has no stored archive.");
      await c.env.PRIVACY_ARCHIVES.delete((JSON.parse(row.archive) as ArchiveSummary).key);
      await c.env.DB.prepare("UPDATE privacy_requests SET archive = NULL WHERE id = ?1 AND organization_id = ?2").bind(id, org).run();
      return c.body(null, 204);
    })
    .openapi(downloadPrivacyArchive, async (c) => {
      const { id } = c.req.valid("param");
      const { expires, signature } = c.req.valid("query");
      const row = await c.env.DB.prepare("SELECT organization_id, archive FROM privacy_requests WHERE id = ?1")
        .bind(id)
        .first<Pick<RequestRow, "organization_id" | "archive">>();
      // The signature binds the request's organization: a link never opens another tenant's archive.
      if (!row || !(await linkValid(c.env.SIGNING_KEYS_SECRET, row.organization_id, id, expires, fromBase64Url(signature)))) {
        throw new ApiError(403, "This archive link is not valid, or has expired: ask GET /v1/privacy/requests/{id} for a new one.");
      }
      const archive = row.archive ? (JSON.parse(row.archive) as ArchiveSummary) : null;
      const object = archive ? await c.env.PRIVACY_ARCHIVES.get(archive.key) : null;
      if (!archive || !object) throw new ApiError(404, "This request has no archive (not built yet, or erased).");
      return new Response(object.body, {
        headers: {
          "content-type": "application/zip",
          "content-length": String(object.size),
          "content-disposition": `attachment; filename="privacy-archive-${id}.zip"`,
          "cache-control": "no-store",
        },
      }) as never;
    });
}
