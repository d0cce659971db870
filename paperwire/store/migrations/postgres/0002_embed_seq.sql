-- A cursor over written vectors, as change_seq is over papers: an in-process
-- vector index follows it (embeddings_changed_since) whichever process wrote them.
-- Writers take nextval() under a transaction-level advisory lock (see postgres.py,
-- put_embeddings), so embed_seq values become visible in increasing order.
CREATE SEQUENCE embeddings_embed_seq AS bigint;
ALTER TABLE embeddings ADD COLUMN embed_seq bigint NOT NULL DEFAULT nextval('embeddings_embed_seq');
ALTER TABLE embeddings ALTER COLUMN embed_seq DROP DEFAULT;
ALTER SEQUENCE embeddings_embed_seq OWNED BY embeddings.embed_seq;
CREATE INDEX embeddings_embed_seq_key ON embeddings (embed_seq);
