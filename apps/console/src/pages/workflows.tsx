import { ApiError, type Schema } from "@buildly/sdk";
import { useEffect, useState } from "preact/hooks";
import { can, type Me, useLoad, usePages, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Pager, Section, useAction, when } from "../ui.tsx";
import { TemplateGraph } from "./graph.tsx";

type Template = Schema<"WorkflowTemplate">;
type Instance = Schema<"WorkflowInstance">;

export function WorkflowsPage() {
  const { api } = useSession();
  const templates = useLoad(() => api.GET("/v1/workflows/templates", { params: { query: { limit: 50 } } }), []);
  // Filtering by template needs every template's name: the first 50 are listed (the API's limit); more are named by id.
  const [templateId, setTemplateId] = useState("");
  const [state, setState] = useState("");
  const instances = usePages(
    (cursor) =>
      api.GET("/v1/workflows/instances", { params: { query: { limit: 20, cursor, template_id: templateId || undefined, state: state || undefined } } }),
    [templateId, state],
  );
  // ?instance=<id> opens one (a link to share, and what a reload comes back to).
  const [selected, select] = useState<string | undefined>(() => new URLSearchParams(location.search).get("instance") ?? undefined);
  const setSelected = (id: string) => {
    history.replaceState(null, "", `?instance=${encodeURIComponent(id)}`);
    select(id);
  };
  const byId = new Map((templates.data?.data ?? []).map((t) => [t.id, t]));
  return (
    <div class="grid">
      <Section title="Templates" id="templates">
        <ErrorBox error={templates.error} />
        {templates.loading && <Loading what="templates" />}
        <ul class="list">
          {templates.data?.data.map((t) => (
            <li key={t.id}>
              <strong>{t.name}</strong> <span class="muted">v{t.version}</span>
              {t.description && <p class="muted">{t.description}</p>}
              <TemplateGraph template={t} />
              <TemplateEdges template={t} />
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Instances" id="instances">
        <div class="filters">
          <label>
            Template
            <select
              value={templateId}
              onChange={(e) => {
                instances.reset();
                setTemplateId(e.currentTarget.value);
              }}
            >
              <option value="">Any</option>
              {templates.data?.data.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            State{" "}
            <input
              value={state}
              onChange={(e) => {
                instances.reset();
                setState(e.currentTarget.value.trim());
              }}
              autocomplete="off"
            />
          </label>
        </div>
        <ErrorBox error={instances.error} />
        {instances.loading && <Loading what="instances" />}
        <ul class="list">
          {instances.data?.data.map((i) => (
            <li key={i.id}>
              <button type="button" class="link" aria-pressed={selected === i.id} onClick={() => setSelected(i.id)}>
                {byId.get(i.template_id)?.name ?? "Instance"}
                {i.subject ? `: ${i.subject.service}/${i.subject.model}` : ""}
              </button>{" "}
              <span class="badge">{i.state}</span>
            </li>
          ))}
        </ul>
        {instances.data && !instances.data.data.length && <p class="muted">No instances.</p>}
        <Pager label="Instance pages" pages={instances} />
      </Section>
      {selected && <InstanceView key={selected} id={selected} templates={byId} onChanged={instances.reload} />}
    </div>
  );
}

/** The template's transitions, also as a list of edges (state → state by transition), for reading. */
function TemplateEdges({ template }: { template: Template }) {
  const name = new Map(template.states.map((s) => [s.key, s.name]));
  return (
    <ul class="edges" aria-label={`Transitions of ${template.name}`}>
      {template.transitions.map((t) => (
        <li key={t.key}>
          {t.from.map((f) => name.get(f) ?? f).join(", ")} → <strong>{name.get(t.to) ?? t.to}</strong> <span class="muted">by “{t.name}”</span>
          {t.roles?.length ? <span class="muted"> ({t.roles.join(", ")})</span> : null}
          {t.system_only ? <span class="muted"> (system)</span> : null}
        </li>
      ))}
    </ul>
  );
}

function allowed(me: Me, t: Template["transitions"][number], state: string) {
  if (t.system_only || !t.from.includes(state)) return false;
  if (!can(me, "workflows", "update")) return false;
  return !t.roles?.length || t.roles.some((r) => me.roles.includes(r));
}

/** One instance, live: the watch's events replace what is shown, and each brings the history again. */
function InstanceView({ id, templates, onChanged }: { id: string; templates: Map<string, Template>; onChanged: () => void }) {
  const { api, me } = useSession();
  const [instance, setInstance] = useState<Instance | undefined>();
  const [live, setLive] = useState<"connecting" | "live" | "ended">("connecting");
  const history = useLoad(() => api.GET("/v1/workflows/instances/{id}/history", { params: { path: { id }, query: { limit: 50 } } }), [id, instance?.version]);
  const first = useLoad(() => api.GET("/v1/workflows/instances/{id}", { params: { path: { id } } }), [id]);
  const action = useAction();
  const [notice, setNotice] = useState<string | undefined>();
  useEffect(() => {
    if (first.data) setInstance((cur) => (cur && cur.version >= first.data!.version ? cur : first.data));
  }, [first.data]);
  useEffect(() => {
    const stop = new AbortController();
    (async () => {
      for await (const ev of api.watchWorkflow(id, { signal: stop.signal })) {
        setLive("live");
        if (ev.type === "snapshot") setInstance(ev.instance);
        else setInstance((cur) => (cur && ev.version > cur.version ? { ...cur, state: ev.state, terminal: ev.terminal, version: ev.version } : cur));
      }
    })()
      .catch(() => undefined)
      .finally(() => setLive("ended"));
    return () => stop.abort();
  }, [id]);
  const template = instance && templates.get(instance.template_id);
  const take = (key: string, name: string) =>
    action.run(async () => {
      setNotice(undefined);
      try {
        const next = await api.POST("/v1/workflows/instances/{id}/transitions", {
          body: { transition: key, expected_version: instance!.version },
          params: { path: { id } },
        });
        setInstance(next);
        onChanged();
        return `${name}: now ${next.state}.`;
      } catch (err) {
        // Someone else moved it first: show where it is now, not an error page.
        if (err instanceof ApiError && err.status === 409) {
          const now = await api.GET("/v1/workflows/instances/{id}", { params: { path: { id } } });
          setInstance(now);
          setNotice(`It changed meanwhile; it is now in ${now.state} (version ${now.version}).`);
          return undefined;
        }
        throw err;
      }
    });
  return (
    <Section title="Instance" id="instance">
      <ErrorBox error={first.error} />
      {!instance && !first.error && <Loading what="the instance" />}
      {instance && (
        <>
          <p>
            State: <strong data-testid="instance-state">{instance.state}</strong> <span class="muted">version {instance.version}</span>{" "}
            <span class="muted" aria-live="polite">
              {live === "live" ? "(live)" : live === "connecting" ? "(connecting…)" : "(not live)"}
            </span>
          </p>
          {notice && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          {template && !instance.terminal && (
            <div class="actions">
              {template.transitions
                .filter((t) => allowed(me, t, instance.state))
                .map((t) => (
                  <button key={t.key} type="button" class="primary" disabled={action.busy} onClick={() => take(t.key, t.name)}>
                    {t.name}
                  </button>
                ))}
            </div>
          )}
          <ActionResult {...action} />
          <h3>History</h3>
          <ErrorBox error={history.error} />
          <ol class="list">
            {history.data?.data.map((h) => (
              <li key={h.version}>
                {h.transition ?? "started"}: {h.from ?? "—"} → <strong>{h.to}</strong>{" "}
                <span class="muted">
                  {when(h.time)} by {h.actor.type}
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </Section>
  );
}
