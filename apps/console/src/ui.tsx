import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { type Shown, shown } from "./session.ts";

export function ErrorBox({ error }: { error?: Shown }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>{error.title}</strong>
      {error.status ? ` (${error.status})` : ""}
      {error.detail && <p>{error.detail}</p>}
      {error.errors?.length ? (
        <ul>
          {error.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {error.requestId && (
        <p class="muted">
          Request id: <code>{error.requestId}</code>
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Section({ title, id, children, actions }: { title: string; id: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A write: shows its progress, then its error (the problem's title, detail and request id) or `done`. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Shown | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const run = async (what: () => Promise<string | undefined>) => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await what());
    } catch (err) {
      setError(shown(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run, setError };
}

export function ActionResult({ busy, error, done }: { busy: boolean; error?: Shown; done?: string }) {
  return (
    <div aria-live="polite">
      {busy && <p class="muted">Working…</p>}
      {done && <p class="ok">{done}</p>}
      <ErrorBox error={error} />
    </div>
  );
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");
