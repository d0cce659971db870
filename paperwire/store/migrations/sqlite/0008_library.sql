-- Issue #11: the personal library (docs/library.md, "Tables"). Papers are named by
-- arxiv_id, as upvotes are; users by users.id, deleted with their user. A shared
-- link is a random token kept as its SHA-256 (hex), revocable by clearing it.

CREATE TABLE collections (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    slug             TEXT NOT NULL,
    is_shared        INTEGER NOT NULL DEFAULT 0,
    share_token_hash TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    UNIQUE (user_id, slug)
);

CREATE TABLE collection_items (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    arxiv_id      TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',     -- private, at most 10,000 characters
    saved_at      TEXT NOT NULL,
    PRIMARY KEY (collection_id, arxiv_id)
);
CREATE INDEX collection_items_paper ON collection_items (arxiv_id);

CREATE TABLE dismissals (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    arxiv_id     TEXT NOT NULL,
    dismissed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, arxiv_id)
);

-- library_seq counts the user's library changes; trained_seq is the one the model saw,
-- so the recommend job retrains exactly the users whose library moved on.
CREATE TABLE user_models (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    library_seq    INTEGER NOT NULL DEFAULT 0,
    trained_seq    INTEGER NOT NULL DEFAULT 0,
    vocabulary_seq INTEGER NOT NULL DEFAULT 0,
    paper_seq      INTEGER NOT NULL DEFAULT 0,
    trained_at     TEXT,
    model          BLOB
);

CREATE TABLE recommendations (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    arxiv_id   TEXT NOT NULL,
    score      REAL NOT NULL,
    because_id TEXT NOT NULL,
    scored_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, arxiv_id)
);
CREATE INDEX recommendations_best ON recommendations (user_id, score DESC);

-- One TF-IDF vocabulary for every user model (recommend.Keywords), refitted weekly.
CREATE TABLE vocabularies (
    seq        INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    vocabulary BLOB NOT NULL
);

CREATE TABLE followups (
    id       INTEGER PRIMARY KEY,
    arxiv_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL,
    found_at TEXT NOT NULL
);
CREATE INDEX followups_paper ON followups (arxiv_id, found_at);

CREATE TABLE followup_reads (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seen_up_to INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE import_runs (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    report     TEXT NOT NULL                   -- JSON: matched / unmatched / malformed
);
CREATE INDEX import_runs_user ON import_runs (user_id, created_at);

-- Atom feeds of a user's "for you" and updates, by a private revocable token.
CREATE TABLE feed_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);

-- Import matches an entry by DOI (DOIs are case-insensitive; imports.normalise_doi).
CREATE INDEX papers_doi ON papers (lower(doi));
