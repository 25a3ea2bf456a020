import { useState } from "preact/hooks";
import { isAdmin, useLoad, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Section, useAction, when } from "../ui.tsx";

export function PeoplePage() {
  const { api, me } = useSession();
  const users = useLoad(() => api.GET("/v1/users", { params: { query: { limit: 50 } } }), []);
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
    </div>
  );
}

function Invite({ roles, onInvited }: { roles: string[]; onInvited: () => void }) {
  const { api } = useSession();
  const action = useAction();
  const [role, setRole] = useState("viewer");
  return (
    <form
      class="form"
      aria-label="Invite a user"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const email = String(new FormData(form).get("email"));
        action.run(async () => {
          await api.POST("/v1/invitations", { body: { email, role } });
          form.reset();
          onInvited();
          return `Invited ${email} as ${role}.`;
        });
      }}
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
    </form>
  );
}
