-- Sign-in for people and apps (issue 18): clients for the authorization code flow, codes,
-- hosted-login sessions, consents, and refresh tokens bound to the client they were issued to.

-- public: no secret, PKCE only. confidential: a secret or private_key_jwt. first_party: the
-- platform's own console (one per organization, no consent screen).
ALTER TABLE clients ADD COLUMN client_type TEXT NOT NULL DEFAULT 'confidential';
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
-- Clients made before this migration are machine clients: client_credentials with read and write.
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '["client_credentials"]';
ALTER TABLE clients ADD COLUMN scopes TEXT NOT NULL DEFAULT '["read","write"]';
ALTER TABLE clients ADD COLUMN jwks TEXT;
CREATE UNIQUE INDEX clients_first_party ON clients (organization_id) WHERE first_party = 1;

-- Which client a refresh token belongs to (NULL: issued by the password grant before clients were checked).
ALTER TABLE refresh_tokens ADD COLUMN client_id TEXT;

-- Authorization codes (stored hashed). id is also the grant id: the refresh token family and the
-- `gid` claim of every access token issued from the code, so a replayed code revokes them all.
CREATE TABLE authorization_codes (
  id TEXT PRIMARY KEY NOT NULL,
  code_hash TEXT NOT NULL,
  client_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  nonce TEXT,
  auth_time INTEGER NOT NULL,
  amr TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  used_at TEXT,
  revoked_at TEXT
);
CREATE UNIQUE INDEX authorization_codes_hash ON authorization_codes (code_hash);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

-- Hosted login sessions: the cookie holds a random token, this table its hash.
CREATE TABLE login_sessions (
  id TEXT PRIMARY KEY NOT NULL,
  token_hash TEXT NOT NULL,
  user_id TEXT NOT NULL,
  organization_id TEXT NOT NULL,
  amr TEXT NOT NULL,
  auth_time INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE UNIQUE INDEX login_sessions_token ON login_sessions (token_hash);
CREATE INDEX login_sessions_user ON login_sessions (user_id);

-- What a user allowed a third-party client (the scopes, space-separated).
CREATE TABLE consents (
  user_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (user_id, client_id)
);

-- private_key_jwt assertions seen, until they expire: each is accepted once.
CREATE TABLE client_assertions (
  jti_hash TEXT PRIMARY KEY NOT NULL,
  expires_at TEXT NOT NULL
);

-- Email verification (EMAIL_VERIFICATION): when the address was shown to be the user's. Accounts
-- that existed before are taken as verified; invitations prove the address, so joiners are too.
ALTER TABLE users ADD COLUMN email_verified_at TEXT;
UPDATE users SET email_verified_at = created_at;

CREATE TABLE email_verifications (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX email_verifications_token ON email_verifications (token_hash);
