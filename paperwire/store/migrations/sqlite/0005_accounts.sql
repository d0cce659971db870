-- Issue #10: accounts. Users, their sessions, invite and password-reset links
-- (docs/community.md, "Tables"). Every secret is kept as its SHA-256 (hex), never
-- as itself; times are ISO-8601 UTC text, booleans 0/1.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,      -- accounts.normalise_username
    email               TEXT NOT NULL UNIQUE,      -- accounts.normalise_email
    password_hash       TEXT NOT NULL,             -- Argon2id PHC string
    is_admin            INTEGER NOT NULL DEFAULT 0,
    is_disabled         INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    last_login_at       TEXT
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT ''          -- first 200 characters
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE invites (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_by INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    used_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    used_at    TEXT
);

CREATE TABLE reset_links (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX reset_links_user ON reset_links (user_id);
