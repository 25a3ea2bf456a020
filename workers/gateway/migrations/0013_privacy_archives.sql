-- Access archives (issue 23, src/privacy/archive.ts): where a completed access request's zip is
-- stored in the PRIVACY_ARCHIVES bucket, with its size, SHA-256 and the manifest's counts (JSON).
ALTER TABLE privacy_requests ADD COLUMN archive TEXT;
