/*
 * The identity data the gateway holds about a user of the organization (issue 23): the account,
 * its memberships (roles), sign-in history (hosted login sessions, refresh token sessions),
 * second factors, federated identities, OAuth consents, and the mail sent to the account.
 *
 * An account belongs to exactly one organization (users.organization_id; an email has one
 * account on the whole platform), so everything here is read and erased only for accounts of the
 * requesting organization: an account of another organization is never found, whatever its email.
 */

import { ADMIN_ROLE } from "../identity/rbac";

/** The organization's accounts among these ids (the person as resolved). */
export async function accountsOf(d1: D1Database, org: string, userIds: string[]): Promise<{ id: string; email: string }[]> {
  const { results } = await d1
    .prepare("SELECT id, email FROM users WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2)) LIMIT 10")
    .bind(org, JSON.stringify(userIds))
    .all<{ id: string; email: string }>();
  return results;
}

const IDS = "(SELECT value FROM json_each(?1))";

/** What the access archive holds under identity/: section -> rows (secrets and hashes left out). */
export async function identityRecords(d1: D1Database, org: string, userIds: string[]): Promise<Record<string, unknown[]>> {
  const accounts = await accountsOf(d1, org, userIds);
  const ids = JSON.stringify(accounts.map((a) => a.id));
  const emails = JSON.stringify(accounts.map((a) => a.email));
  const [account, memberships, sessions, tokens, federated, totp, passkeys, recovery, consents, mail] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `SELECT u.id, u.email, u.name, u.status, u.email_verified_at, u.created_at, u.updated_at, u.organization_id, o.name AS organization_name
         FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.id IN ${IDS}`,
      )
      .bind(ids),
    d1
      .prepare(
        `SELECT ur.user_id, r.id AS role_id, r.name AS role, r.organization_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id IN ${IDS}`,
      )
      .bind(ids),
    d1
      .prepare(
        `SELECT id, user_id, amr, auth_time, created_at, last_seen_at, expires_at, revoked_at FROM login_sessions WHERE user_id IN ${IDS} ORDER BY created_at LIMIT 1000`,
      )
      .bind(ids),
    d1
      .prepare(
        `SELECT id, family_id, user_id, scope, amr, created_at, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE user_id IN ${IDS} ORDER BY created_at LIMIT 1000`,
      )
      .bind(ids),
    d1.prepare(`SELECT provider_id, issuer, subject, email, user_id, created_at, last_login_at FROM federated_identities WHERE user_id IN ${IDS}`).bind(ids),
    d1.prepare(`SELECT user_id, confirmed_at, created_at FROM totp_factors WHERE user_id IN ${IDS}`).bind(ids),
    d1.prepare(`SELECT id, user_id, name, transports, backed_up, created_at, last_used_at FROM passkeys WHERE user_id IN ${IDS}`).bind(ids),
    d1.prepare(`SELECT user_id, used_at, created_at FROM recovery_codes WHERE user_id IN ${IDS}`).bind(ids),
    d1.prepare(`SELECT user_id, client_id, scope, created_at FROM consents WHERE user_id IN ${IDS}`).bind(ids),
    d1
      .prepare("SELECT id, to_email, subject, status, created_at, sent_at FROM email_outbox WHERE to_email IN (SELECT value FROM json_each(?1)) LIMIT 1000")
      .bind(emails),
  ]);
  return {
    account: account!.results,
    memberships: memberships!.results,
    sign_ins: [...sessions!.results.map((s) => ({ kind: "login_session", ...s })), ...tokens!.results.map((t) => ({ kind: "refresh_token", ...t }))],
    second_factors: [
      ...totp!.results.map((t) => ({ kind: "totp", ...t })),
      ...passkeys!.results.map((p) => ({ kind: "passkey", ...p })),
      ...recovery!.results.map((r) => ({ kind: "recovery_code", ...r })),
    ],
    federated_identities: federated!.results,
    oauth_consents: consents!.results,
    mail: mail!.results,
  };
}

