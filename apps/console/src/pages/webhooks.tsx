import { useState } from "preact/hooks";
import { isAdmin, useLoad, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Section, useAction, when } from "../ui.tsx";

export function WebhooksPage() {
  const { api } = useSession();
  const hooks = useLoad(() => api.GET("/v1/webhooks", { params: { query: { limit: 50 } } }), []);
  const [selected, setSelected] = useState<string | undefined>();
  return (
    <div class="grid">
      <Section title="Subscriptions" id="webhooks">
        <ErrorBox error={hooks.error} />
        {hooks.loading && <Loading what="webhooks" />}
        <ul class="list">
          {hooks.data?.data.map((h) => (
            <li key={h.id}>
              <button type="button" class="link" aria-pressed={selected === h.id} onClick={() => setSelected(h.id)}>
                {h.url}
              </button>{" "}
              <span class={`badge ${h.status === "active" ? "ok" : "error"}`}>{h.status}</span>
              <br />
              <span class="muted">{h.events.join(", ")}</span>
            </li>
          ))}
        </ul>
        {hooks.data && !hooks.data.data.length && <p class="muted">No subscriptions.</p>}
      </Section>
      {selected && <Deliveries key={selected} id={selected} />}
    </div>
  );
}

function Deliveries({ id }: { id: string }) {
  const { api, me } = useSession();
  const deliveries = useLoad(() => api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id }, query: { limit: 20 } } }), [id]);
  const action = useAction();
  return (
    <Section title="Deliveries" id="deliveries">
      <ErrorBox error={deliveries.error} />
      {deliveries.loading && <Loading what="deliveries" />}
      <ActionResult {...action} />
      <ul class="list">
        {deliveries.data?.data.map((d) => (
          <li key={d.id}>
            <strong>{d.event_type}</strong> <span class="badge">{d.status}</span> <span class="muted">{d.attempt_count} attempt(s)</span>
            <ul>
              {d.attempts.map((a, i) => (
                <li key={i} class="muted">
                  {JSON.stringify(a)}
                </li>
              ))}
            </ul>
            {isAdmin(me) && (
              <button
                type="button"
                disabled={action.busy}
                onClick={() =>
                  action.run(async () => {
                    await api.POST("/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", { params: { path: { id, delivery_id: d.id } } });
                    deliveries.reload();
                    return `Redelivery of ${d.event_type} queued.`;
                  })
                }
              >
                Redeliver
              </button>
            )}
            <span class="muted"> created {when(d.created_at)}</span>
          </li>
        ))}
      </ul>
      {deliveries.data && !deliveries.data.data.length && <p class="muted">No deliveries yet.</p>}
    </Section>
  );
}
