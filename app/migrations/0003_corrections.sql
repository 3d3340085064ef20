-- Insights (app/insights/): agents' corrections of answers, and what the report reads.
-- A correction names the exchange it corrects (a logged message or a rated answer), keeps the
-- redacted question it was about, and either the clause and sentence that answer it or
-- not_covered (the notices do not answer it). Written as eval lines only by a command a person runs.
CREATE TABLE corrections (
    id BIGSERIAL PRIMARY KEY,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('message', 'feedback')),
    exchange_id BIGINT NOT NULL,
    view TEXT NOT NULL,
    question TEXT NOT NULL,
    doc_id TEXT NOT NULL DEFAULT '',
    clause_id TEXT NOT NULL DEFAULT '',
    sentence TEXT NOT NULL DEFAULT '',
    not_covered BOOLEAN NOT NULL,
    UNIQUE (source, exchange_id)
);
-- The answer's confidence and the policy it drew on, so that weak answers can be found by policy.
ALTER TABLE messages ADD COLUMN confidence DOUBLE PRECISION;
ALTER TABLE messages ADD COLUMN doc_id TEXT NOT NULL DEFAULT '';
-- The report reads by period: a year of traffic must not be scanned for one week.
CREATE INDEX messages_by_time ON messages (created_at);
CREATE INDEX feedback_by_time ON feedback (created_at);
