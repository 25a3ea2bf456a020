import { forgetOutbox, jsonList, type PersonalDataDefinition, type PrivacySubject } from "@buildly/shared";
import type { AppointmentRow, Attendee } from "./db/schema";
import { toAppointment } from "./scheduling/series";

/*
 * What the appointments service holds about a person and what erasure does (docs/privacy.md): an
 * appointment they attend (found by their email or their contact id) stays for the other
 * attendees; erasure removes the person's entries from its attendees (the appointment_contacts
 * rows follow by trigger) and the outbox rows whose payloads listed them.
 */

const isSubject = (s: PrivacySubject) => (a: Attendee) =>
  (a.contact_id !== null && s.contact_ids.includes(a.contact_id)) || s.emails.includes(a.email.trim().toLowerCase());

export const appointmentsPersonalData: PersonalDataDefinition<Env> = {
  fields: ["attendees[].contact_id", "attendees[].email", "attendees[].name"],
  found_by: { email: "attendees[].email", contact_id: "attendees[].contact_id" },
  erasure: { action: "anonymize", replace: { "attendees[]": null } },
  find: async (env, org, s, limit) => {
    const { results } = await env.DB.prepare(
      `SELECT * FROM appointments AS a WHERE a.organization_id = ?1 AND (
         a.id IN (SELECT appointment_id FROM appointment_contacts WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)))
         OR EXISTS (SELECT 1 FROM json_each(a.attendees) AS t WHERE lower(trim(json_extract(t.value, '$.email'))) IN (SELECT value FROM json_each(?3))))
       ORDER BY a.created_at, a.id LIMIT ?4`,
    )
      .bind(org, jsonList(s.contact_ids), jsonList(s.emails), limit)
      .all<Record<string, unknown>>();
    return results.map((r) => toAppointment({ ...(r as unknown as AppointmentRow), attendees: JSON.parse(String(r.attendees)) as Attendee[] }));
  },
  erase: async (env, org, ids, s) => {
    const { results } = await env.DB.prepare("SELECT id, attendees FROM appointments WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
      .bind(org, jsonList(ids))
      .all<{ id: string; attendees: string }>();
    const now = new Date().toISOString();
    const match = isSubject(s);
    const updates = results.map((r) =>
      env.DB.prepare("UPDATE appointments SET attendees = ?3, version = version + 1, updated_at = ?4 WHERE organization_id = ?1 AND id = ?2").bind(
        org,
        r.id,
        JSON.stringify((JSON.parse(r.attendees) as Attendee[]).filter((a) => !match(a))),
        now,
      ),
    );
    await env.DB.batch([...updates, forgetOutbox(env.DB, org, ids)]);
    return { objects_deleted: 0 };
  },
};
