import { type ErasureStep, type PrivacySubject, type Problem, type RpcResult, buildEvent, nowIso, toApiError } from "@buildly/shared";
import { GATEWAY_SOURCE } from "../events/emit";
import { redactPage } from "../events/redact";
import { recordEvents } from "../events/store";
import { meshCatalog } from "../mesh/catalog/catalog";
import { detachedCaller, meshCall } from "../mesh/calls";
import { serviceRegistry } from "../upstream/registry";
import { buildArchive } from "./archive";
import { accountsOf, erasesLastAdmin, identityErasure } from "./identity-data";
import { CONSENT_LEGAL_BASIS, consentsOnErasure } from "./consents";

/*
 * One subject request, run step by step from its Durable Object's alarm (request-object.ts). The
 * request's row in D1 is its state: `phase` says where it is, so a run that stops (an eviction, a
 * restart, a failing service) resumes where it stopped. Erasure phases:
 *   resolve  -> the person's contact ids (CRM, by email), user ids (by email), linked records (mesh joins)
 *   service:<name> -> eraseBySubject on each service until none remain (per-step records)
 *   identity -> the person's user account in this organization, with its memberships, sessions, second factors
 *   joins    -> the mesh's join records naming the person's records; the access archives about them
 *   audit:<seq> -> audit entries, events and webhook deliveries about the person, page by page
 *   done     -> one audit entry recording the erasure (counts, no personal data); the subject is dropped from the row
 * Access phases: resolve -> archive (the zip, archive.ts, built whole: a rerun replaces it) -> done.
 */

