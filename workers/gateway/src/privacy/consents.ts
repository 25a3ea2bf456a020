import type { OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError, type IdentityContext, type MeshModel, decodeCursor, fieldError, meshFields, newId, nowIso, paginate, ref } from "@buildly/shared";
import { actorOf, gatewayEvent, outboxStatement, relaySoon } from "../events";
import { currentPrincipal } from "../identity/authenticate";
import { type LocalModels, meshRecordExists } from "../mesh";
import type { GatewayEnv } from "../types";
import { allowsPrivacy } from "./access";
import { consentHistory, currentConsents, recordConsent } from "./consents.routes";
import { ConsentSchema } from "./schemas";

/*
 * Consent records (docs/privacy.md): per CRM contact and purpose, given or withdrawn, append-only
 * (migration 0012's triggers refuse changes and deletes). A contact's current consent for a
 * purpose is its latest record. The records are a model of the data mesh (mesh/local.ts):
 * `?join=consents` on crm contacts embeds the current ones. Erasure keeps them as proof of
 * consent: they name no one but by the contact's id, and the erasure appends a withdrawal.
 */

type Consent = z.infer<typeof ConsentSchema>;

export const MAX_PURPOSES_PER_CONTACT = 100;
/** Why erasure keeps consent records (the catalog's legal basis). */
export const CONSENT_LEGAL_BASIS = "proof of consent (GDPR art. 7(1)); the records hold no name or email, only the erased contact's id";
/** The source of the withdrawal an erasure appends. */
export const ERASURE_SOURCE = "erasure";

const COLUMNS = "id, contact_id, purpose, status, source, at, recorded_by, recorded_at";
const ORDER = "at DESC, recorded_at DESC, id DESC";

export const CONSENTS_MODEL: MeshModel = {
  name: "consents",
  path: "/consents",
  title: "Consent",
  fields: meshFields(ConsentSchema, { contact_id: ref("crm", "contacts") }).map((f) => (f.name === "contact_id" ? { ...f, lookup: true } : f)),
  searchable: false,
  personal_data: {
    fields: ["contact_id", "purpose", "status", "at"],
    found_by: { contact_id: "contact_id" },
    erasure: { action: "keep", legal_basis: CONSENT_LEGAL_BASIS },
  },
};

/** Each contact's current consent per purpose: the latest record of each (contact, purpose). */
async function currentOf(d1: D1Database, org: string, contactIds: string[]): Promise<Consent[]> {
  const { results } = await d1
    .prepare(
      `SELECT ${COLUMNS} FROM (
         SELECT *, row_number() OVER (PARTITION BY contact_id, purpose ORDER BY ${ORDER}) AS rn
         FROM privacy_consents WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2))
       ) WHERE rn = 1 ORDER BY contact_id, ${ORDER}`,
    )
    .bind(org, JSON.stringify(contactIds))
    .all<Consent>();
  return results;
}

/** The privacy room's models in the data mesh (registered in index.ts, loaded on first use). */
export const PRIVACY_MODELS: LocalModels = {
  catalog: { service: "privacy", models: [CONSENTS_MODEL] },
  title: "Privacy",
  mayRead: (c) => allowsPrivacy(c, "read"),
  async getMany(d1, model, ids, identity: IdentityContext) {
    if (model !== "consents") throw new ApiError(404, `The privacy service has no model ${model}.`);
    const { results } = await d1
      .prepare(`SELECT ${COLUMNS} FROM privacy_consents WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))`)
      .bind(identity.organization_id, JSON.stringify(ids))
      .all<Consent>();
    return results;
  },
  // The join's records are the contact's current consents, not the whole history (GET /v1/privacy/consents/history).
  async findBy(d1, model, field, values, perValue, identity) {
    if (model !== "consents") throw new ApiError(404, `The privacy service has no model ${model}.`);
    if (field !== "contact_id") throw fieldError("field", `${field} is not a lookup field of consents`);
    const rows = await currentOf(d1, identity.organization_id, values);
    const counts = new Map<string, number>();
    return rows.filter((r) => {
      const n = (counts.get(r.contact_id) ?? 0) + 1;
      counts.set(r.contact_id, n);
      return n <= perValue;
    });
  },
};

/**
 * Erasure's part (runner.ts): the consent records of the person's contacts are kept (listed), and
 * unless `dry`, a withdrawal (source "erasure") is appended for every purpose still given.
 */
