import type { ComponentChildren, TargetedEvent } from "preact";
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
  /** A form's onSubmit that runs `what` with the form's fields (and the form, to reset it) instead of a page load. */
  const submit = (what: (fields: FormData, form: HTMLFormElement) => Promise<string | undefined>) => (e: TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const fields = new FormData(form);
    void run(() => what(fields, form));
  };
  return { busy, error, done, run, submit, setError };
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

/** Previous / next page of a list read with the API's cursors. */
export function Pager({ label, pages }: { label: string; pages: { page: number; previous?: () => void; next?: () => void } }) {
  return (
    <nav aria-label={label} class="pager">
      <button type="button" disabled={!pages.previous} onClick={pages.previous}>
        Previous page
      </button>
      <span class="muted">Page {pages.page}</span>
      <button type="button" disabled={!pages.next} onClick={pages.next}>
        Next page
      </button>
    </nav>
  );
}

/** A value shown once (a new secret): selectable, with the warning that it will not come back. */
export function Secret({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>{label}</strong> (shown only now: copy it before you leave this page)
      </p>
      <code class="wrap" data-testid={testId}>
        {value}
      </code>
    </div>
  );
}

/** A destructive action in two clicks (no browser dialog): the button, then its confirmation. */
export function Confirm({
  label,
  text,
  confirm,
  disabled,
  onConfirm,
}: {
  label: string;
  text?: string;
  confirm: string;
  disabled?: boolean;
  onConfirm: () => void;
}) {
  const [asked, setAsked] = useState(false);
  if (!asked)
    return (
      <button type="button" disabled={disabled} onClick={() => setAsked(true)} aria-label={text ? label : undefined}>
        {text ?? label}
      </button>
    );
  return (
    <span class="actions inline">
      <button
        type="button"
        class="danger"
        disabled={disabled}
        onClick={() => {
          setAsked(false);
          onConfirm();
        }}
      >
        {confirm}
      </button>
      <button type="button" onClick={() => setAsked(false)}>
        Cancel
      </button>
    </span>
  );
}
