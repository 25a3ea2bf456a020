import { createClient } from "@buildly/sdk";
import { useState } from "preact/hooks";
import { BASE, clientId, startSignIn } from "./auth.ts";
import { type Shown, shown } from "./session.ts";
import { ErrorBox } from "./ui.tsx";

/**
 * A newcomer's first link, made by an admin's invitation on the People page:
 * /console/join?client_id=<the organization's console client>#invitation=<token>. The person
 * chooses a name and password (POST /v1/auth/register with the invitation), then signs in on
 * the hosted login as anyone does. The token travels in the fragment, so no server sees it in a URL.
 */
export function JoinPage() {
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get("invitation") ?? "");
  const [client] = useState(() => clientId());
  const [error, setError] = useState<Shown | undefined>();
  const [busy, setBusy] = useState(false);
  if (!token || !client)
    return (
      <main class="splash">
        <h1>Join your organization</h1>
        <p class="error" role="alert">
          This link is incomplete: ask the admin who invited you for the whole link.
        </p>
      </main>
    );
  return (
    <main class="splash">
      <h1>Join your organization</h1>
      <p>You were invited to the Buildly console. Choose your name and a password, then sign in with the email the invitation was sent to.</p>
      <form
        aria-label="Join"
        onSubmit={async (e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          if (f.get("password") !== f.get("again")) {
            setError({ title: "The two passwords differ", detail: "Type the same password twice." });
            return;
          }
          setBusy(true);
          setError(undefined);
          try {
            await createClient({ baseUrl: location.origin }).POST("/v1/auth/register", {
              body: { invitation_token: token, name: String(f.get("name")), password: String(f.get("password")) },
            });
            history.replaceState(null, "", BASE);
            await startSignIn(client, { silent: false, returnTo: BASE });
          } catch (err) {
            setError(shown(err));
            setBusy(false);
          }
        }}
      >
        <label for="join-name">Your name</label>
        <input id="join-name" name="name" required autocomplete="name" maxLength={200} />
        <label for="join-password">Password (at least 10 characters)</label>
        <input id="join-password" name="password" type="password" required minLength={10} autocomplete="new-password" />
        <label for="join-again">The same password again</label>
        <input id="join-again" name="again" type="password" required minLength={10} autocomplete="new-password" />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Joining…" : "Join and sign in"}
        </button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}
