-- A cursor over written vectors, as change_seq is over papers: an in-process
-- vector index follows it (embeddings_changed_since) whichever process wrote them.
-- The writer sets it to MAX(embed_seq) + 1 under SQLite's one write lock.
ALTER TABLE embeddings ADD COLUMN embed_seq INTEGER NOT NULL DEFAULT 0;
UPDATE embeddings SET embed_seq = paper_id;
CREATE INDEX embeddings_embed_seq ON embeddings (embed_seq);
