-- The REST API's state (app/api/): API keys, kept only as the SHA-256 of their secret, each with
-- its own rate limit; and the answers given through the API, so that a rating names an answer
-- by its id (on any replica) and each answer is rated at most once.
CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    rate_per_minute DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE api_answers (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    view TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    clause_ids TEXT NOT NULL,
    rated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_answers_by_age ON api_answers (created_at);
