import { useState } from "preact/hooks";
import { BASE } from "../auth.ts";
import { follow } from "../router.ts";
import { can, recordName, useLoad, usePages, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Pager, Section, useAction } from "../ui.tsx";

export interface Field {
  name: string;
  label: string;
  type?: "text" | "number" | "date";
  required?: boolean;
  options?: { value: string; label: string }[];
  /** The value of a new record's form. */
  initial?: string;
}

type Row = { id: string } & Record<string, unknown>;
type Values = Record<string, string>;

export const recordHref = (service: string, model: string, id: string) => `${BASE}data?record=${encodeURIComponent(`${service}/${model}/${id}`)}`;

/**
 * A model's records, a page at a time, with a form to create one and to edit one (each form
 * shown to the roles that may: create, update on the service). The callbacks are the typed SDK calls.
 */
export function RecordList<T extends Row>(props: {
  title: string;
  singular: string;
  service: string;
  model: string;
  fields: Field[];
  list: (cursor: string | undefined) => Promise<{ data: T[]; next_cursor: string | null }>;
  create: (v: Values) => Promise<T>;
  update: (id: string, v: Values) => Promise<T>;
  summary: (r: T) => string;
}) {
  const { me } = useSession();
  const pages = usePages(props.list, []);
  const [editing, setEditing] = useState<T | undefined>();
  const mayCreate = can(me, props.service, "create");
  const mayUpdate = can(me, props.service, "update");
  const id = `${props.model}-list`;
  return (
    <>
      <Section title={props.title} id={id}>
        <ErrorBox error={pages.error} />
        {pages.loading && <Loading what={props.title.toLowerCase()} />}
        <ul class="list">
          {pages.data?.data.map((r) => (
            <li key={r.id}>
              <a href={recordHref(props.service, props.model, r.id)} onClick={(e) => follow(e, recordHref(props.service, props.model, r.id))}>
                {recordName(r)}
              </a>{" "}
              <span class="muted">{props.summary(r)}</span>{" "}
              {mayUpdate && (
                <button type="button" class="link" onClick={() => setEditing(r)} aria-label={`Edit ${recordName(r)}`}>
                  Edit
                </button>
              )}
            </li>
          ))}
        </ul>
        {pages.data && !pages.data.data.length && <p class="muted">None yet.</p>}
        <Pager label={`${props.title} pages`} pages={pages} />
        {mayCreate && (
          <RecordForm
            key="new"
            title={`New ${props.singular}`}
            fields={props.fields}
            submit={async (v) => {
              const r = await props.create(v);
              pages.first();
              return `Created ${recordName(r)}.`;
            }}
          />
        )}
      </Section>
      {editing && (
        <Section title={`Edit ${recordName(editing)}`} id={`${props.model}-edit`}>
          <RecordForm
            key={editing.id}
            title={`Edit ${props.singular}`}
            fields={props.fields}
            record={editing}
            submit={async (v) => {
              const r = await props.update(editing.id, v);
              setEditing(r);
              pages.reload();
              return `Saved ${recordName(r)}.`;
            }}
          />
        </Section>
      )}
    </>
  );
}