export async function consentsOnErasure(d1: D1Database, org: string, contactIds: string[], dry: boolean): Promise<{ kept: string[]; withdrawn: number }> {
  if (!contactIds.length) return { kept: [], withdrawn: 0 };
  const given = (await currentOf(d1, org, contactIds)).filter((r) => r.status === "given");
  if (!dry && given.length) {
    const now = nowIso();
    await d1.batch(
      given.map((g) =>
        d1
          .prepare(
            "INSERT INTO privacy_consents (id, organization_id, contact_id, purpose, status, source, at, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, 'withdrawn', ?5, ?6, NULL, ?6)",
          )
          .bind(newId(), org, g.contact_id, g.purpose, ERASURE_SOURCE, now),
      ),
    );
  }
  const { results } = await d1
    .prepare(
      "SELECT id FROM privacy_consents WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)) ORDER BY recorded_at, id LIMIT 1000",
    )
    .bind(org, JSON.stringify(contactIds))
    .all<{ id: string }>();
  return { kept: results.map((r) => r.id), withdrawn: dry ? 0 : given.length };
}

export function registerConsents(app: OpenAPIHono<GatewayEnv>) {
  return app
    .openapi(recordConsent, async (c) => {
      const input = c.req.valid("json");
      const principal = currentPrincipal(c);
      const now = nowIso();
      const at = input.at ? new Date(input.at).toISOString() : now;
      if (Date.parse(at) > Date.now() + 60_000) throw fieldError("at", "A consent cannot be given or withdrawn in the future");
      if (!(await meshRecordExists(c, { service: "crm", model: "contacts" }, input.contact_id))) {
        throw fieldError("contact_id", "No contact with this id in your organization");
      }
      const id = newId();
      const [inserted] = await c.env.DB.batch([
        c.env.DB.prepare(
          `INSERT INTO privacy_consents (id, organization_id, contact_id, purpose, status, source, at, recorded_by, recorded_at)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
           WHERE EXISTS (SELECT 1 FROM privacy_consents WHERE organization_id = ?2 AND contact_id = ?3 AND purpose = ?4)
              OR (SELECT count(DISTINCT purpose) FROM privacy_consents WHERE organization_id = ?2 AND contact_id = ?3) < ?10
           RETURNING ${COLUMNS}`,
        ).bind(
          id,
          principal.organization_id,
          input.contact_id,
          input.purpose,
          input.status,
          input.source,
          at,
          principal.subject,
          now,
          MAX_PURPOSES_PER_CONTACT,
        ),
        // About the contact (its subject), so erasing the person redacts it.
        outboxStatement(
          c.env.DB,
          gatewayEvent(actorOf(c), "privacy.consent.recorded", {
            subject: input.contact_id,
            organizationid: principal.organization_id,
            data: { id, contact_id: input.contact_id, purpose: input.purpose, status: input.status, source: input.source, at },
          }),
          { onlyIfChanged: true },
        ),
      ]);
      const row = inserted?.results[0] as Consent | undefined;
      if (!row) throw fieldError("purpose", `A contact has at most ${MAX_PURPOSES_PER_CONTACT} purposes`);
      relaySoon(c);
      return c.json(row, 201);
    })
    .openapi(currentConsents, async (c) => {
      const { contact_id } = c.req.valid("query");
      const data = await currentOf(c.env.DB, currentPrincipal(c).organization_id, [contact_id]);
      return c.json({ contact_id, data }, 200);
    })
    .openapi(consentHistory, async (c) => {
      const q = c.req.valid("query");
      const after = decodeCursor(q.cursor);
      const { results } = await c.env.DB.prepare(
        `SELECT ${COLUMNS} FROM privacy_consents WHERE organization_id = ?1 AND contact_id = ?2 AND (?3 IS NULL OR purpose = ?3)
           AND (?4 IS NULL OR (at || ' ' || recorded_at, id) < (?4, ?5))
         ORDER BY ${ORDER} LIMIT ?6`,
      )
        .bind(currentPrincipal(c).organization_id, q.contact_id, q.purpose ?? null, after?.k ?? null, after?.id ?? null, q.limit + 1)
        .all<Consent>();
      return c.json(
        paginate(results, q.limit, (r) => `${r.at} ${r.recorded_at}`),
        200,
      );
    });
}
