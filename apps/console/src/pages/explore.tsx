import type { Client, Schema } from "@buildly/sdk";
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { follow } from "../router.ts";
import { can, recordName, useLoad, usePages, useSession } from "../session.ts";
import { ActionResult, Confirm, ErrorBox, Loading, Pager, Section, useAction, when } from "../ui.tsx";
import { recordHref } from "./records.tsx";

type Relationship = Schema<"MeshRelationship">;
type Ref = { service: string; model: string; id: string };

const SEGMENT = /^[a-z0-9_-]{1,64}$/;
/** service/model/id from the URL (each part checked: it becomes a path of the API). */
export function parseRef(value: string | null): Ref | undefined {
  const [service, model, id, ...rest] = (value ?? "").split("/");
  if (rest.length || !service || !model || !id || !SEGMENT.test(service) || !SEGMENT.test(model) || !/^[\w-]{1,100}$/.test(id)) return undefined;
  return { service, model, id };
}

function RecordLink({ r, name }: { r: Ref; name?: string }) {
  const href = recordHref(r.service, r.model, r.id);
  return (
    <a href={href} onClick={(e) => follow(e, href)}>
      {name ?? `${r.service}/${r.model}/${r.id}`}
    </a>
  );
}

/** Search across every service at once (the mesh's search), each hit a link to its record. */
export function Search() {
  const { api } = useSession();
  const [q, setQ] = useState(() => new URLSearchParams(location.search).get("q") ?? "");
  const [asked, setAsked] = useState(q);
  const pages = usePages(
    (cursor) => (asked ? api.GET("/v1/mesh/search", { params: { query: { q: asked, limit: 10, cursor } } }) : Promise.resolve(undefined as never)),
    [asked],
  );
  return (
    <Section title="Search" id="search">
      <search>
        <form
          aria-label="Search every service"
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            pages.reset();
            setAsked(q.trim());
          }}
        >
          <label for="search-q" class="sr-only">
            Words to look for
          </label>
          <input id="search-q" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="Words to look for" required maxLength={200} />
          <button type="submit" class="primary">
            Search
          </button>
        </form>
      </search>
      {asked && (
        <>
          <ErrorBox error={pages.error} />
          {pages.loading && <Loading what="results" />}
          <ol class="list" aria-label="Search results">
            {pages.data?.data.map((h) => {
              const ref = parseRef(h.url.replace(/^\/v1\//, ""));
              return (
                <li key={`${h.service}.${h.model}.${h.id}`}>
                  {ref ? <RecordLink r={ref} name={h.name} /> : h.name} <span class="badge">{h.type}</span>{" "}
                  <span class="muted">
                    {h.service}.{h.model}
                    {h.description ? ` · ${h.description}` : ""}
                  </span>
                </li>
              );
            })}
          </ol>
          {pages.data && !pages.data.data.length && <p class="muted">Nothing found for “{asked}”.</p>}
          <Pager label="Result pages" pages={pages} />
        </>
      )}
    </Section>
  );
}

/** The organization's relationships between models (the platform's defaults first). */
export function Relationships() {
  const { api } = useSession();
  const pages = usePages((cursor) => api.GET("/v1/mesh/relationships", { params: { query: { limit: 20, cursor } } }), []);
  return (
    <Section title="Relationships" id="relationships">
      <ErrorBox error={pages.error} />
      {pages.loading && <Loading what="relationships" />}
      <ul class="list">
        {pages.data?.data.map((r) => (
          <li key={r.id}>
            <code>
              {r.origin.service}.{r.origin.model}
            </code>{" "}
            —<strong>{r.key}</strong> / {r.reverse_key}→{" "}
            <code>
              {r.related.service}.{r.related.model}
            </code>{" "}
            <span class="muted">
              {r.kind === "field" ? `by the field ${r.field} (on the ${r.field_on})` : "by join records"}; on delete {r.on_delete}
              {r.builtin ? "; platform default" : ""}
            </span>
          </li>
        ))}
      </ul>
      <Pager label="Relationship pages" pages={pages} />
    </Section>
  );
}

/** Every relationship (at most a few hundred): read once per session, for every record shown. */
let relationshipsOnce: Promise<Relationship[]> | undefined;
async function allRelationships(api: Client): Promise<Relationship[]> {
  relationshipsOnce ??= (async () => {
    const out: Relationship[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.GET("/v1/mesh/relationships", { params: { query: { limit: 100, cursor } } });
      out.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && out.length < 1000);
    return out;
  })();
  relationshipsOnce.catch(() => {
    relationshipsOnce = undefined;
  });
  return relationshipsOnce;
}

interface Side {
  key: string;
  rel: Relationship;
  other: { service: string; model: string };
}

type Loose = Record<string, unknown> & { id: string };
/** A record of any model: the path is built from checked parts, so its type is the API's generic record. */
const getRecord = (api: Client, r: Ref, join: string[]) =>
  (
    api.GET as unknown as (
      p: string,
      init: object,
    ) => Promise<Loose & { _embedded?: Record<string, Loose[]>; _embedded_errors?: Record<string, { title: string; detail?: string }> }>
  )(`/v1/${r.service}/${r.model}/${encodeURIComponent(r.id)}`, { params: { query: join.length ? { join: join.join(",") } : {} } });

