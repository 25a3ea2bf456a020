import type { Schema } from "@buildly/sdk";
import { useState } from "preact/hooks";
import { useLoad, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Section, useAction, when } from "../ui.tsx";

export function AuditPage() {
  const { api } = useSession();
  const [cursor, setCursor] = useState<string | undefined>();
  const audit = useLoad(() => api.GET("/v1/audit", { params: { query: { limit: 20, cursor } } }), [cursor]);
  const events = useLoad(() => api.GET("/v1/events", { params: { query: { limit: 10 } } }), []);
  const [result, setResult] = useState<Schema<"AuditVerification"> | undefined>();
  const verify = useAction();
  return (
    <div class="grid">
      <Section title="Audit trail" id="audit">
        <div class="actions">
          <button
            type="button"
            class="primary"
            disabled={verify.busy}
            onClick={() =>
              verify.run(async () => {
                const r = await api.GET("/v1/audit/verify");
                setResult(r);
                return undefined;
              })
            }
          >
            Verify the chain
          </button>
        </div>
        <ActionResult {...verify} />
        {result && (
          <p class={result.intact ? "ok" : "error"} role="status" data-testid="verify-result">
            {result.intact ? "The chain is intact" : `The chain is broken at entry ${result.broken?.seq} (${result.broken?.reason})`}: {result.checked} entries
            checked
            {result.complete ? "" : ", more to check"}.
          </p>
        )}
        <ErrorBox error={audit.error} />
        {audit.loading && <Loading what="the audit trail" />}
        <ol class="list">
          {audit.data?.data.map((e) => (
            <li key={e.seq}>
              #{e.seq} <strong>{e.type}</strong> <span class="muted">{when(e.time)}</span> · {e.actor.type} <code class="hash">{e.hash.slice(0, 12)}</code>
            </li>
          ))}
        </ol>
        <nav aria-label="Audit pages" class="pager">
          <button type="button" disabled={!cursor} onClick={() => setCursor(undefined)}>
            First page
          </button>
          <button type="button" disabled={!audit.data?.next_cursor} onClick={() => setCursor(audit.data?.next_cursor ?? undefined)}>
            Next page
          </button>
        </nav>
      </Section>
      <Section title="Event stream" id="events">
        <ErrorBox error={events.error} />
        {events.loading && <Loading what="events" />}
        <ul class="list">
          {events.data?.data.map((e) => (
            <li key={e.id}>
              <strong>{e.type}</strong> <span class="muted">{when(e.time)}</span>
              <br />
              <code class="wrap">{e.subject}</code>
            </li>
          ))}
        </ul>
        <button type="button" onClick={events.reload}>
          Refresh
        </button>
      </Section>
    </div>
  );
}
