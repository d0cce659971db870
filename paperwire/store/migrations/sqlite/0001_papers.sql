-- Papers, their versions and sources, the daily lists, checkpoints and job runs.
-- Times are ISO-8601 UTC text; days are YYYY-MM-DD text.

CREATE TABLE papers (
    id               INTEGER PRIMARY KEY,          -- internal row id, used by the search indexes
    arxiv_id         TEXT NOT NULL UNIQUE,         -- without version
    version          INTEGER NOT NULL DEFAULT 0,   -- latest known; 0 = unknown
    title            TEXT NOT NULL,
    abstract         TEXT NOT NULL,
    authors          TEXT NOT NULL,                -- JSON [{"name", "affiliations"}], in order
    primary_category TEXT,
    categories       TEXT NOT NULL,                -- JSON list, primary first
    published_at     TEXT,
    updated_at       TEXT,
    day              TEXT,                         -- UTC day of published_at
    doi              TEXT,
    journal_ref      TEXT,
    comments         TEXT,
    license          TEXT,
    code_url         TEXT,
    project_url      TEXT,
    source           TEXT NOT NULL,                -- the source that first brought the paper
    content_hash     TEXT NOT NULL,                -- of every field
    text_hash        TEXT NOT NULL,                -- of title + abstract: what embeddings depend on
    change_seq       INTEGER NOT NULL,
    is_deleted       INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    changed_at       TEXT NOT NULL
);
CREATE INDEX papers_day ON papers (day, published_at);
CREATE INDEX papers_live_day ON papers (is_deleted, day);  -- counts and first/last day for stats
CREATE UNIQUE INDEX papers_change_seq ON papers (change_seq);

CREATE TABLE paper_versions (
    paper_id     INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL CHECK (number > 0),
    submitted_at TEXT,
    PRIMARY KEY (paper_id, number)
) WITHOUT ROWID;

CREATE TABLE paper_categories (
    category TEXT NOT NULL,
    paper_id INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    PRIMARY KEY (category, paper_id)
) WITHOUT ROWID;

-- The last record each source sent for a paper: an identical record is skipped
-- without reading the paper back, which is what makes re-ingest cheap.
CREATE TABLE paper_sources (
    arxiv_id    TEXT NOT NULL,
    source      TEXT NOT NULL,
    record_hash TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (arxiv_id, source)
) WITHOUT ROWID;
CREATE INDEX paper_sources_record_hash ON paper_sources (source, record_hash);

CREATE TABLE daily_entries (
    day               TEXT NOT NULL,
    arxiv_id          TEXT NOT NULL,
    source            TEXT NOT NULL,
    upvote_count      INTEGER NOT NULL DEFAULT 0,
    comment_count     INTEGER NOT NULL DEFAULT 0,
    submitted_by      TEXT,
    organization      TEXT,
    github_repo       TEXT,
    github_star_count INTEGER,
    project_url       TEXT,
    thumbnail_url     TEXT,
    ai_summary        TEXT,
    seen_at           TEXT,
    PRIMARY KEY (day, arxiv_id, source)
) WITHOUT ROWID;
CREATE INDEX daily_entries_arxiv_id ON daily_entries (arxiv_id);

CREATE TABLE embeddings (
    paper_id     INTEGER PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
    model        TEXT NOT NULL,
    text_hash    TEXT NOT NULL,                   -- papers.text_hash when it was embedded
    vector       BLOB NOT NULL,                   -- float32, little-endian
    embedded_at  TEXT NOT NULL
);

CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_started ON job_runs (started_at);

-- A lease lets one process at a time run a job; it expires if its holder dies.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