/**
 * Any record with its related records from other services: one joined read (`?join=` with the
 * keys of every relationship naming its model, at most 5), each related record a link to its own
 * view; and its join records, which a role that may update the record can add and remove.
 */
export function RecordView({ r }: { r: Ref }) {
  const { api, me } = useSession();
  const loaded = useLoad(async () => {
    const rels = await allRelationships(api);
    const sides: Side[] = [];
    for (const rel of rels) {
      if (rel.origin.service === r.service && rel.origin.model === r.model) sides.push({ key: rel.key, rel, other: rel.related });
      else if (rel.related.service === r.service && rel.related.model === r.model) sides.push({ key: rel.reverse_key, rel, other: rel.origin });
    }
    const keys = [...new Set(sides.map((s) => s.key))].slice(0, 5);
    const [record, outgoing, incoming] = await Promise.all([
      getRecord(api, r, keys),
      api.GET("/v1/mesh/joins", { params: { query: { origin_id: r.id, limit: 50 } } }),
      api.GET("/v1/mesh/joins", { params: { query: { related_id: r.id, limit: 50 } } }),
    ]);
    return { record, sides: sides.filter((s) => keys.includes(s.key)), joins: [...outgoing.data, ...incoming.data] };
  }, [r.service, r.model, r.id]);
  const action = useAction();
  const mayLink = can(me, r.service, "update");
  const d = loaded.data;
  const fields = d ? Object.entries(d.record).filter(([k]) => !k.startsWith("_")) : [];
  const linkable = d?.sides.filter((s) => s.rel.kind === "join_records" && s.rel.origin.service === r.service && s.rel.origin.model === r.model) ?? [];
  return (
    <>
      <Section title={d ? recordName(d.record) : "Record"} id="record">
        <p class="muted">
          {r.service}.{r.model} <code class="wrap">{r.id}</code>
        </p>
        <ErrorBox error={loaded.error} />
        {loaded.loading && <Loading what="the record" />}
        {d && (
          <dl>
            {fields.map(([k, v]) => (
              <Fragment key={k}>
                <dt>{k}</dt>
                <dd>
                  <code class="wrap">{typeof v === "string" ? v : JSON.stringify(v)}</code>
                </dd>
              </Fragment>
            ))}
          </dl>
        )}
      </Section>
      {d && (
        <Section title="Related records" id="related">
          {!d.sides.length && <p class="muted">No relationship names this model.</p>}
          {d.sides.map((s) => {
            const list = d.record._embedded?.[s.key] ?? [];
            const failed = d.record._embedded_errors?.[s.key];
            return (
              <div key={s.key}>
                <h3>
                  {s.key}{" "}
                  <span class="muted">
                    ({s.other.service}.{s.other.model})
                  </span>
                </h3>
                {failed && <ErrorBox error={{ title: failed.title, detail: failed.detail }} />}
                {list.length ? (
                  <ul class="list" aria-label={`Related ${s.key}`}>
                    {list.map((x) => (
                      <li key={x.id}>
                        <RecordLink r={{ ...s.other, id: x.id }} name={recordName(x)} />
                      </li>
                    ))}
                  </ul>
                ) : (
                  !failed && <p class="muted">None.</p>
                )}
              </div>
            );
          })}
        </Section>
      )}
      {d && (
        <Section title="Join records" id="joins">
          <ul class="list">
            {d.joins.map((j) => {
              const mine = j.origin.id === r.id;
              const other = mine ? j.related : j.origin;
              return (
                <li key={j.id}>
                  {j.relationship_key}: <RecordLink r={other} /> <span class="muted">since {when(j.created_at)}</span>{" "}
                  {mine && mayLink && (
                    <Confirm
                      label={`Remove the link to ${other.id}`}
                      text="Remove"
                      confirm="Yes, remove this link"
                      disabled={action.busy}
                      onConfirm={() =>
                        action.run(async () => {
                          await api.DELETE("/v1/mesh/joins/{id}", { params: { path: { id: j.id } } });
                          loaded.reload();
                          return "Link removed.";
                        })
                      }
                    />
                  )}
                </li>
              );
            })}
          </ul>
          {!d.joins.length && <p class="muted">No join records.</p>}
          <ActionResult {...action} />
          {mayLink && linkable.length > 0 && (
            <form
              class="form"
              aria-label="Link a record"
              onSubmit={action.submit(async (f, form) => {
                await api.POST("/v1/mesh/joins", {
                  body: { relationship: String(f.get("relationship")), origin_id: r.id, related_id: String(f.get("related_id")).trim() },
                });
                form.reset();
                loaded.reload();
                return "Linked.";
              })}
            >
              <h3>Link a record</h3>
              <label>
                Relationship
                <select name="relationship">
                  {linkable.map((s) => (
                    <option key={s.rel.id} value={s.rel.id}>
                      {s.key} ({s.other.service}.{s.other.model})
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Id of the related record <input name="related_id" required autocomplete="off" pattern="[0-9a-fA-F-]{36}" />
              </label>
              <button type="submit" class="primary" disabled={action.busy}>
                Link
              </button>
            </form>
          )}
        </Section>
      )}
    </>
  );
}
