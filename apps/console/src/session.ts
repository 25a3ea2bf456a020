import { ApiError, type Client, NetworkError, type Schema } from "@buildly/sdk";
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";

export type Me = Schema<"Me">;
export type Action = "create" | "read" | "update" | "delete";

export interface Session {
  api: Client;
  /** The caller, its permissions completed with "workflows" (which /v1/auth/me does not list; see workflowPermissions). */
  me: Me;
  client: string;
  idToken?: string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s;
}

/**
 * /v1/auth/me lists the services' permissions only; the workflows' come from the role
 * definitions (GET /v1/roles) as the gateway computes them: a role's "workflows" or "*" entry.
 */
export function withWorkflowPermissions(me: Me, roles: Schema<"Role">[]): Me {
  const actions = new Set<Action>();
  for (const r of roles) {
    if (!me.roles.includes(r.name)) continue;
    for (const [key, list] of Object.entries(r.permissions)) if (key === "workflows" || key === "*") for (const a of list) actions.add(a);
  }
  return { ...me, permissions: { ...me.permissions, workflows: [...actions] } };
}

/** What the caller's roles allow on a service ("workflows" counts as one); "*" is every service. */
export function can(me: Me, service: string, action: Action): boolean {
  const p = me.permissions;
  return Boolean(p[service]?.includes(action) || p["*"]?.includes(action));
}

export const isAdmin = (me: Me) => me.roles.includes("admin");

/** An error as the page shows it: the problem's title, detail and request id. */
export interface Shown {
  title: string;
  detail?: string;
  status?: number;
  requestId?: string;
  errors?: { path: string; message: string }[];
}

export function shown(err: unknown): Shown {
  if (err instanceof ApiError) return { title: err.title, detail: err.detail, status: err.status, requestId: err.requestId, errors: err.errors };
  if (err instanceof NetworkError) return { title: "The platform could not be reached", detail: err.message };
  return { title: "Something went wrong", detail: err instanceof Error ? err.message : String(err) };
}

export interface Loaded<T> {
  data?: T;
  error?: Shown;
  loading: boolean;
  reload: () => void;
  set: (data: T) => void;
}

/** Loads once per change of `deps`; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Shown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err) => live && setState({ error: shown(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((data: T) => setState({ data, loading: false }), []);
  return { ...state, reload, set };
}

export interface Paged<T> extends Loaded<{ data: T[]; next_cursor: string | null }> {
  /** 1 for the first page. */
  page: number;
  previous?: () => void;
  next?: () => void;
  first: () => void;
  /** Back to the first page without loading again (when the list's filters change). */
  reset: () => void;
}

/** A list a page at a time with the API's cursors (the cursors seen are kept, to go back). */
export function usePages<T>(load: (cursor: string | undefined) => Promise<{ data: T[]; next_cursor: string | null }>, deps: unknown[]): Paged<T> {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const loaded = useLoad(() => load(cursor), [cursor, ...deps]);
  const nextCursor = loaded.data?.next_cursor;
  return {
    ...loaded,
    page: cursors.length,
    previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
    next: nextCursor ? () => setCursors([...cursors, nextCursor]) : undefined,
    first: () => {
      if (cursors.length > 1) setCursors([undefined]);
      else loaded.reload();
    },
    reset: () => {
      if (cursors.length > 1) setCursors([undefined]);
    },
  };
}

/** What the console shows as a record's name, whatever its model. */
export function recordName(r: Record<string, unknown>): string {
  const s = (k: string) => (typeof r[k] === "string" && r[k] ? (r[k] as string) : undefined);
  const person = [s("first_name"), s("last_name")].filter(Boolean).join(" ");
  return s("name") ?? s("title") ?? (person || undefined) ?? s("email") ?? String(r.id ?? "record");
}
