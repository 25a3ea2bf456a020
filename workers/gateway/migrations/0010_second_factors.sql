-- Second factors (issue 19): TOTP with recovery codes, passkeys, the organization's policy, and
-- the authentication methods (amr) a refresh token's sign-in used, so refreshed tokens keep them.

-- One authenticator app per user. The secret is sealed (AES-GCM, identity/sealing.ts); until
-- confirmed_at is set it is an enrollment in progress. last_used_step is the RFC 6238 time step
-- of the last accepted code: a code of that step or an earlier one is refused (replay).
CREATE TABLE totp_factors (
  user_id TEXT PRIMARY KEY NOT NULL,
  organization_id TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  confirmed_at TEXT,
  last_used_step INTEGER,
  created_at TEXT NOT NULL
);

-- Recovery codes: 80 random bits each, stored as SHA-256 (see identity/mfa/recovery.ts), single use.
CREATE TABLE recovery_codes (
  code_hash TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- WebAuthn credentials. id is the credential id (base64url): unique across every user.
CREATE TABLE passkeys (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  name TEXT NOT NULL,
  public_key TEXT NOT NULL,
  counter INTEGER NOT NULL DEFAULT 0,
  transports TEXT NOT NULL DEFAULT '[]',
  backed_up INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  last_used_at TEXT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- Sealed single-use tokens already spent (WebAuthn challenges, the sign-in's second-factor step),
-- kept until they would have expired anyway.
CREATE TABLE spent_mfa_tokens (
  token_hash TEXT PRIMARY KEY NOT NULL,
  expires_at TEXT NOT NULL
);

-- An organization's second-factor policy (absent: nothing required).
CREATE TABLE second_factor_policies (
  organization_id TEXT PRIMARY KEY NOT NULL,
  require_for_admins INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  updated_by TEXT
);

ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;
