import { BASE } from "../auth.ts";
import { isAdmin, useLoad, useSession } from "../session.ts";
import { ErrorBox, Loading, Section, when } from "../ui.tsx";

/** One round of calls: health, the caller (with the rate-limit headers of its answer), recent audit entries. */
export function OverviewPage() {
  const { api, me, client } = useSession();
  const health = useLoad(() => api.GET("/health"), []);
  const limits = useLoad(async () => {
    const { response } = await api.withResponse.GET("/v1/auth/me");
    return { limit: response.headers.get("ratelimit"), policy: response.headers.get("ratelimit-policy") };
  }, []);
  const audit = useLoad(() => api.GET("/v1/audit", { params: { query: { limit: 8 } } }), []);
  const link = `${location.origin}${BASE}?client_id=${encodeURIComponent(client)}`;
  return (
    <div class="grid">
      <Section title="Services" id="services">
        <ErrorBox error={health.error} />
        {health.loading && <Loading what="health" />}
        {health.data && (
          <>
            <p>
              Platform: <span class={`badge ${health.data.status}`}>{health.data.status}</span>
            </p>
            <table>
              <caption class="sr-only">Services and their health</caption>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Status</th>
                  <th scope="col">Checked in</th>
                </tr>
              </thead>
              <tbody>
                {health.data.services.map((s) => (
                  <tr key={s.service}>
                    <td>{s.service}</td>
                    <td>
                      <span class={`badge ${s.status}`}>{s.status}</span>
                    </td>
                    <td>{s.duration_ms} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Section>
      <Section title="Organization" id="organization">
        <dl>
          <dt>Name</dt>
          <dd>{me.organization.name}</dd>
          <dt>Id</dt>
          <dd>
            <code>{me.organization.id}</code>
          </dd>
          <dt>Created</dt>
          <dd>{when(me.organization.created_at)}</dd>
          <dt>Your roles</dt>
          <dd>{me.roles.join(", ") || "none"}</dd>
          {isAdmin(me) && (
            <>
              <dt>Console link for your people</dt>
              <dd>
                <code class="wrap">{link}</code>
              </dd>
            </>
          )}
        </dl>
      </Section>
      <Section title="Rate-limit use" id="rate-limits">
        <ErrorBox error={limits.error} />
        {limits.loading && <Loading what="limits" />}
        {limits.data && (
          <dl>
            <dt>Remaining now</dt>
            <dd>
              <code class="wrap">{limits.data.limit ?? "not reported"}</code>
            </dd>
            <dt>Policies</dt>
            <dd>
              <code class="wrap">{limits.data.policy ?? "not reported"}</code>
            </dd>
          </dl>
        )}
      </Section>
      <Section title="Recent activity" id="activity">
        <ErrorBox error={audit.error} />
        {audit.loading && <Loading what="activity" />}
        {audit.data &&
          (audit.data.data.length ? (
            <ul class="list">
              {audit.data.data.map((e) => (
                <li key={e.seq}>
                  <strong>{e.type}</strong> <span class="muted">{when(e.time)}</span>
                  <br />
                  <span class="muted">
                    {e.actor.type} {e.actor.id ?? ""}
                  </span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No activity yet.</p>
          ))}
      </Section>
    </div>
  );
}
