-- Issue #10: local upvotes and submissions, the tables of
-- migrations/sqlite/0006_upvotes.sql in PostgreSQL types.

CREATE TABLE upvotes (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    arxiv_id   text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, arxiv_id)
);
CREATE INDEX upvotes_paper ON upvotes (arxiv_id, created_at);

CREATE TABLE submissions (
    day        date NOT NULL,
    arxiv_id   text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (day, arxiv_id)
);
CREATE INDEX submissions_user ON submissions (user_id, created_at);
