-- Shared state of the replicas: the feedback and message log (as in the SQLite store), the
-- failed agent sign-ins behind the login lockout, and the customers' rate-limit buckets.
CREATE TABLE feedback (
    id BIGSERIAL PRIMARY KEY,
    created_at TEXT NOT NULL,
    view TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    clause_ids TEXT NOT NULL,
    rating SMALLINT NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT ''
);
CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    created_at TEXT NOT NULL,
    view TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    clause_ids TEXT NOT NULL,
    abstained BOOLEAN NOT NULL
);
CREATE TABLE login_failures (
    client TEXT NOT NULL,
    user_name TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL  -- seconds since the epoch: comparable across replicas
);
CREATE INDEX login_failures_by_key ON login_failures (client, user_name, at);
CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    allowed BOOLEAN NOT NULL  -- whether the last request took a token
);
