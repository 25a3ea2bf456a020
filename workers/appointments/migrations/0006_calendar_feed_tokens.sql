-- Secret feed URLs (issue 17): at most one per calendar, stored only as the SHA-256 of the token
-- (hex). The token alone names the organization and the calendar; rotating replaces the row,
-- revoking deletes it, and deleting the calendar deletes it too.
CREATE TABLE calendar_feed_tokens (
  calendar_id TEXT PRIMARY KEY NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
  organization_id TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
