-- Single sign-on with an organization's own OpenID Connect provider (issue 19).

-- The upstream providers an organization connected. The client secret is sealed (AES-GCM under
-- SIGNING_KEYS_SECRET, as the signing keys) and never answered. allowed_domains: the email
-- domains it may sign in (and that home realm discovery sends to it). role_mapping: values of
-- role_claim -> our role names; default_role for users none of whose values is mapped.
CREATE TABLE identity_providers (
  id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL,
  issuer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  client_secret_sealed TEXT NOT NULL,
  allowed_domains TEXT NOT NULL DEFAULT '[]',
  role_claim TEXT NOT NULL DEFAULT 'groups',
  role_mapping TEXT NOT NULL DEFAULT '{}',
  default_role TEXT,
  jit_provisioning INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX identity_providers_issuer ON identity_providers (organization_id, issuer);

-- Accounts linked to an upstream identity: matched by the upstream's iss + sub, never by email.
CREATE TABLE federated_identities (
  provider_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  issuer TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  email TEXT,
  created_at TEXT NOT NULL,
  last_login_at TEXT,
  PRIMARY KEY (provider_id, subject)
);
CREATE INDEX federated_identities_issuer ON federated_identities (issuer, subject);
CREATE INDEX federated_identities_user ON federated_identities (user_id);

-- An upstream sign-in in progress: the state (hashed), nonce and PKCE verifier of the upstream
-- leg and the authorization request to resume; stage 'link' holds an upstream identity waiting
-- for the account's password. Single use (used_at), minutes long.
CREATE TABLE federation_states (
  id TEXT PRIMARY KEY NOT NULL,
  state_hash TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  stage TEXT NOT NULL DEFAULT 'upstream',
  nonce TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  request TEXT NOT NULL,
  subject TEXT,
  email TEXT,
  link_user_id TEXT,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX federation_states_hash ON federation_states (state_hash);
CREATE INDEX federation_states_expiry ON federation_states (expires_at);

-- An organization that requires SSO: its users cannot sign in with a password (admins can: break-glass).
ALTER TABLE organizations ADD COLUMN require_sso INTEGER NOT NULL DEFAULT 0;
