-- Issue #10: local upvotes and submissions to the community daily list
-- (docs/community.md, "Tables"). Papers are named by arxiv_id, as daily_entries
-- does, so the rows move between engines unchanged. The primary key of upvotes is
-- the whole rule against double votes: no counter column, counts are COUNT(*).

CREATE TABLE upvotes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    arxiv_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, arxiv_id)
);
CREATE INDEX upvotes_paper ON upvotes (arxiv_id, created_at);

CREATE TABLE submissions (
    day        TEXT NOT NULL,
    arxiv_id   TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (day, arxiv_id)
);
CREATE INDEX submissions_user ON submissions (user_id, created_at);