export interface RequestRow {
  /** JSON ArchiveSummary once an access request's archive is stored. */
  archive: string | null;
  id: string;
  organization_id: string;
  type: "access" | "erasure";
  dry_run: number;
  status: "pending" | "running" | "completed" | "failed";
  subject: string;
  phase: string;
  resolved: string | null;
  steps: string;
  error: string | null;
  requested_by: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface Subject {
  email?: string | undefined;
  contact_id?: string | undefined;
  user_id?: string | undefined;
}

export interface StepRecord extends Partial<ErasureStep> {
  service: string;
  model?: string;
  /** joins, audit, identity: how many rows were changed; access: how many records the archive holds. */
  count?: number;
  /** access: how many stored files (bodies) the archive holds for the model. */
  objects?: number;
  at: string;
}

/** Phases one run (one alarm) goes through at most; the next alarm goes on from the phase saved. */
const PHASES_PER_RUN = 20;

/** How many calls to one service one erasure makes at most (each bounded): a service that always has "more" fails the request. */
const MAX_CALLS_PER_SERVICE = 50;

/** A service whose part of the request could not be done: what remains. */
interface Failure {
  service: string;
  phase: string;
  problem: { status: number; title: string; detail: string | null };
}
const RPC_TIMEOUT_MS = 30_000;

type Resolved = PrivacySubject & { services: string[] };

async function load(d1: D1Database, id: string): Promise<RequestRow | null> {
  return d1.prepare("SELECT * FROM privacy_requests WHERE id = ?1").bind(id).first<RequestRow>();
}

async function save(d1: D1Database, id: string, patch: Partial<RequestRow>): Promise<void> {
  const keys = Object.keys(patch);
  const sets = keys.map((k, i) => `${k} = ?${i + 2}`).join(", ");
  await d1
    .prepare(`UPDATE privacy_requests SET ${sets}, updated_at = ?${keys.length + 2} WHERE id = ?1`)
    .bind(id, ...keys.map((k) => (patch as Record<string, unknown>)[k] ?? null), nowIso())
    .run();
}

function identity(row: RequestRow) {
  return { request_id: `privacy-${row.id}`, user_id: null, organization_id: row.organization_id, roles: [], permissions: {}, system: true };
}

async function resolve(env: Env, row: RequestRow): Promise<Resolved> {
  const s = JSON.parse(row.subject) as Subject;
  const emails = s.email ? [s.email.trim().toLowerCase()] : [];
  const contactIds = new Set(s.contact_id ? [s.contact_id] : []);
  const userIds = new Set(s.user_id ? [s.user_id] : []);
  const users = await env.DB.prepare("SELECT id FROM users WHERE organization_id = ?1 AND lower(email) IN (SELECT value FROM json_each(?2))")
    .bind(row.organization_id, JSON.stringify(emails))
    .all<{ id: string }>();
  for (const u of users.results) userIds.add(u.id);
  // A user named by id is found in the services by their account's email too (this organization's accounts only).
  for (const a of await accountsOf(env.DB, row.organization_id, [...userIds])) if (!emails.includes(a.email.toLowerCase())) emails.push(a.email.toLowerCase());
  const entries = serviceRegistry(env);
  const crm = entries.find((e) => e.name === "crm");
  if (crm && emails.length) {
    const c = detachedCaller(env, `privacy-${row.id}`);
    const found = await meshCall(c, crm, "findBySubject", RPC_TIMEOUT_MS, (stub) =>
      stub.findBySubject({ emails, contact_ids: [], user_ids: [], linked: {} }, identity(row)),
    );
    if (!found.ok) throw Object.assign(new Error("resolve"), { problem: found.error, service: "crm" });
    for (const m of found.data) if (m.model === "contacts") for (const r of m.records) contactIds.add(String(r.id));
  }
  const contacts = JSON.stringify([...contactIds]);
  const joins = await env.DB.prepare(
    `SELECT related_service AS service, related_model AS model, related_id AS id FROM mesh_joins
       WHERE organization_id = ?1 AND origin_service = 'crm' AND origin_model = 'contacts' AND origin_id IN (SELECT value FROM json_each(?2))
     UNION SELECT origin_service, origin_model, origin_id FROM mesh_joins
       WHERE organization_id = ?1 AND related_service = 'crm' AND related_model = 'contacts' AND related_id IN (SELECT value FROM json_each(?2))
     LIMIT 1000`,
  )
    .bind(row.organization_id, contacts)
    .all<{ service: string; model: string; id: string }>();
  const linked: Record<string, string[]> = {};
  for (const j of joins.results) (linked[`${j.service}.${j.model}`] ??= []).push(j.id);
  // The services whose catalog finds people, and those that could not describe themselves (they
  // must be asked all the same: an erasure never skips a service it cannot see into).
  const catalog = await meshCatalog(detachedCaller(env, `privacy-${row.id}`));
  const personal = new Set([...catalog.models.values()].filter((m) => Object.keys(m.personal_data.found_by).length > 0).map((m) => m.service));
  const services = entries.map((e) => e.name).filter((n) => personal.has(n) || Object.hasOwn(catalog.errors, n));
  return { emails, contact_ids: [...contactIds], user_ids: [...userIds], linked, services };
}

/** The subject as one service sees it: only its own linked records. */
function forService(r: Resolved, service: string): PrivacySubject {
  const linked: Record<string, string[]> = {};
  for (const [key, ids] of Object.entries(r.linked)) if (key.startsWith(`${service}.`)) linked[key.slice(service.length + 1)] = ids.slice(0, 100);
  return { emails: r.emails, contact_ids: r.contact_ids.slice(0, 100), user_ids: r.user_ids.slice(0, 10), linked };
}

async function heldFor(d1: D1Database, org: string, service: string): Promise<Record<string, string[]>> {
  const { results } = await d1
    .prepare("SELECT model, record_id FROM privacy_legal_holds WHERE organization_id = ?1 AND service = ?2 AND released_at IS NULL LIMIT 1000")
    .bind(org, service)
    .all<{ model: string; record_id: string }>();
  const held: Record<string, string[]> = {};
  for (const h of results) (held[h.model] ??= []).push(h.record_id);
  return held;
}

/** Adds a part of the request that could not be done to what remains, and saves the list (the run goes on). */
async function recordFailure(d1: D1Database, id: string, failures: Failure[], failure: Failure): Promise<void> {
  failures.push(failure);
  await save(d1, id, { error: JSON.stringify({ remaining: failures }) });
}

/** Merges one call's steps into the request's record (one line per service and model). */
function merge(steps: StepRecord[], service: string, more: ErasureStep[]): StepRecord[] {
  for (const s of more) {
    const at = nowIso();
    const line = steps.find((x) => x.service === service && x.model === s.model);
    if (!line) {
      steps.push({ service, ...s, at });
      continue;
    }
    line.ids = [...new Set([...(line.ids ?? []), ...s.ids])];
    line.held = [...new Set([...(line.held ?? []), ...s.held])];
    line.kept = [...new Set([...(line.kept ?? []), ...s.kept])];
    line.objects_deleted = (line.objects_deleted ?? 0) + s.objects_deleted;
    line.remaining = s.remaining;
    line.at = at;
  }
  return steps;
}

/**
 * Runs the request on from its phase until it completes or fails. Every phase's result is saved
 * before the next begins, so calling it again after an interruption resumes (a service's erasure
 * is idempotent: what was erased is not found again). Answers whether the request is finished.
 */
export async function advance(env: Env, id: string, maxPhases = PHASES_PER_RUN): Promise<boolean> {
  let row = await load(env.DB, id);
  if (!row || row.status === "completed" || row.status === "failed") return true;
  if (row.type === "access") return advanceAccess(env, row, maxPhases);
  const dry = row.dry_run === 1;
  if (row.status === "pending") await save(env.DB, id, { status: "running" });
  try {
    for (let phases = 0; ; phases++) {
      // Bounded work per run: the caller (the Durable Object's alarm) runs the rest next time.
      if (phases >= maxPhases) return false;
      row = (await load(env.DB, id))!;
      const steps = JSON.parse(row.steps) as StepRecord[];
      const failures = row.error ? (JSON.parse(row.error) as { remaining: Failure[] }).remaining : [];
      const resolved = row.resolved ? (JSON.parse(row.resolved) as Resolved) : null;
      if (row.phase === "resolve" || !resolved) {
        const r = await resolve(env, row);
        const first = r.services[0];
        await save(env.DB, id, { resolved: JSON.stringify(r), phase: first ? `service:${first}` : "identity" });
        continue;
      }
      if (row.phase.startsWith("service:")) {
        const name = row.phase.slice("service:".length);
        const entries = serviceRegistry(env);
        const entry = entries.find((e) => e.name === name);
        const next = resolved.services[resolved.services.indexOf(name) + 1];
        if (entry) {
          const held = await heldFor(env.DB, row.organization_id, name);
          const c = detachedCaller(env, `privacy-${row.id}`);
          let calls = 0;
          for (;;) {
            const result: RpcResult<ErasureStep[]> = await meshCall(c, entry, "eraseBySubject", RPC_TIMEOUT_MS, (stub) =>
              stub.eraseBySubject(forService(resolved, name), { dry_run: dry, held }, identity(row!)),
            );
            if (!result.ok) {
              await recordFailure(env.DB, id, failures, {
                service: name,
                phase: row.phase,
                problem: { status: result.error.status, title: result.error.title, detail: result.error.detail ?? null },
              });
              break;
            }
            merge(steps, name, result.data);
            await save(env.DB, id, { steps: JSON.stringify(steps) });
            const progress = result.data.some((s) => s.ids.length > 0);
            if (dry || !result.data.some((s) => s.remaining) || !progress) break;
            if (++calls >= MAX_CALLS_PER_SERVICE) {
              await recordFailure(env.DB, id, failures, {
                service: name,
                phase: row.phase,
                problem: { status: 500, title: "Internal Server Error", detail: "More records than one run erases." },
              });
              break;
            }
          }
        }
        await save(env.DB, id, { phase: next ? `service:${next}` : "identity" });
        continue;
      }
      if (row.phase === "identity") {
        // The user account, when the person is a user of this organization (identity-data.ts). The
        // rows are counted first; the deletes and the phase's record then commit together in one
        // batch, so an interrupted run either did all of it, recorded, or none of it.
        let accounts = await accountsOf(env.DB, row.organization_id, resolved.user_ids);
        // Refused when the request was made; checked again, as another admin may have gone since.
        if (!dry && accounts.length && (await erasesLastAdmin(env.DB, row.organization_id, { emails: [], user_ids: accounts.map((a) => a.id) }))) {
          await recordFailure(env.DB, id, failures, {
            service: "gateway",
            phase: "identity",
            problem: {
              status: 409,
              title: "Conflict",
              detail: "The account is the organization's last active admin: it was kept. Make another user admin, then erase again.",
            },
          });
          accounts = [];
        }
        const counts = accounts.length ? await env.DB.batch<{ n: number }>(identityErasure(env.DB, row.organization_id, accounts, true).map(([, s]) => s)) : [];
        const tables = accounts.length ? identityErasure(env.DB, row.organization_id, accounts, dry) : [];
        tables.forEach(([table], i) => {
          const count = counts[i]?.results[0]?.n ?? 0;
          if (count > 0)
            steps.push({
              service: "gateway",
              model: table,
              action: "delete",
              ...(table === "users" ? { ids: accounts.map((a) => a.id) } : {}),
              count,
              at: nowIso(),
            });
        });
        const record = env.DB.prepare("UPDATE privacy_requests SET steps = ?2, phase = 'joins', updated_at = ?3 WHERE id = ?1 AND phase = 'identity'").bind(
          id,
          JSON.stringify(steps),
          nowIso(),
        );
        await env.DB.batch([...(dry ? [] : tables.map(([, s]) => s)), record]);
        continue;
      }
      if (row.phase === "joins") {
        const ids = [...resolved.contact_ids, ...Object.values(resolved.linked).flat()];
        let count = 0;
        if (!dry) {
          const res = await env.DB.prepare(
            "DELETE FROM mesh_joins WHERE organization_id = ?1 AND (origin_id IN (SELECT value FROM json_each(?2)) OR related_id IN (SELECT value FROM json_each(?2)))",
          )
            .bind(row.organization_id, JSON.stringify(ids))
            .run();
          count = res.meta.changes ?? 0;
          await dropArchives(env, row.organization_id, id, resolved);
        } else {
          count = Object.values(resolved.linked).flat().length;
        }
        steps.push({ service: "gateway", model: "mesh_joins", action: "delete", count, at: nowIso() });
        // Consent records are kept as proof of consent; a withdrawal is appended for each purpose still given (consents.ts).
        const consents = await consentsOnErasure(env.DB, row.organization_id, resolved.contact_ids, dry);
        steps.push({
          service: "privacy",
          model: "consents",
          action: "keep",
          ids: [],
          held: [],
          kept: consents.kept,
          legal_basis: CONSENT_LEGAL_BASIS,
          count: consents.withdrawn,
          at: nowIso(),
        });
        await save(env.DB, id, { steps: JSON.stringify(steps), phase: dry ? "done" : "audit:1" });
        continue;
      }
      if (row.phase.startsWith("audit:")) {
        const from = Number(row.phase.slice("audit:".length));
        const subjects = [...resolved.contact_ids, ...steps.flatMap((s) => (s.service !== "gateway" ? (s.ids ?? []) : []))];
        const page = await redactPage(
          env.DB,
          row.organization_id,
          { subjects: subjects.slice(0, 1000), needles: resolved.emails, actors: resolved.user_ids },
          from,
        );
        const line = steps.find((s) => s.service === "gateway" && s.model === "audit_entries");
        if (line) line.count = (line.count ?? 0) + page.redacted;
        else steps.push({ service: "gateway", model: "audit_entries", action: "anonymize", count: page.redacted, at: nowIso() });
        await save(env.DB, id, { steps: JSON.stringify(steps), phase: page.next === null ? "done" : `audit:${page.next}` });
        continue;
      }
      // done
      const counts = steps.map((s) => ({
        service: s.service,
        model: s.model ?? null,
        action: s.action ?? null,
        records: s.count ?? s.ids?.length ?? 0,
        held: s.held?.length ?? 0,
      }));
      if (!dry) {
        await recordEvents(env, [
          buildEvent(
            { source: GATEWAY_SOURCE, actortype: "system", actorid: null, requestid: `privacy-${row.id}` },
            {
              type: failures.length ? "privacy.erasure.failed" : "privacy.erasure.completed",
              subject: row.id,
              organizationid: row.organization_id,
              data: { request_id: row.id, steps: counts, remaining: failures.map((f) => f.service) },
            },
          ),
        ]);
      }
      // The request keeps what was done, not whom it was about (unless something remains to erase).
      const failed = failures.length > 0;
      const done = dry || failed ? {} : { subject: JSON.stringify({ erased: true }), resolved: null };
      await save(env.DB, id, { ...done, status: failed ? "failed" : "completed", completed_at: nowIso() });
      if (!dry && !failed) {
        // Earlier requests about the person (a preview) named them too.
        await env.DB.prepare(
          `UPDATE privacy_requests SET subject = '{"erased":true}', resolved = NULL, archive = NULL WHERE organization_id = ?1 AND status IN ('completed', 'failed')
             AND EXISTS (SELECT 1 FROM json_each(?2) AS e WHERE instr(lower(subject), e.value) > 0 OR instr(lower(coalesce(resolved, '')), e.value) > 0)`,
        )
          .bind(row.organization_id, JSON.stringify(needlesOf(resolved)))
          .run();
      }
      return true;
    }
  } catch (err) {
    // Only the person's resolution fails the request at once (nothing can be erased without it).
    return failResolve(env, id, err);
  }
}

/** What identifies the person in a request's subject or resolution: emails, contact and user ids. */
function needlesOf(r: Resolved): string[] {
  return [...r.emails, ...r.contact_ids, ...r.user_ids].map((n) => n.toLowerCase()).filter((n) => n.length >= 3);
}

/** Deletes the stored access archives of this organization's requests about the person (not the running request's own row). */
async function dropArchives(env: Env, org: string, self: string, r: Resolved): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT id, archive FROM privacy_requests WHERE organization_id = ?1 AND id != ?3 AND archive IS NOT NULL
       AND EXISTS (SELECT 1 FROM json_each(?2) AS e WHERE instr(lower(subject), e.value) > 0 OR instr(lower(coalesce(resolved, '')), e.value) > 0)
     LIMIT 1000`,
  )
    .bind(org, JSON.stringify(needlesOf(r)), self)
    .all<{ id: string; archive: string }>();
  if (!results.length) return;
  await env.PRIVACY_ARCHIVES.delete(results.map((a) => (JSON.parse(a.archive) as { key: string }).key));
  await env.DB.prepare("UPDATE privacy_requests SET archive = NULL WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
    .bind(org, JSON.stringify(results.map((a) => a.id)))
    .run();
}

/**
 * An access request (GDPR articles 15 and 20): resolve the person, build the archive in R2
 * (archive.ts), record one audit entry with the counts. A service that cannot be read leaves the
 * request failed, with the archive of everything else (its manifest says what is missing).
 */
async function advanceAccess(env: Env, first: RequestRow, maxPhases: number): Promise<boolean> {
  const id = first.id;
  if (first.status === "pending") await save(env.DB, id, { status: "running" });
  try {
    for (let phases = 0; ; phases++) {
      if (phases >= maxPhases) return false;
      const row = (await load(env.DB, id))!;
      const resolved = row.resolved ? (JSON.parse(row.resolved) as Resolved) : null;
      if (row.phase === "resolve" || !resolved) {
        await save(env.DB, id, { resolved: JSON.stringify(await resolve(env, row)), phase: "archive" });
        continue;
      }
      if (row.phase === "archive") {
        const { summary, failures, manifest } = await buildArchive(env, {
          requestId: id,
          org: row.organization_id,
          subject: JSON.parse(row.subject),
          services: resolved.services,
          emails: resolved.emails,
          contactIds: resolved.contact_ids,
          userIds: resolved.user_ids,
          linked: resolved.linked,
        });
        // One line per service and model (a model's file bodies counted on its line as objects).
        const steps: StepRecord[] = [];
        for (const e of manifest) {
          const service = e.service ?? "gateway";
          const model = e.model ?? e.path;
          let line = steps.find((x) => x.service === service && x.model === model);
          if (!line) steps.push((line = { service, model, count: 0, at: summary.created_at }));
          if (e.kind === "file") line.objects = (line.objects ?? 0) + 1;
          else line.count = e.count ?? 0;
        }
        const remaining: Failure[] = failures.map((f) => ({ service: f.service, phase: "archive", problem: f.problem }));
        await save(env.DB, id, {
          archive: JSON.stringify(summary),
          steps: JSON.stringify(steps),
          error: remaining.length ? JSON.stringify({ remaining }) : null,
          phase: "done",
        });
        continue;
      }
      const steps = JSON.parse(row.steps) as StepRecord[];
      const failed = row.error !== null;
      await recordEvents(env, [
        buildEvent(
          { source: GATEWAY_SOURCE, actortype: "system", actorid: null, requestid: `privacy-${row.id}` },
          {
            type: failed ? "privacy.access.failed" : "privacy.access.completed",
            subject: row.id,
            organizationid: row.organization_id,
            data: { request_id: row.id, entries: steps.length, records: steps.reduce((n, s) => n + (s.count ?? 0), 0) },
          },
        ),
      ]);
      await save(env.DB, id, { status: failed ? "failed" : "completed", resolved: null, completed_at: nowIso() });
      return true;
    }
  } catch (err) {
    return failResolve(env, id, err);
  }
}

/** A service could not be asked while resolving the person: the request ends failed, naming it. Anything else is rethrown. */
async function failResolve(env: Env, id: string, err: unknown): Promise<true> {
  const e = err as { problem?: Problem; service?: string };
  if (!e.service) throw err;
  const problem = e.problem ?? toApiError(err).toProblem(`privacy-${id}`);
  const remaining: Failure[] = [
    { service: e.service, phase: "resolve", problem: { status: problem.status, title: problem.title, detail: problem.detail ?? null } },
  ];
  await save(env.DB, id, { status: "failed", error: JSON.stringify({ remaining }), completed_at: nowIso() });
  return true;
}
