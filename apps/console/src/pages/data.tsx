import type { Schema } from "@buildly/sdk";
import { useEffect, useState } from "preact/hooks";
import { BASE } from "../auth.ts";
import { follow } from "../router.ts";
import { can, useLoad, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Section, useAction, when } from "../ui.tsx";
import { parseRef, RecordView, Relationships, Search } from "./explore.tsx";
import { Files } from "./files.tsx";
import { Calendars, Companies, Deals, recordHref } from "./records.tsx";

type Contact = Schema<"Crm_Contact">;
type Appointment = Schema<"Appointments_Appointment">;
const PAGE = 10;

const VIEWS = [
  { view: "", title: "Contacts" },
  { view: "companies", title: "Companies" },
  { view: "deals", title: "Deals" },
  { view: "calendars", title: "Calendars" },
  { view: "files", title: "Files" },
  { view: "search", title: "Search" },
  { view: "relationships", title: "Relationships" },
  { view: "models", title: "Model catalog" },
];

/** The data of every service; ?view= picks a model (or search, the relationships, the catalog), ?record=service/model/id one record. */
export function DataPage() {
  const [search, setSearch] = useState(location.search);
  useEffect(() => {
    const on = () => setSearch(location.search);
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  const q = new URLSearchParams(search);
  const record = parseRef(q.get("record"));
  const view = record ? "record" : (q.get("view") ?? "");
  return (
    <>
      <nav aria-label="Data" class="subnav">
        <ul>
          {VIEWS.map((v) => {
            const href = v.view ? `${BASE}data?view=${v.view}` : `${BASE}data`;
            return (
              <li key={v.view}>
                <a href={href} aria-current={v.view === view ? "page" : undefined} onClick={(e) => follow(e, href)}>
                  {v.title}
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
      <div class="grid" key={search}>
        {record ? <RecordView r={record} /> : <View view={view} />}
      </div>
    </>
  );
}

function View({ view }: { view: string }) {
  const [selected, setSelected] = useState<string | undefined>();
  switch (view) {
    case "companies":
      return <Companies />;
    case "deals":
      return <Deals />;
    case "calendars":
      return <Calendars />;
    case "files":
      return <Files />;
    case "search":
      return <Search />;
    case "relationships":
      return <Relationships />;
    case "models":
      return <Catalog />;
    default:
      return (
        <>
          <Contacts selected={selected} onSelect={setSelected} />
          {selected && <ContactDetail id={selected} />}
        </>
      );
  }
}

/** The model catalog: every service's models, their fields and what they reference. */
function Catalog() {
  const { api } = useSession();
  const models = useLoad(() => api.GET("/v1/mesh/models"), []);
  return (
    <Section title="Model catalog" id="catalog">
      <ErrorBox error={models.error} />
      {models.loading && <Loading what="models" />}
      {models.data && (
        <ul class="list">
          {models.data.data.map((m) => (
            <li key={`${m.service}.${m.name}`}>
              <details>
                <summary>
                  <strong>{m.title}</strong> <code>{m.path}</code> <span class="muted">({m.service})</span>
                </summary>
                <ul>
                  {m.fields.map((f) => (
                    <li key={f.name}>
                      <code>{f.name}</code> {f.type}
                      {f.references && (
                        <span class="muted">
                          {" "}
                          → {f.references.service}.{f.references.model}
                        </span>
                      )}
                    </li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

/** Contacts, a page at a time (the API's cursors; earlier pages are remembered to go back). */
function Contacts({ selected, onSelect }: { selected?: string; onSelect: (id: string) => void }) {
  const { api, me } = useSession();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => api.GET("/v1/crm/contacts", { params: { query: { limit: PAGE, cursor, sort: "-created_at" } } }), [cursor]);
  const mayCreate = can(me, "crm", "create");
  return (
    <Section title="Contacts" id="contacts">
      <ErrorBox error={page.error} />
      {page.loading && <Loading what="contacts" />}
      {page.data && (
        <>
          <ul class="list">
            {page.data.data.map((c) => (
              <li key={c.id}>
                <button type="button" class="link" aria-pressed={selected === c.id} onClick={() => onSelect(c.id)}>
                  {c.first_name} {c.last_name}
                </button>{" "}
                <span class="muted">{c.email}</span>
              </li>
            ))}
          </ul>
          <nav aria-label="Contact pages" class="pager">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <span class="muted">Page {cursors.length}</span>
            <button type="button" disabled={!page.data.next_cursor} onClick={() => setCursors([...cursors, page.data!.next_cursor ?? undefined])}>
              Next page
            </button>
          </nav>
        </>
      )}
      {mayCreate && (
        <NewContact
          onCreated={(c) => {
            setCursors([undefined]);
            page.reload();
            onSelect(c.id);
          }}
        />
      )}
    </Section>
  );
}

function NewContact({ onCreated }: { onCreated: (c: Contact) => void }) {
  const { api } = useSession();
  const action = useAction();
  return (
    <form
      class="form"
      aria-label="New contact"
      onSubmit={action.submit(async (f, form) => {
        const c = await api.POST("/v1/crm/contacts", {
          body: { first_name: String(f.get("first_name")), last_name: String(f.get("last_name")), email: String(f.get("email")) },
        });
        form.reset();
        onCreated(c);
        return `Created ${c.first_name} ${c.last_name}.`;
      })}
    >
      <h3>New contact</h3>
      <label>
        First name <input name="first_name" required autocomplete="off" />
      </label>
      <label>
        Last name <input name="last_name" required autocomplete="off" />
      </label>
      <label>
        Email <input name="email" type="email" required autocomplete="off" />
      </label>
      <button type="submit" class="primary" disabled={action.busy}>
        Create contact
      </button>
      <ActionResult {...action} />
    </form>
  );
}

/** One contact with its appointments from the appointments service: one joined read. */
function ContactDetail({ id }: { id: string }) {
  const { api, me } = useSession();
  const contact = useLoad(() => api.GET("/v1/crm/contacts/{id}", { params: { path: { id }, query: { join: "appointments" } } }), [id]);
  const c = contact.data;
  const appointments = (c?._embedded?.appointments ?? []) as unknown as Appointment[];
  return (
    <Section title={c ? `${c.first_name} ${c.last_name}` : "Contact"} id="contact">
      <ErrorBox error={contact.error} />
      {contact.loading && <Loading what="the contact" />}
      {c && (
        <>
          <dl>
            <dt>Email</dt>
            <dd>{c.email}</dd>
            <dt>Created</dt>
            <dd>{when(c.created_at)}</dd>
          </dl>
          <p>
            <a href={recordHref("crm", "contacts", c.id)} onClick={(e) => follow(e, recordHref("crm", "contacts", c.id))}>
              Every related record and join record of this contact
            </a>
          </p>
          <h3>Appointments</h3>
          {c._embedded_errors?.appointments && (
            <ErrorBox error={{ title: c._embedded_errors.appointments.title, detail: c._embedded_errors.appointments.detail }} />
          )}
          {appointments.length ? (
            <ul class="list" aria-label="Appointments of this contact">
              {appointments.map((a) => (
                <li key={a.id}>
                  <strong>{a.title}</strong> <span class="muted">{when(a.start)}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No appointments.</p>
          )}
          {can(me, "appointments", "create") && <NewAppointment contact={c} onCreated={contact.reload} />}
        </>
      )}
    </Section>
  );
}

function NewAppointment({ contact, onCreated }: { contact: Contact; onCreated: () => void }) {
  const { api } = useSession();
  const calendars = useLoad(() => api.GET("/v1/appointments/calendars", { params: { query: { limit: 100 } } }), []);
  const action = useAction();
  return (
    <form
      class="form"
      aria-label="New appointment"
      onSubmit={action.submit(async (f) => {
        const start = new Date(String(f.get("start")));
        const end = new Date(start.getTime() + Number(f.get("minutes")) * 60_000);
        await api.POST("/v1/appointments/appointments", {
          body: {
            calendar_id: String(f.get("calendar_id")),
            title: String(f.get("title")),
            start: start.toISOString(),
            end: end.toISOString(),
            attendees: [{ contact_id: contact.id, email: contact.email, name: `${contact.first_name} ${contact.last_name}` }],
            allow_overlap: f.get("allow_overlap") === "on",
          },
        });
        onCreated();
        return "Appointment booked.";
      })}
    >
      <h3>New appointment</h3>
      <ErrorBox error={calendars.error} />
      <label>
        Title <input name="title" required autocomplete="off" />
      </label>
      <label>
        Calendar
        <select name="calendar_id" required>
          {calendars.data?.data.map((cal) => (
            <option key={cal.id} value={cal.id}>
              {cal.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Starts <input name="start" type="datetime-local" required />
      </label>
      <label>
        Minutes <input name="minutes" type="number" min={5} max={600} defaultValue={30} required />
      </label>
      <label class="check">
        <input name="allow_overlap" type="checkbox" /> Allow overlap with other appointments
      </label>
      <button type="submit" class="primary" disabled={action.busy || !calendars.data}>
        Book appointment
      </button>
      <ActionResult {...action} />
    </form>
  );
}
