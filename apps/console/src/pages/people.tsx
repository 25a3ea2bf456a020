import type { Schema } from "@buildly/sdk";
import { useState } from "preact/hooks";
import { BASE } from "../auth.ts";
import { isAdmin, useLoad, usePages, useSession } from "../session.ts";
import { ActionResult, Confirm, ErrorBox, Loading, Pager, Secret, Section, useAction, when } from "../ui.tsx";

export function PeoplePage() {
  const { api, me } = useSession();
  const users = usePages((cursor) => api.GET("/v1/users", { params: { query: { limit: 20, cursor } } }), []);
  const roles = useLoad(() => api.GET("/v1/roles"), []);
  const admin = isAdmin(me);
  const invitations = useLoad(() => (admin ? api.GET("/v1/invitations") : Promise.resolve(undefined)), [admin]);
  return (
    <div class="grid">
      <Section title="Users" id="users">
        <ErrorBox error={users.error} />
        {users.loading && <Loading what="users" />}
        <ul class="list">
          {users.data?.data.map((u) => (
            <li key={u.id}>
              <strong>{u.name}</strong> <span class="muted">{u.email}</span> · {u.roles.join(", ") || "no role"}
              {u.status !== "active" && <span class="badge error">{u.status}</span>}
            </li>
          ))}
        </ul>
        {users.data && <Pager label="User pages" pages={users} />}
      </Section>
      <Section title="Roles" id="roles">
        <ErrorBox error={roles.error} />
        {roles.loading && <Loading what="roles" />}
        <ul class="list">
          {roles.data?.data.map((r) => (
            <li key={r.id}>
              <strong>{r.name}</strong> {r.builtin && <span class="muted">(built in)</span>}
              <ul>
                {Object.entries(r.permissions).map(([service, actions]) => (
                  <li key={service}>
                    <code>{service === "*" ? "every service" : service}</code>: {actions.join(", ")}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      </Section>
      {admin && (
        <Section title="Invitations" id="invitations">
          <ErrorBox error={invitations.error} />
          {invitations.loading && <Loading what="invitations" />}
          <ul class="list">
            {invitations.data?.data.map((i) => (
              <li key={i.id}>
                {i.email} as {i.role} <span class="muted">until {when(i.expires_at)}</span>
              </li>
            ))}
          </ul>
          {invitations.data && !invitations.data.data.length && <p class="muted">No open invitations.</p>}
          <Invite roles={roles.data?.data.map((r) => r.name) ?? ["viewer"]} onInvited={invitations.reload} />
        </Section>
      )}
      {admin && <ApiClients roles={roles.data?.data.map((r) => r.name) ?? []} />}
      {admin && <IdentityProviders roles={roles.data?.data.map((r) => r.name) ?? []} />}
      {admin && <SecondFactorPolicy />}
    </div>
  );
}

function Invite({ roles, onInvited }: { roles: string[]; onInvited: () => void }) {
  const { api, client } = useSession();
  const action = useAction();
  const [role, setRole] = useState("viewer");
  const [link, setLink] = useState<string | undefined>();
  return (
    <form
      class="form"
      aria-label="Invite a user"
      onSubmit={action.submit(async (f, form) => {
        const email = String(f.get("email"));
        setLink(undefined);
        const invitation = await api.POST("/v1/invitations", { body: { email, role } });
        // The newcomer's first link: this organization's console client, and the invitation in
        // the fragment (never sent to a server, so it stays out of logs and Referer headers).
        setLink(`${location.origin}${BASE}join?client_id=${encodeURIComponent(client)}#invitation=${encodeURIComponent(invitation.token)}`);
        form.reset();
        onInvited();
        return `Invited ${email} as ${role}.`;
      })}
    >
      <h3>Invite a user</h3>
      <label>
        Email <input name="email" type="email" required autocomplete="off" />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" class="primary" disabled={action.busy}>
        Send invitation
      </button>
      <ActionResult {...action} />
      {link && <Secret label="Send this link to the person you invited (single use, 7 days)" value={link} testId="invitation-link" />}
    </form>
  );
}

type ApiClient = Schema<"Client">;

/** Machine clients (client credentials): created with a secret shown once, listed, revoked. */
function ApiClients({ roles }: { roles: string[] }) {
  const { api } = useSession();
  const pages = usePages((cursor) => api.GET("/v1/clients", { params: { query: { limit: 20, cursor } } }), []);
  const action = useAction();
  const [created, setCreated] = useState<Schema<"CreatedClient"> | undefined>();
  const revoke = (c: ApiClient) =>
    action.run(async () => {
      await api.DELETE("/v1/clients/{id}", { params: { path: { id: c.client_id } } });
      pages.reload();
      return `Revoked ${c.name}.`;
    });
  return (
    <Section title="API clients" id="api-clients">
      <ErrorBox error={pages.error} />
      {pages.loading && <Loading what="API clients" />}
      <ul class="list">
        {pages.data?.data.map((c) => (
          <li key={c.client_id}>
            <strong>{c.name}</strong> <span class={`badge ${c.status === "active" ? "ok" : "error"}`}>{c.status}</span>
            {c.first_party && <span class="muted"> (this console)</span>}
            <br />
            <code class="wrap">{c.client_id}</code>{" "}
            <span class="muted">
              {c.client_type}, {c.grant_types.join(", ")}; roles {c.roles.join(", ") || "none"}
            </span>
            {c.status === "active" && !c.first_party && (
              <div class="actions">
                <Confirm label={`Revoke ${c.name}`} confirm={`Yes, revoke ${c.name}`} disabled={action.busy} onConfirm={() => revoke(c)} />
              </div>
            )}
          </li>
        ))}
      </ul>
      <Pager label="API client pages" pages={pages} />
      <ActionResult {...action} />
      <form
        class="form"
        aria-label="New API client"
        onSubmit={action.submit(async (f, form) => {
          setCreated(undefined);
          const c = await api.POST("/v1/clients", {
            body: { name: String(f.get("name")), roles: f.getAll("roles").map(String), client_type: "confidential", grant_types: ["client_credentials"] },
          });
          setCreated(c);
          form.reset();
          pages.first();
          return `Created ${c.name}.`;
        })}
      >
        <h3>New API client</h3>
        <label>
          Name <input name="name" required autocomplete="off" maxLength={100} />
        </label>
        <fieldset>
          <legend>Roles</legend>
          {roles.map((r) => (
            <label key={r} class="check">
              <input type="checkbox" name="roles" value={r} /> {r}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="primary" disabled={action.busy}>
          Create client
        </button>
      </form>
      {created?.client_secret && (
        <>
          <p>
            Client id: <code class="wrap">{created.client_id}</code>
          </p>
          <Secret label={`Secret of ${created.name}`} value={created.client_secret} testId="client-secret" />
          {/* The list is oldest first: the new client may be on its last page. */}
          <Confirm
            label={`Revoke ${created.name}`}
            confirm={`Yes, revoke ${created.name}`}
            disabled={action.busy}
            onConfirm={() => {
              revoke(created);
              setCreated(undefined);
            }}
          />
        </>
      )}
    </Section>
  );
}

/** The organization's identity providers (single sign-on): listed, connected, disconnected. */
function IdentityProviders({ roles }: { roles: string[] }) {
  const { api } = useSession();
  const providers = useLoad(() => api.GET("/v1/organizations/current/identity-providers"), []);
  const action = useAction();
  return (
    <Section title="Identity providers" id="identity-providers">
      <ErrorBox error={providers.error} />
      {providers.loading && <Loading what="identity providers" />}
      <ul class="list">
        {providers.data?.data.map((p) => (
          <li key={p.id}>
            <strong>{p.name}</strong> <code class="wrap">{p.issuer}</code>
            <br />
            <span class="muted">
              {p.allowed_domains.join(", ")}; {p.jit_provisioning ? "accounts made at first sign-in" : "linked or invited accounts only"}; default role{" "}
              {p.default_role ?? "none (refused)"}
            </span>
            <br />
            <span class="muted">
              Redirect URI to register at the provider: <code class="wrap">{p.redirect_uri}</code>
            </span>
            <div class="actions">
              <Confirm
                label={`Disconnect ${p.name}`}
                confirm={`Yes, disconnect ${p.name} (its accounts keep their passwords)`}
                disabled={action.busy}
                onConfirm={() =>
                  action.run(async () => {
                    await api.DELETE("/v1/organizations/current/identity-providers/{id}", { params: { path: { id: p.id } } });
                    providers.reload();
                    return `Disconnected ${p.name}.`;
                  })
                }
              />
            </div>
          </li>
        ))}
      </ul>
      {providers.data && !providers.data.data.length && <p class="muted">No identity provider: people sign in with their passwords.</p>}
      <ActionResult {...action} />
      <form
        class="form"
        aria-label="Connect an identity provider"
        onSubmit={action.submit(async (f, form) => {
          const text = (k: string) => String(f.get(k) ?? "").trim();
          const p = await api.POST("/v1/organizations/current/identity-providers", {
            body: {
              name: text("name"),
              issuer: text("issuer"),
              client_id: text("client_id"),
              client_secret: text("client_secret"),
              allowed_domains: text("allowed_domains")
                .split(/[\s,]+/)
                .filter(Boolean),
              default_role: text("default_role") || null,
              jit_provisioning: f.get("jit") === "on",
            },
          });
          form.reset();
          providers.reload();
          return `Connected ${p.name}. Register ${p.redirect_uri} at the provider.`;
        })}
      >
        <h3>Connect an identity provider</h3>
        <label>
          Name <input name="name" required autocomplete="off" />
        </label>
        <label>
          Issuer <input name="issuer" type="url" required autocomplete="off" placeholder="https://login.example.com" />
        </label>
        <label>
          Client id at the provider <input name="client_id" required autocomplete="off" />
        </label>
        <label>
          Client secret at the provider <input name="client_secret" type="password" required autocomplete="off" />
        </label>
        <label>
          Email domains (comma-separated) <input name="allowed_domains" required autocomplete="off" placeholder="example.com" />
        </label>
        <label>
          Role of a new account none of whose groups is mapped
          <select name="default_role">
            <option value="">None: refuse the sign-in</option>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input name="jit" type="checkbox" /> Make the account at the first sign-in
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Connect
        </button>
      </form>
    </Section>
  );
}

/** Whether admins must sign in with a second factor. */
function SecondFactorPolicy() {
  const { api } = useSession();
  const policy = useLoad(() => api.GET("/v1/organizations/current/second-factor-policy"), []);
  const action = useAction();
  return (
    <Section title="Second factor" id="second-factor">
      <ErrorBox error={policy.error} />
      {policy.loading && <Loading what="the policy" />}
      {policy.data && (
        <form
          class="form"
          aria-label="Second-factor policy"
          onSubmit={action.submit(async (f) => {
            const next = await api.PUT("/v1/organizations/current/second-factor-policy", { body: { require_for_admins: f.get("require") === "on" } });
            policy.set(next);
            return next.require_for_admins ? "Admins now need a second factor from their next sign-in." : "A second factor is now optional for admins.";
          })}
        >
          <label class="check">
            <input name="require" type="checkbox" defaultChecked={policy.data.require_for_admins} key={String(policy.data.updated_at)} /> Require a second
            factor for admins
          </label>
          <p class="muted">
            Currently {policy.data.require_for_admins ? "required" : "optional"}
            {policy.data.updated_at ? `, since ${when(policy.data.updated_at)}` : ""}. An admin without one is led to set up an authenticator app at sign-in.
          </p>
          <button type="submit" class="primary" disabled={action.busy}>
            Save policy
          </button>
          <ActionResult {...action} />
        </form>
      )}
    </Section>
  );
}
