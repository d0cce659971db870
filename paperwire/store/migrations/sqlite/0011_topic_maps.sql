-- Topic maps made ahead by the maps job and shared by every web process (topicmap.py):
-- a period's map, the fingerprint of the papers and vectors it was made from, and the
-- map itself as JSON.
CREATE TABLE topic_maps (
    period      TEXT PRIMARY KEY,                -- 'day:2026-12-01', 'week:2026-W49', 'month:2026-12'
    fingerprint TEXT NOT NULL,                   -- store/maps.py `papers_fingerprint` when it was made
    body        TEXT NOT NULL,
    made_at     TEXT NOT NULL
);
