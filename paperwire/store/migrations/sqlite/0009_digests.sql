-- Issue #12: email digests. Subscribers (double opt-in), their subscription, saved
-- searches, the outbox that makes each (subscriber, period) digest go out once, and
-- the papers each subscriber received (docs/digests.md, "Tables" and "Exactly once").
-- Times are ISO-8601 UTC text, booleans 0/1.

CREATE TABLE subscribers (
    id                 INTEGER PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE,      -- as mail.parse_address normalises it
    user_id            INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at         TEXT NOT NULL,
    confirmed_at       TEXT,
    confirm_sent_at    TEXT,                      -- the last confirmation mail: one per 10 minutes
    unsubscribed_at    TEXT,
    unsubscribe_reason TEXT,                      -- one-click, link, settings, bounced
    bounce_count       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX subscribers_user ON subscribers (user_id);

CREATE TABLE subscriptions (
    subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
    frequency     TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    send_time     TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    weekday       INTEGER NOT NULL DEFAULT 0,
    paper_count   INTEGER NOT NULL,
    includes      TEXT NOT NULL,                  -- JSON list of digest.REASONS
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE saved_searches (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    query        TEXT NOT NULL,                   -- the search page's query string, filters included
    mode         TEXT NOT NULL DEFAULT 'hybrid',
    is_in_digest INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);
CREATE INDEX saved_searches_user ON saved_searches (user_id);

CREATE TABLE digest_outbox (
    id                 INTEGER PRIMARY KEY,
    subscriber_id      INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    period             TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('skipped', 'queued', 'sending', 'accepting',
                                                      'sent', 'failed-temporary', 'failed-permanent')),
    skip_reason        TEXT,
    message_id         TEXT,
    message            BLOB,
    paper_count        INTEGER NOT NULL DEFAULT 0,
    attempt_count      INTEGER NOT NULL DEFAULT 0,
    claim              INTEGER NOT NULL DEFAULT 0,
    lease_until        TEXT,
    next_attempt_at    TEXT,
    is_acceptance_seen INTEGER,
    last_code          INTEGER,
    last_detail        TEXT,
    queued_at          TEXT NOT NULL,
    sent_at            TEXT,
    run_id             INTEGER,
    UNIQUE (subscriber_id, period)
);
CREATE INDEX digest_outbox_due ON digest_outbox (state, next_attempt_at);

CREATE TABLE digest_papers (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    arxiv_id      TEXT NOT NULL,
    outbox_id     INTEGER NOT NULL REFERENCES digest_outbox (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, arxiv_id)
) WITHOUT ROWID;
CREATE INDEX digest_papers_outbox ON digest_papers (outbox_id);
