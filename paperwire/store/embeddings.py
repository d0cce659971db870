"""Vectors in the store: one embedding per paper and model, and the cursor that follows them.

Every written vector takes a new, increasing `embed_seq`, as every paper change
takes a change_seq, so an in-process vector index can follow the vectors
whichever process wrote them. The vectors' encoding, and nearest-neighbour
search in the database (pgvector only), are the engine's.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Iterable, Iterator

import numpy as np

from paperwire.papers import Paper
from paperwire.store.papers import select_papers
from paperwire.store.sql import Engine, Many, scalar

EF_SEARCH = 100  # HNSW candidates per query (pgvector's default is 40); recall vs latency
_COLUMNS = ("paper_id", "model", "text_hash", "vector", "embedded_at", "embed_seq")
# A vector whose paper changed (text_hash differs now) or was deleted meanwhile is dropped.
_CURRENT = (
    "EXISTS (SELECT 1 FROM papers p WHERE p.id = u.paper_id AND p.text_hash = u.text_hash AND NOT p.is_deleted)"
)
_REPLACE = "ON CONFLICT (paper_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])


class EmbeddingTables:
    """The store's vector methods; `engine` is the Engine the Store holds."""

    engine: Engine

    def papers_to_embed(self, model: str, *, limit: int = 256) -> list[tuple[int, Paper]]:
        """Live papers with no vector for `model`, or whose title/abstract changed since; (row id, paper)."""
        return select_papers(
            self.engine, self.engine.read(),
            "{live} AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.paper_id = papers.id"
            " AND e.model = ? AND e.text_hash = papers.text_hash)",
            (model, limit),
            order="ORDER BY id LIMIT ?",
        )

    def put_embeddings(self, model: str, rows: Iterable[tuple[int, str, np.ndarray]]) -> int:
        """Save (paper row id, text_hash it was computed from, float32 vector); returns rows written.

        A vector whose paper changed (text_hash differs now) or was deleted meanwhile is
        dropped. The vectors take embed_seq values in the order given.
        """
        engine = self.engine
        given = [(int(paper_id), text_hash, engine.vector(vector, paper_id=paper_id))
                 for paper_id, text_hash, vector in rows]
        if not given:
            return 0
        now = engine.time(datetime.now(timezone.utc))
        with engine.write("embeddings") as db:
            seqs = engine.next_seqs(db, "embeddings", "embed_seq", len(given))
            return engine.insert_rows(
                db, "embeddings", _COLUMNS,
                [(paper_id, model, text_hash, vector, now, seq) for (paper_id, text_hash, vector), seq in zip(given, seqs)],
                where=_CURRENT, conflict=_REPLACE,
            )

    def bulk_embeddings(self) -> AbstractContextManager[None]:
        """A block in which many `put_embeddings` calls load faster, for filling a new store
        (`paperwire db copy`). On PostgreSQL it defers the HNSW index to the end and locks
        the embeddings table meanwhile; on SQLite it changes nothing."""
        return self.engine.bulk_embeddings()

    def nearest(self, model: str, vector: np.ndarray, k: int, *, ef_search: int = EF_SEARCH) -> list[tuple[int, float]]:
        """The `k` papers whose vectors are closest to `vector` by cosine, as (paper row id,
        cosine similarity), most similar first; approximate (pgvector HNSW) on large tables.

        `ef_search` trades recall for speed; it is raised to `k` so the index can return k rows.
        Papers of other models are filtered after the index scan, so keep one model per store.
        PostgreSQL only: raises StoreError on SQLite, whose vectors the in-process index searches.
        """
        return self.engine.nearest(model, vector, k, ef_search=ef_search)

    def iter_embeddings(self, model: str, *, batch_size: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All vectors of `model` as (int64 paper ids, float32 matrix) chunks, in paper id order."""
        last = -1
        while True:
            rows = self.engine.read().rows(
                "SELECT paper_id, vector FROM embeddings WHERE model = ? AND paper_id > ?"
                " ORDER BY paper_id LIMIT ?",
                (model, last, batch_size),
            )
            if not rows:
                return
            ids, vectors = self._matrix(rows)
            yield ids, vectors
            last = int(ids[-1])

    def embedding_count(self, model: str) -> int:
        """How many vectors of `model` the store holds, current or not."""
        return scalar(self.engine.read(), "SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,))

    def last_embed_seq(self) -> int:
        """The `embed_seq` of the last vector written, of any model; 0 when there is none."""
        return scalar(self.engine.read(), "SELECT COALESCE(MAX(embed_seq), 0) FROM embeddings")

    def embeddings_changed_since(
        self, model: str, embed_seq: int, *, limit: int = 10_000
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Vectors of `model` written after `embed_seq`, oldest first (at most `limit`), as
        (int64 paper ids, float32 matrix, embed_seq of the last one). With nothing new the
        ids are empty and the seq is `embed_seq`. Vectors removed with their paper do not
        appear: the change log says the paper was deleted."""
        rows = self.engine.read().rows(
            "SELECT paper_id, vector, embed_seq FROM embeddings WHERE embed_seq > ? AND model = ?"
            " ORDER BY embed_seq LIMIT ?",
            (embed_seq, model, limit),
        )
        ids, vectors = self._matrix(rows)
        return ids, vectors, rows[-1]["embed_seq"] if rows else embed_seq

    def get_embeddings(self, model: str, paper_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The vectors of `model` that exist for these paper row ids, keyed by row id."""
        rows = self.engine.read().rows(
            "SELECT paper_id, vector FROM embeddings WHERE model = ? AND paper_id IN ?",
            (model, Many([int(i) for i in paper_ids], "int8")),
        )
        ids, vectors = self._matrix(rows)
        return dict(zip(ids.tolist(), vectors))

    def embedding_models(self) -> list[str]:
        """The models that have vectors in the store, sorted."""
        rows = self.engine.read().rows("SELECT DISTINCT model FROM embeddings ORDER BY model")
        return [row["model"] for row in rows]

    def _matrix(self, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(int64 paper ids, float32 matrix) from rows with paper_id and vector."""
        ids = np.fromiter((row["paper_id"] for row in rows), dtype=np.int64, count=len(rows))
        return ids, self.engine.vectors([row["vector"] for row in rows])