/**
 * The statements that erase these accounts of the organization, one per table, in an order that
 * respects the references (users last). Answers [table, statement] pairs; the dry run counts instead.
 */
export function identityErasure(d1: D1Database, org: string, accounts: { id: string; email: string }[], dry: boolean): [string, D1PreparedStatement][] {
  const ids = JSON.stringify(accounts.map((a) => a.id));
  const emails = JSON.stringify(accounts.map((a) => a.email.toLowerCase()));
  const tables: [string, string, string][] = [
    ["user_roles", "user_roles", `user_id IN ${IDS}`],
    ["refresh_tokens", "refresh_tokens", `user_id IN ${IDS}`],
    ["login_sessions", "login_sessions", `user_id IN ${IDS}`],
    ["authorization_codes", "authorization_codes", `user_id IN ${IDS}`],
    ["consents", "consents", `user_id IN ${IDS}`],
    ["password_resets", "password_resets", `user_id IN ${IDS}`],
    ["email_verifications", "email_verifications", `user_id IN ${IDS}`],
    ["federated_identities", "federated_identities", `user_id IN ${IDS}`],
    ["federation_states", "federation_states", `link_user_id IN ${IDS}`],
    ["totp_factors", "totp_factors", `user_id IN ${IDS}`],
    ["recovery_codes", "recovery_codes", `user_id IN ${IDS}`],
    ["passkeys", "passkeys", `user_id IN ${IDS}`],
    // The organization's invitations to the address, and the mail sent to the account.
    ["invitations", "invitations", `organization_id = ?3 AND lower(email) IN (SELECT value FROM json_each(?2))`],
    ["email_outbox", "email_outbox", `lower(to_email) IN (SELECT value FROM json_each(?2))`],
    // The gateway's own outbox keeps relayed identity events (their payloads hold the account).
    ["outbox", "outbox", `organization_id = ?3 AND (subject IN ${IDS} OR EXISTS (SELECT 1 FROM json_each(?2) AS e WHERE instr(lower(data), e.value) > 0))`],
    ["users", "users", `organization_id = ?3 AND id IN ${IDS}`],
  ];
  return tables.map(([name, table, where]) => {
    const sql = dry ? `SELECT count(*) AS n FROM ${table} WHERE ${where}` : `DELETE FROM ${table} WHERE ${where}`;
    // Every statement binds the same three values, whichever it uses.
    const usesOrg = where.includes("?3");
    const usesEmails = where.includes("?2");
    const stmt = d1.prepare(sql);
    return [name, usesOrg ? stmt.bind(ids, emails, org) : usesEmails ? stmt.bind(ids, emails) : stmt.bind(ids)];
  });
}

/**
 * Whether erasing these accounts (by id, or by an email of this organization) would leave the
 * organization without an active admin, as deactivating or demoting the last one would (the users
 * API refuses both): one of them is an active admin and no other active user of the organization
 * is one. The request is refused up front, and the identity phase checks again before deleting.
 */
export async function erasesLastAdmin(d1: D1Database, org: string, subject: { emails: string[]; user_ids: string[] }): Promise<boolean> {
  const row = await d1
    .prepare(
      `WITH erased AS (
         SELECT id FROM users WHERE organization_id = ?1
           AND (id IN (SELECT value FROM json_each(?2)) OR lower(email) IN (SELECT value FROM json_each(?3)))
       ),
       admins AS (
         SELECT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
          WHERE u.organization_id = ?1 AND r.organization_id = ?1 AND r.name = ?4 AND u.status = 'active'
       )
       SELECT EXISTS (SELECT 1 FROM admins WHERE id IN (SELECT id FROM erased))
          AND NOT EXISTS (SELECT 1 FROM admins WHERE id NOT IN (SELECT id FROM erased)) AS last`,
    )
    .bind(org, JSON.stringify(subject.user_ids.slice(0, 10)), JSON.stringify(subject.emails.map((e) => e.trim().toLowerCase()).slice(0, 10)), ADMIN_ROLE)
    .first<{ last: number }>();
  return row?.last === 1;
}