function RecordForm({ title, fields, record, submit }: { title: string; fields: Field[]; record?: Row; submit: (v: Values) => Promise<string> }) {
  const action = useAction();
  const prefix = `${record?.id ?? "new"}-`;
  // Uncontrolled fields (defaultValue, selected): a re-render, such as the list arriving while
  // someone types, must not put the typed values back to the record's.
  const value = (f: Field) => (record ? (record[f.name] == null ? "" : String(record[f.name])) : (f.initial ?? ""));
  return (
    <form
      class="form"
      aria-label={title}
      onSubmit={action.submit(async (f, form) => {
        const done = await submit(Object.fromEntries(fields.map((x) => [x.name, String(f.get(x.name) ?? "").trim()])));
        if (!record) form.reset();
        return done;
      })}
    >
      <h3>{title}</h3>
      {fields.map((f) => (
        <div key={f.name} class="field">
          <label for={prefix + f.name}>{f.label}</label>
          {f.options ? (
            <select id={prefix + f.name} name={f.name} required={f.required}>
              {!f.required && <option value="">—</option>}
              {f.options.map((o) => (
                <option key={o.value} value={o.value} selected={o.value === value(f)}>
                  {o.label}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={prefix + f.name}
              name={f.name}
              type={(f.type ?? "text") as "text"}
              step={f.type === "number" ? "any" : undefined}
              defaultValue={value(f)}
              required={f.required}
              autocomplete="off"
            />
          )}
        </div>
      ))}
      <button type="submit" class="primary" disabled={action.busy}>
        {record ? "Save" : "Create"}
      </button>
      <ActionResult {...action} />
    </form>
  );
}

const orNull = (s: string) => (s ? s : null);

/** An amount in minor units, shown in its currency (1250 EUR: €12.50). */
function money(amount: number, currency: string) {
  try {
    const f = new Intl.NumberFormat(undefined, { style: "currency", currency });
    return f.format(amount / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${amount} ${currency}`;
  }
}

export function Companies() {
  const { api } = useSession();
  return (
    <RecordList
      title="Companies"
      singular="company"
      service="crm"
      model="companies"
      fields={[
        { name: "name", label: "Name", required: true },
        { name: "domain", label: "Domain" },
      ]}
      list={(cursor) => api.GET("/v1/crm/companies", { params: { query: { limit: 10, cursor, sort: "-created_at" } } })}
      create={(v) => api.POST("/v1/crm/companies", { body: { name: v.name!, domain: orNull(v.domain!) } })}
      update={(id, v) => api.PATCH("/v1/crm/companies/{id}", { params: { path: { id } }, body: { name: v.name!, domain: orNull(v.domain!) } })}
      summary={(c) => c.domain ?? ""}
    />
  );
}

export function Deals() {
  const { api } = useSession();
  const pipelines = useLoad(() => api.GET("/v1/crm/pipelines", { params: { query: { limit: 100 } } }), []);
  const pipeline = pipelines.data?.data.find((p) => p.is_default) ?? pipelines.data?.data[0];
  if (!pipelines.data) return pipelines.error ? <ErrorBox error={pipelines.error} /> : <Loading what="pipelines" />;
  return (
    <RecordList
      title="Deals"
      singular="deal"
      service="crm"
      model="deals"
      fields={[
        { name: "title", label: "Title", required: true },
        { name: "amount", label: "Amount (in minor units: cents for EUR)", type: "number", required: true },
        { name: "currency", label: "Currency (ISO code)", required: true, initial: "EUR" },
        { name: "stage", label: `Stage (${pipeline?.name ?? "default pipeline"})`, options: pipeline?.stages.map((s) => ({ value: s.id, label: s.name })) },
        { name: "expected_close_date", label: "Expected close", type: "date" },
      ]}
      list={(cursor) => api.GET("/v1/crm/deals", { params: { query: { limit: 10, cursor, sort: "-created_at" } } })}
      create={(v) =>
        api.POST("/v1/crm/deals", {
          body: {
            title: v.title!,
            amount: Number(v.amount),
            currency: v.currency!.toUpperCase(),
            pipeline_id: pipeline?.id,
            stage: v.stage || undefined,
            expected_close_date: orNull(v.expected_close_date!),
          },
        })
      }
      update={(id, v) =>
        api.PATCH("/v1/crm/deals/{id}", {
          params: { path: { id } },
          body: {
            title: v.title!,
            amount: Number(v.amount),
            currency: v.currency!.toUpperCase(),
            stage: v.stage || undefined,
            expected_close_date: orNull(v.expected_close_date!),
          },
        })
      }
      summary={(d) => `${money(d.amount, d.currency)} · ${pipeline?.stages.find((s) => s.id === d.stage)?.name ?? d.stage}`}
    />
  );
}

export function Calendars() {
  const { api } = useSession();
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return (
    <RecordList
      title="Calendars"
      singular="calendar"
      service="appointments"
      model="calendars"
      fields={[
        { name: "name", label: "Name", required: true },
        { name: "time_zone", label: "Time zone (IANA, e.g. Europe/Berlin)", required: true, initial: zone },
      ]}
      list={(cursor) => api.GET("/v1/appointments/calendars", { params: { query: { limit: 10, cursor } } })}
      create={(v) => api.POST("/v1/appointments/calendars", { body: { name: v.name!, time_zone: v.time_zone! } })}
      update={(id, v) => api.PATCH("/v1/appointments/calendars/{id}", { params: { path: { id } }, body: { name: v.name!, time_zone: v.time_zone! } })}
      summary={(c) => c.time_zone}
    />
  );
}
