import type { Schema } from "@buildly/sdk";
import { useState } from "preact/hooks";
import { isAdmin, usePages, useSession } from "../session.ts";
import { ActionResult, Confirm, ErrorBox, Loading, Pager, Secret, Section, useAction, when } from "../ui.tsx";

export function WebhooksPage() {
  const { api, me } = useSession();
  const hooks = usePages((cursor) => api.GET("/v1/webhooks", { params: { query: { limit: 20, cursor } } }), []);
  const [selected, setSelected] = useState<string | undefined>();
  const action = useAction();
  const [secret, setSecret] = useState<Schema<"WebhookWithSecret"> | undefined>();
  const admin = isAdmin(me);
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
              {h.disabled_reason && <p class="error">{h.disabled_reason}</p>}
              {admin && (
                <div class="actions">
                  {h.status !== "active" && (
                    <button
                      type="button"
                      disabled={action.busy}
                      onClick={() =>
                        action.run(async () => {
                          await api.PATCH("/v1/webhooks/{id}", { params: { path: { id: h.id } }, body: { status: "active" } });
                          hooks.reload();
                          return `${h.url} is active again.`;
                        })
                      }
                    >
                      Re-enable {h.url}
                    </button>
                  )}
                  <Confirm
                    label={`Rotate the secret of ${h.url}`}
                    confirm="Yes, rotate (the old secret still signs for 24 hours)"
                    disabled={action.busy}
                    onConfirm={() =>
                      action.run(async () => {
                        setSecret(undefined);
                        setSecret(await api.POST("/v1/webhooks/{id}/rotate-secret", { params: { path: { id: h.id } } }));
                        return undefined;
                      })
                    }
                  />
                </div>
              )}
            </li>
          ))}
        </ul>
        {hooks.data && !hooks.data.data.length && <p class="muted">No subscriptions.</p>}
        <Pager label="Subscription pages" pages={hooks} />
        <ActionResult {...action} />
        {secret && <Secret label={`New signing secret of ${secret.url}`} value={secret.secret} testId="webhook-secret" />}
      </Section>
      {selected && <Deliveries key={selected} id={selected} />}
    </div>
  );
}

function Deliveries({ id }: { id: string }) {
  const { api, me } = useSession();
  const deliveries = usePages((cursor) => api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id }, query: { limit: 20, cursor } } }), [id]);
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
              {d.attempts.map((a) => (
                <li key={a.attempt} class="muted">
                  #{a.attempt} {when(a.started_at)}: {a.succeeded ? "answered" : "failed"} {a.response_status ?? ""} in {a.duration_ms} ms
                  {a.error ? ` (${a.error})` : ""}
                  {a.next_retry_at ? `; next try ${when(a.next_retry_at)}` : ""}
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
      <Pager label="Delivery pages" pages={deliveries} />
    </Section>
  );
}
