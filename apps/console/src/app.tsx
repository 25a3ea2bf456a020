import { createClient } from "@buildly/sdk";
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { BASE, clientId, finishSignIn, forgetClientId, startSignIn, signOut } from "./auth.ts";
import { JoinPage } from "./join.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { DataPage } from "./pages/data.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { PeoplePage } from "./pages/people.tsx";
import { WebhooksPage } from "./pages/webhooks.tsx";
import { WorkflowsPage } from "./pages/workflows.tsx";
import { type Session, SessionContext, type Shown, shown, withWorkflowPermissions } from "./session.ts";
import { follow } from "./router.ts";
import { ErrorBox } from "./ui.tsx";

const PAGES: { path: string; title: string; page: ComponentType }[] = [
  { path: "", title: "Overview", page: OverviewPage },
  { path: "data", title: "Data", page: DataPage },
  { path: "workflows", title: "Workflows", page: WorkflowsPage },
  { path: "people", title: "People", page: PeoplePage },
  { path: "audit", title: "Events and audit", page: AuditPage },
  { path: "webhooks", title: "Webhooks", page: WebhooksPage },
];

const pageOf = (pathname: string) => {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length).split("/")[0] : "";
  return PAGES.find((p) => p.path === rest) ?? PAGES[0]!;
};

type Boot =
  | { kind: "starting" }
  | { kind: "join" }
  | { kind: "no-client"; message?: string }
  | { kind: "signed-out"; client: string; message?: string; error?: Shown }
  | { kind: "in"; session: Session };

export function App() {
  const [boot, setBoot] = useState<Boot>({ kind: "starting" });
  useEffect(() => {
    (async () => {
      // An invitation's link: no session to look for yet.
      if (location.pathname === `${BASE}join`) return setBoot({ kind: "join" });
      if (location.pathname === `${BASE}callback`) {
        const result = await finishSignIn();
        if (!result.ok) {
          history.replaceState(null, "", BASE);
          const client = clientId();
          return setBoot(client ? { kind: "signed-out", client, message: result.message } : { kind: "no-client", message: result.message });
        }
        const api = createClient({ baseUrl: location.origin, auth: { type: "user", tokens: result.tokens, clientId: result.client } });
        try {
          const [caller, roles] = await Promise.all([api.GET("/v1/auth/me"), api.GET("/v1/roles")]);
          const me = withWorkflowPermissions(caller, roles.data);
          history.replaceState(null, "", result.returnTo.startsWith(BASE) ? result.returnTo : BASE);
          setBoot({ kind: "in", session: { api, me, client: result.client, idToken: result.idToken } });
        } catch (err) {
          setBoot({ kind: "signed-out", client: result.client, error: shown(err) });
        }
        return;
      }
      const client = clientId();
      if (!client) return setBoot({ kind: "no-client" });
      // A reload: ask the hosted login whether its session still lives (no page shown either way).
      const url = new URL(location.href);
      url.searchParams.delete("client_id");
      await startSignIn(client, { silent: true, returnTo: url.pathname + url.search });
    })();
  }, []);

  if (boot.kind === "starting") return <Splash text="Signing in…" />;
  if (boot.kind === "join") return <JoinPage />;
  if (boot.kind === "no-client") return <NoClient message={boot.message} />;
  if (boot.kind === "signed-out") return <SignedOut client={boot.client} message={boot.message} error={boot.error} />;
  return (
    <SessionContext.Provider value={boot.session}>
      <Shell session={boot.session} />
    </SessionContext.Provider>
  );
}

function Splash({ text }: { text: string }) {
  return (
    <main class="splash">
      <h1>Buildly console</h1>
      <p role="status">{text}</p>
    </main>
  );
}

function SignedOut({ client, message, error }: { client: string; message?: string; error?: Shown }) {
  return (
    <main class="splash">
      <h1>Buildly console</h1>
      {message && (
        <p class="error" role="alert">
          {message}
        </p>
      )}
      <ErrorBox error={error} />
      <p>Sign in with your organization's account on the platform's sign-in page.</p>
      <button type="button" class="primary" onClick={() => startSignIn(client, { silent: false, returnTo: BASE })}>
        Sign in
      </button>
      <p>
        <button
          type="button"
          class="link"
          onClick={() => {
            forgetClientId();
            location.assign(BASE);
          }}
        >
          Use another organization
        </button>
      </p>
    </main>
  );
}

function NoClient({ message }: { message?: string }) {
  const [value, setValue] = useState("");
  return (
    <main class="splash">
      <h1>Buildly console</h1>
      {message && (
        <p class="error" role="alert">
          {message}
        </p>
      )}
      <p>
        Open the console with your organization's link (<code>/console/?client_id=…</code>, shown on the console's overview), or enter the console client id an
        admin gave you.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) location.assign(`${BASE}?client_id=${encodeURIComponent(value.trim())}`);
        }}
      >
        <label for="client-id">Console client id</label>
        <input id="client-id" value={value} onInput={(e) => setValue(e.currentTarget.value)} required autocomplete="off" />
        <button type="submit" class="primary">
          Continue
        </button>
      </form>
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  const current = pageOf(path);
  useEffect(() => {
    document.title = `${current.title} · Buildly console`;
    document.getElementById("page-title")?.focus();
  }, [current]);
  const Page = current.page;
  const me = session.me;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Buildly console</span>
        <span class="who">
          {me.organization.name} · {me.user?.name ?? me.client_id} <span class="muted">({me.roles.join(", ") || "no role"})</span>
        </span>
        <button type="button" class="link" onClick={() => signOut(session.client, session.idToken)}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main" class="nav">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a href={BASE + p.path} aria-current={p === current ? "page" : undefined} onClick={(e) => follow(e, BASE + p.path)}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="main">
        <h1 id="page-title" tabIndex={-1}>
          {current.title}
        </h1>
        <Page key={current.path} />
      </main>
    </div>
  );
}
