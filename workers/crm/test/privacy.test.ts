import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { contactInput, create, freshOrg, identity, rpc } from "./helpers";

const DB = (env as unknown as { DB: D1Database }).DB;
const subject = (over: Partial<{ emails: string[]; contact_ids: string[] }> = {}) => ({ emails: [], contact_ids: [], user_ids: [], linked: {}, ...over });

/** One person in two organizations: a contact with a deal and two activities in each. */
async function person() {
  const email = `grace.${crypto.randomUUID().slice(0, 8)}@navy.example`;
  const [one, two] = [freshOrg(), freshOrg()];
  const make = async (c: typeof one.client) => {
    const contact = await create(c, "/contacts", contactInput({ first_name: "Grace", last_name: "Hopper", email }));
    const deal = await create(c, "/deals", { title: "Compiler", amount: 1, currency: "EUR", contact_id: contact.id });
    const notes = [
      await create(c, "/activities", { type: "note", contact_id: contact.id, body: "Met Grace" }),
      await create(c, "/activities", { type: "call", contact_id: contact.id, body: "Called" }),
    ];
    return { contact, deal, notes };
  };
  return { email, one, two, mine: await make(one.client), theirs: await make(two.client) };
}

describe("the CRM's privacy declarations and subject RPCs", () => {
  it("states per model its personal fields, how a person is found and what erasure does", async () => {
    const catalog = await rpc.describe();
    const pd = Object.fromEntries(catalog.models.map((m) => [m.name, m.personal_data]));
    expect(pd.contacts).toEqual({
      fields: ["first_name", "last_name", "email", "phone", "custom_fields"],
      found_by: { email: "email", contact_id: "id" },
      erasure: { action: "delete" },
    });
    expect(pd.deals).toMatchObject({ found_by: { contact_id: "contact_id" }, erasure: { action: "anonymize", replace: { contact_id: null } } });
    expect(pd.activities).toMatchObject({ found_by: { contact_id: "contact_id" }, erasure: { action: "delete" } });
    expect(pd.companies).toEqual({ fields: [], found_by: {}, erasure: { action: "keep", legal_basis: "holds no personal data" } });
  });

  it("finds by email (any case), then by contact id, within the organization only", async () => {
    const p = await person();
    const byEmail = await rpc.findBySubject(subject({ emails: [p.email.toUpperCase().toLowerCase()] }), identity(p.one.org));
    expect(byEmail.ok).toBe(true);
    if (!byEmail.ok) return;
    const contacts = byEmail.data.find((m) => m.model === "contacts")!;
    expect(contacts.records.map((r) => r.id)).toEqual([p.mine.contact.id]);
    expect(contacts.records[0]).toMatchObject({ email: p.email, first_name: "Grace" });
    const full = await rpc.findBySubject(subject({ emails: [p.email], contact_ids: [p.mine.contact.id] }), identity(p.one.org));
    if (!full.ok) throw new Error("findBySubject failed");
    const ids = Object.fromEntries(full.data.map((m) => [m.model, m.records.map((r) => r.id).sort()]));
    expect(ids).toEqual({ contacts: [p.mine.contact.id], deals: [p.mine.deal.id], activities: p.mine.notes.map((n) => n.id).sort() });
    // The other organization's contact id finds nothing here.
    const foreign = await rpc.findBySubject(subject({ contact_ids: [p.theirs.contact.id] }), identity(p.one.org));
    expect(foreign.ok && foreign.data.every((m) => m.records.length === 0)).toBe(true);
    expect(await rpc.findBySubject({ emails: "x" } as never, identity(p.one.org))).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.findBySubject(subject(), { organization_id: "nope" })).toMatchObject({ ok: false, error: { status: 401 } });
  });

  it("previews, then erases: contact and activities deleted, deal kept without it, held records untouched, the other organization intact", async () => {
    const p = await person();
    const who = subject({ emails: [p.email], contact_ids: [p.mine.contact.id] });
    const held = { activities: [p.mine.notes[1].id] };
    const preview = await rpc.eraseBySubject(who, { dry_run: true, held }, identity(p.one.org));
    if (!preview.ok) throw new Error(JSON.stringify(preview.error));
    expect(preview.data.map((s) => [s.model, s.action, s.ids, s.held])).toEqual([
      ["contacts", "delete", [p.mine.contact.id], []],
      ["deals", "anonymize", [p.mine.deal.id], []],
      ["activities", "delete", [p.mine.notes[0].id], [p.mine.notes[1].id]],
    ]);
    expect(await DB.prepare("SELECT count(*) AS n FROM contacts WHERE id = ?").bind(p.mine.contact.id).first("n")).toBe(1);

    const run = await rpc.eraseBySubject(who, { dry_run: false, held }, identity(p.one.org));
    if (!run.ok) throw new Error(JSON.stringify(run.error));
    const row = (sql: string, ...args: unknown[]) =>
      DB.prepare(sql)
        .bind(...args)
        .first<any>();
    // The held activity still names the contact: it stays too, reported as held.
    expect(run.data.map((s) => [s.model, s.ids, s.held])).toEqual([
      ["contacts", [], [p.mine.contact.id]],
      ["deals", [p.mine.deal.id], []],
      ["activities", [p.mine.notes[0].id], [p.mine.notes[1].id]],
    ]);
    expect(await row("SELECT id FROM contacts WHERE id = ?", p.mine.contact.id)).toEqual({ id: p.mine.contact.id });
    expect(await row("SELECT contact_id, title FROM deals WHERE id = ?", p.mine.deal.id)).toEqual({ contact_id: null, title: "Compiler" });
    expect(await row("SELECT id FROM activities WHERE id = ?", p.mine.notes[0].id)).toBeNull();
    expect(await row("SELECT id FROM activities WHERE id = ?", p.mine.notes[1].id)).toEqual({ id: p.mine.notes[1].id });
    // The second organization's records with the same email are untouched.
    expect(await row("SELECT email FROM contacts WHERE id = ?", p.theirs.contact.id)).toEqual({ email: p.email });
    expect(await row("SELECT contact_id FROM deals WHERE id = ?", p.theirs.deal.id)).toEqual({ contact_id: p.theirs.contact.id });
    expect(await row("SELECT count(*) AS n FROM activities WHERE contact_id = ?", p.theirs.contact.id)).toEqual({ n: 2 });
    expect(await row("SELECT count(*) AS n FROM outbox WHERE organization_id = ? AND data LIKE ?", p.two.org, `%${p.email}%`)).not.toEqual({ n: 0 });
    // The hold lifted, the next run deletes the activity, then the contact; no outbox payload and no
    // search index row of this organization holds the email any more.
    const again = await rpc.eraseBySubject(who, { dry_run: false, held: {} }, identity(p.one.org));
    if (!again.ok) throw new Error("second run failed");
    expect(again.data.map((s) => [s.model, s.ids, s.held])).toEqual([
      ["contacts", [p.mine.contact.id], []],
      ["deals", [], []],
      ["activities", [p.mine.notes[1].id], []],
    ]);
    expect(await row("SELECT id FROM contacts WHERE id = ?", p.mine.contact.id)).toBeNull();
    expect(await row("SELECT count(*) AS n FROM outbox WHERE organization_id = ? AND data LIKE ?", p.one.org, `%${p.email}%`)).toEqual({ n: 0 });
    const fts = await DB.prepare("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?").bind(`"${p.email}"`).all();
    expect(fts.results).toHaveLength(1); // the other organization's contact
    expect(await row("SELECT count(*) AS n FROM contacts WHERE email = ?", p.email)).toEqual({ n: 1 });
  });
});
