-- Issue #10 (discussion) and #13 (token auth): comments on papers, personal API
-- tokens, and the rate limiter's buckets shared by every process (docs/community.md,
-- "Tables"). A token is kept as its SHA-256 (hex), never as itself.

CREATE TABLE comments (
    id             INTEGER PRIMARY KEY,
    arxiv_id       TEXT NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id      INTEGER REFERENCES comments (id) ON DELETE CASCADE,  -- always a top-level comment
    body           TEXT NOT NULL,                 -- Markdown, discussion.check_comment
    body_html      TEXT NOT NULL,                 -- discussion.render(body)
    render_version INTEGER NOT NULL,              -- discussion.RENDER_VERSION that rendered it
    created_at     TEXT NOT NULL,
    edited_at      TEXT,
    deleted_at     TEXT,                          -- set when a deleted comment keeps its replies
    hidden_at      TEXT,
    hidden_by      INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX comments_paper ON comments (arxiv_id, created_at);
CREATE INDEX comments_parent ON comments (parent_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,                   -- "read" or "read write"
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- One token bucket per key ("login-account:ada"); `at` in seconds since the epoch.
CREATE TABLE rate_buckets (
    key    TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    at     REAL NOT NULL
);
