"""The PostgreSQL store: the SQLite store's tables and semantics, shared by many processes.

Every thread (and every forked process) gets its own connection, in autocommit
mode; a write is one explicit transaction. Paper writers are serialised by an
advisory lock so that `change_seq` becomes visible in increasing order (see
`_lock_paper_writes`). Vectors live in a pgvector `vector(384)` column with an
HNSW index, which `nearest` queries. Row encoding and upsert planning are
records.py's, shared with the SQLite engine; this module only runs SQL.
"""

from __future__ import annotations

import os
import struct
import threading
import weakref
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.rows import dict_row
from psycopg.types import TypeInfo

from paperwire.config import redact_url as redact
from paperwire.papers import Paper, Version
from paperwire.store import (
    Change, DailyEntry, JobRun, NotFound, StoreError, StoreStats, UpsertCounts,
)
from paperwire.store.records import (
    PAPER_COLUMNS, as_day, dedupe_batch, paper_from_row, paper_row, plan_upsert,
)
from paperwire.store.records import record_hashes as _record_hashes

MIGRATIONS = Path(__file__).parent / "migrations" / "postgres"
CONNECT_TIMEOUT_SECONDS = 10
EMBEDDING_DIMENSIONS = 384  # all-MiniLM-L6-v2; the column is vector(384)
EF_SEARCH = 100  # HNSW candidates per query (pgvector's default is 40); recall vs latency
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
# Building the HNSW graph is slow once it no longer fits in maintenance_work_mem;
# 75k x 384 needs about 150 MB. Only taken while `bulk_embeddings` builds the index.
BULK_INDEX_MEMORY = "1GB"
# Advisory lock keys: arbitrary, fixed, and used for nothing else in the database.
MIGRATION_LOCK = 7_150_001
PAPER_WRITE_LOCK = 7_150_002
EMBEDDING_WRITE_LOCK = 7_150_003

_PAPER_TYPES = {  # PostgreSQL types of the columns that are not text
    "id": "bigint", "version": "integer", "published_at": "timestamptz", "updated_at": "timestamptz", "day": "date",
    "is_withdrawn": "boolean",
}
_SELECT_PAPER = (
    "SELECT p.id, " + ", ".join(f"p.{c}" for c in PAPER_COLUMNS) + ", p.change_seq, p.is_deleted,"
    " ARRAY(SELECT v.number FROM paper_versions v WHERE v.paper_id = p.id ORDER BY v.number) AS version_numbers,"
    " ARRAY(SELECT v.submitted_at FROM paper_versions v WHERE v.paper_id = p.id ORDER BY v.number)"
    " AS version_times FROM papers p"
)


def _arrays(columns: Iterable[str]) -> str:
    """`unnest(%b::text[], ...) AS u(columns)`: a batch sent as one array per column."""
    names = list(columns)
    casts = ", ".join(f"%b::{_PAPER_TYPES.get(c, 'text')}[]" for c in names)
    return f"unnest({casts}) AS u({', '.join(names)})"


_INSERT_PAPERS = (
    f"INSERT INTO papers ({', '.join(PAPER_COLUMNS)}, change_seq, created_at, changed_at)"
    f" SELECT u.*, nextval('papers_change_seq'), %s, %s FROM {_arrays(PAPER_COLUMNS)}"
    # A paper deleted earlier (a tombstone) comes back to life with the new record.
    " ON CONFLICT (arxiv_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in PAPER_COLUMNS if c != "arxiv_id")
    + ", change_seq = excluded.change_seq, changed_at = excluded.changed_at, is_deleted = false"
    " RETURNING id, arxiv_id"
)
_UPDATE_PAPERS = (
    "UPDATE papers p SET "
    + ", ".join(f"{c} = u.{c}" for c in PAPER_COLUMNS if c != "arxiv_id")
    + f", change_seq = nextval('papers_change_seq'), changed_at = %s FROM {_arrays(['id', *PAPER_COLUMNS])}"
    " WHERE p.id = u.id"
)
_DAILY_COLUMNS = (
    "day", "arxiv_id", "source", "upvote_count", "comment_count", "submitted_by", "organization",
    "github_repo", "github_star_count", "project_url", "thumbnail_url", "ai_summary", "seen_at",
    "organization_name",
)


class PostgresStore:
    """The Store protocol on one PostgreSQL database with pgvector."""

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._connections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # conn -> pid
        self._connections_lock = threading.Lock()
        self._vector_type: TypeInfo | None = None

    @classmethod
    def open(cls, url: str) -> "PostgresStore":
        store = cls(url)
        store.migrate()
        store._vector_type = TypeInfo.fetch(store._db, "vector")
        _register_vector(store._db, store._vector_type)
        return store

    def close(self) -> None:
        with self._connections_lock:
            for conn, pid in list(self._connections.items()):
                if pid == os.getpid():
                    conn.close()
            self._connections = weakref.WeakKeyDictionary()
        self._local = threading.local()

    # connections ------------------------------------------------------------
    @property
    def _db(self) -> psycopg.Connection:
        """This thread's connection. A forked child (uvicorn --workers) must not talk on
        its parent's socket, so a connection is only reused in the process that opened it."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or self._local.pid != os.getpid():
            conn = self._local.conn = self._connect()
            self._local.pid = os.getpid()
        return conn

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(
                self.url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_SECONDS,
            )
        except psycopg.OperationalError as error:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact(self.url)}: {str(error).strip()}; "
                "check DATABASE_URL and that the server is running"
            ) from None
        if self._vector_type is not None:
            _register_vector(conn, self._vector_type)
        with self._connections_lock:
            self._connections[conn] = os.getpid()
        return conn

    @contextmanager
    def _transaction(self):
        db = self._db
        with db.transaction():
            yield db

    def migrate(self) -> list[str]:
        """Apply the numbered migrations this database has not seen; returns their names.

        All in one transaction under an advisory lock, so processes starting together
        wait for the first one instead of racing it.
        """
        applied = []
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
            )
            done = {row["name"] for row in db.execute("SELECT name FROM schema_migrations")}
            for script in sorted(MIGRATIONS.glob("*.sql")):
                if script.name in done:
                    continue
                try:
                    db.execute(script.read_text())  # no parameters: several statements are allowed
                except psycopg.Error as error:
                    hint = (
                        "install pgvector on the server; `CREATE EXTENSION vector` needs a superuser the first time"
                        if "vector" in str(error) else "nothing was changed: fix the cause and start again"
                    )
                    raise StoreError(
                        f"migration {script.name} failed on {redact(self.url)}: {str(error).strip()}; {hint}"
                    ) from None
                db.execute("INSERT INTO schema_migrations VALUES (%s, now())", (script.name,))
                applied.append(script.name)
        return applied

    # papers -----------------------------------------------------------------
    def upsert_papers(
        self, papers: Iterable[Paper], *, source: str, record_hashes: dict[str, str] | None = None
    ) -> UpsertCounts:
        incoming = dedupe_batch(p if p.source == source else replace(p, source=source) for p in papers)
        if not incoming:
            return UpsertCounts()
        hashes = _record_hashes(incoming, record_hashes)
        # The cheap re-ingest path: records this source sent before need no lock.
        seen = self._seen_hashes(self._db, list(hashes), source)
        if all(seen.get(arxiv_id) == h for arxiv_id, h in hashes.items()):
            return UpsertCounts(unchanged_count=len(incoming))
        with self._transaction() as db:
            _lock_paper_writes(db)
            seen = self._seen_hashes(db, list(hashes), source)
            changed_ids = [p.arxiv_id for p in incoming if seen.get(p.arxiv_id) != hashes[p.arxiv_id]]
            plan = plan_upsert(incoming, hashes, seen, self._existing(db, changed_ids))
            now = datetime.now(timezone.utc)
            self._insert(db, plan.inserts, now=now)
            self._update(db, plan.updates, now=now)
            if plan.source_hashes:
                ids, hashes_sent = zip(*plan.source_hashes)
                db.execute(
                    "INSERT INTO paper_sources (arxiv_id, source, record_hash, seen_at)"
                    " SELECT u.arxiv_id, %s, u.record_hash, %s FROM unnest(%b::text[], %b::text[])"
                    " AS u(arxiv_id, record_hash) ON CONFLICT (arxiv_id, source) DO UPDATE"
                    " SET record_hash = excluded.record_hash, seen_at = excluded.seen_at",
                    (source, now, list(ids), list(hashes_sent)),
                )
        return UpsertCounts(len(plan.inserts), len(plan.updates), plan.unchanged_count)

    def seen_records(self, source: str, record_hashes: list[str]) -> set[str]:
        rows = self._db.execute(
            "SELECT record_hash FROM paper_sources WHERE source = %s AND record_hash = ANY(%b::text[])",
            (source, list(record_hashes)),
        )
        return {row["record_hash"] for row in rows}

    @staticmethod
    def _seen_hashes(db, ids: list[str], source: str) -> dict[str, str]:
        rows = db.execute(
            "SELECT arxiv_id, record_hash FROM paper_sources WHERE source = %s AND arxiv_id = ANY(%b::text[])",
            (source, ids),
        )
        return {row["arxiv_id"]: row["record_hash"] for row in rows}

    def _existing(self, db, ids: list[str]) -> dict[str, tuple[int, Paper]]:
        if not ids:
            return {}
        found = self._papers(db, "p.arxiv_id = ANY(%b::text[]) AND NOT p.is_deleted", (ids,))
        return {paper.arxiv_id: (row_id, paper) for row_id, paper in found}

    def _insert(self, db, papers: list[Paper], *, now: datetime) -> None:
        if not papers:
            return
        columns = [list(column) for column in zip(*(paper_row(p) for p in papers))]
        rows = db.execute(_INSERT_PAPERS, (now, now, *columns)).fetchall()
        row_ids = {row["arxiv_id"]: row["id"] for row in rows}
        self._write_children(db, [(row_ids[p.arxiv_id], p) for p in papers])

    def _update(self, db, updates: list[tuple[int, Paper]], *, now: datetime) -> None:
        if not updates:
            return
        columns = [list(column) for column in zip(*((row_id, *paper_row(p)) for row_id, p in updates))]
        db.execute(_UPDATE_PAPERS, (now, *columns))
        row_ids = [row_id for row_id, _ in updates]
        db.execute("DELETE FROM paper_versions WHERE paper_id = ANY(%b::bigint[])", (row_ids,))
        db.execute("DELETE FROM paper_categories WHERE paper_id = ANY(%b::bigint[])", (row_ids,))
        self._write_children(db, updates)

    @staticmethod
    def _write_children(db, papers: list[tuple[int, Paper]]) -> None:
        # Keyed like the primary keys: one statement may not update the same row twice.
        versions = {(row_id, v.number): v.submitted_at for row_id, p in papers for v in p.versions if v.number > 0}
        if versions:
            db.execute(
                "INSERT INTO paper_versions (paper_id, number, submitted_at)"
                " SELECT * FROM unnest(%b::bigint[], %b::integer[], %b::timestamptz[])"
                " ON CONFLICT (paper_id, number) DO UPDATE SET submitted_at = excluded.submitted_at",
                ([k[0] for k in versions], [k[1] for k in versions], list(versions.values())),
            )
        categories = {(c, row_id) for row_id, p in papers for c in p.categories}
        if categories:
            db.execute(
                "INSERT INTO paper_categories (category, paper_id) SELECT * FROM unnest(%b::text[], %b::bigint[])"
                " ON CONFLICT DO NOTHING",
                ([c for c, _ in categories], [row_id for _, row_id in categories]),
            )

    def delete_papers(self, arxiv_ids: Iterable[str], *, source: str) -> int:
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return 0
        with self._transaction() as db:
            _lock_paper_writes(db)
            # Forget what every source sent, so a later identical record revives the paper.
            db.execute("DELETE FROM paper_sources WHERE arxiv_id = ANY(%b::text[])", (ids,))
            rows = db.execute(
                "UPDATE papers SET is_deleted = true, change_seq = nextval('papers_change_seq'), changed_at = %s"
                " WHERE arxiv_id = ANY(%b::text[]) AND NOT is_deleted RETURNING id",
                (datetime.now(timezone.utc), ids),
            ).fetchall()
            row_ids = [row["id"] for row in rows]
            db.execute("DELETE FROM paper_categories WHERE paper_id = ANY(%b::bigint[])", (row_ids,))
            db.execute("DELETE FROM embeddings WHERE paper_id = ANY(%b::bigint[])", (row_ids,))
        return len(row_ids)

    @staticmethod
    def _papers(db, where: str, params, *, order: str = "") -> list[tuple[int, Paper]]:
        rows = db.execute(f"{_SELECT_PAPER} WHERE {where} {order}", params).fetchall()
        return [(row["id"], _paper(row)) for row in rows]

    def get_paper(self, arxiv_id: str) -> Paper:
        found = self._papers(self._db, "p.arxiv_id = %s AND NOT p.is_deleted", (arxiv_id,))
        if not found:
            raise NotFound(f"no paper {arxiv_id!r} in the store")
        return found[0][1]

    def get_papers(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        found = self._papers(self._db, "p.arxiv_id = ANY(%b::text[]) AND NOT p.is_deleted", (list(arxiv_ids),))
        return {paper.arxiv_id: paper for _, paper in found}

    def get_papers_by_row(self, paper_ids: Iterable[int]) -> dict[int, Paper]:
        ids = [int(i) for i in paper_ids]  # numpy ints from the search indexes, too
        return dict(self._papers(self._db, "p.id = ANY(%b::bigint[]) AND NOT p.is_deleted", (ids,)))

    def paper_ids(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT arxiv_id, id FROM papers WHERE arxiv_id = ANY(%b::text[]) AND NOT is_deleted", (list(arxiv_ids),)
        )
        return {row["arxiv_id"]: row["id"] for row in rows}

    def papers_on_day(self, day: date, *, limit: int = 200, offset: int = 0) -> list[Paper]:
        return [p for _, p in self._papers(
            self._db, "p.day = %s AND NOT p.is_deleted", (day, limit, offset),
            order="ORDER BY p.published_at DESC, p.arxiv_id LIMIT %s OFFSET %s",
        )]

    def count_papers_on_day(self, day: date) -> int:
        return self._value("SELECT COUNT(*) FROM papers WHERE day = %s AND NOT is_deleted", (day,))

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        before = self._value(
            "SELECT GREATEST((SELECT MAX(day) FROM papers WHERE day < %s AND NOT is_deleted),"
            " (SELECT MAX(day) FROM daily_entries WHERE day < %s))", (day, day),
        )
        after = self._value(
            "SELECT LEAST((SELECT MIN(day) FROM papers WHERE day > %s AND NOT is_deleted),"
            " (SELECT MIN(day) FROM daily_entries WHERE day > %s))", (day, day),
        )
        return before, after

    def latest_day(self) -> date | None:
        return self._value(
            "SELECT GREATEST((SELECT MAX(day) FROM papers WHERE NOT is_deleted),"
            " (SELECT MAX(day) FROM daily_entries))"
        )

    def iter_papers(self, *, batch_size: int = 1000) -> Iterator[Paper]:
        last = ""
        while True:
            page = self._papers(
                self._db, "p.arxiv_id > %s AND NOT p.is_deleted", (last, batch_size),
                order="ORDER BY p.arxiv_id LIMIT %s",
            )
            if not page:
                return
            for _, paper in page:
                yield paper
            last = page[-1][1].arxiv_id

    def changes_since(self, change_seq: int, *, limit: int = 10_000) -> list[Change]:
        rows = self._db.execute(
            f"{_SELECT_PAPER} WHERE p.change_seq > %s ORDER BY p.change_seq LIMIT %s", (change_seq, limit)
        ).fetchall()
        return [
            Change(row["change_seq"], row["id"], row["arxiv_id"], None if row["is_deleted"] else _paper(row))
            for row in rows
        ]

    def last_change_seq(self) -> int:
        return self._value("SELECT COALESCE(MAX(change_seq), 0) FROM papers")

    def stats(self) -> StoreStats:
        db = self._db
        row = db.execute(
            "SELECT COUNT(*) FILTER (WHERE NOT is_deleted) AS live, COUNT(*) FILTER (WHERE is_deleted) AS deleted,"
            " MIN(day) FILTER (WHERE NOT is_deleted) AS first, MAX(day) FILTER (WHERE NOT is_deleted) AS last"
            " FROM papers"
        ).fetchone()
        categories = db.execute("SELECT category, COUNT(*) AS n FROM paper_categories GROUP BY category")
        return StoreStats(
            paper_count=row["live"],
            deleted_count=row["deleted"],
            daily_entry_count=self._value("SELECT COUNT(*) FROM daily_entries"),
            embedded_count=self._value("SELECT COUNT(*) FROM embeddings"),
            first_day=row["first"],
            last_day=row["last"],
            category_counts={r["category"]: r["n"] for r in categories},
        )

    def _value(self, query: str, params=()):
        """The first column of the first row of `query`."""
        row = self._db.execute(query, params).fetchone()
        return next(iter(row.values()))

    # embeddings -------------------------------------------------------------
    def papers_to_embed(self, model: str, *, limit: int = 256) -> list[tuple[int, Paper]]:
        return self._papers(
            self._db,
            "NOT p.is_deleted AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.paper_id = p.id"
            " AND e.model = %s AND e.text_hash = p.text_hash)",
            (model, limit),
            order="ORDER BY p.id LIMIT %s",
        )

    def put_embeddings(self, model: str, rows: Iterable[tuple[int, str, np.ndarray]]) -> int:
        rows = list(rows)
        if not rows:
            return 0
        for paper_id, _, vector in rows:
            if np.size(vector) != EMBEDDING_DIMENSIONS:
                raise StoreError(
                    f"the vector for paper row {paper_id} has {np.size(vector)} dimensions; the PostgreSQL "
                    f"store holds {EMBEDDING_DIMENSIONS} (all-MiniLM-L6-v2): embed with that model"
                )
        with self._transaction() as db:
            # As for change_seq (_lock_paper_writes): writers one at a time, so embed_seq
            # values become visible in increasing order to embeddings_changed_since.
            db.execute("SELECT pg_advisory_xact_lock(%s)", (EMBEDDING_WRITE_LOCK,))
            return db.execute(
                "INSERT INTO embeddings (paper_id, model, text_hash, vector, embedded_at, embed_seq)"
                " SELECT u.paper_id, %s, u.text_hash, u.vector, %s, nextval('embeddings_embed_seq')"
                " FROM unnest(%b::bigint[], %b::text[], %b)"
                " AS u(paper_id, text_hash, vector) JOIN papers p ON p.id = u.paper_id"
                " AND p.text_hash = u.text_hash AND NOT p.is_deleted"
                " ON CONFLICT (paper_id) DO UPDATE SET model = excluded.model, text_hash = excluded.text_hash,"
                " vector = excluded.vector, embedded_at = excluded.embedded_at, embed_seq = excluded.embed_seq",
                (
                    model, datetime.now(timezone.utc), [int(r[0]) for r in rows], [r[1] for r in rows],
                    [np.asarray(r[2], dtype=np.float32) for r in rows],
                ),
            ).rowcount

    @contextmanager
    def bulk_embeddings(self):
        """Load many vectors in one transaction with the HNSW index dropped, then build it
        in one go: 3-5x faster than growing it row by row (70-100 s instead of ~6 min for
        75k vectors on 2 cores). Holds an exclusive lock on the embeddings table until it
        ends, so it is for loading a new store (`paperwire db copy`); on an error nothing
        of it stays and the index is back as it was."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND indexname = 'embeddings_vector'"
            ).fetchone()
            if row is not None:
                db.execute("DROP INDEX embeddings_vector")
            yield
            if row is not None:
                db.execute("SELECT set_config('maintenance_work_mem', %s, true)", (BULK_INDEX_MEMORY,))
                db.execute(row["indexdef"])

    def iter_embeddings(self, model: str, *, batch_size: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self._db.execute(
                "SELECT paper_id, vector FROM embeddings WHERE model = %s AND paper_id > %s"
                " ORDER BY paper_id LIMIT %s",
                (model, last, batch_size), binary=True,
            ).fetchall()
            if not rows:
                return
            ids, vectors = _vector_rows(rows)
            yield ids, vectors
            last = int(ids[-1])

    def embedding_count(self, model: str) -> int:
        return self._value("SELECT COUNT(*) FROM embeddings WHERE model = %s", (model,))

    def last_embed_seq(self) -> int:
        return self._value("SELECT COALESCE(MAX(embed_seq), 0) FROM embeddings")

    def embeddings_changed_since(
        self, model: str, embed_seq: int, *, limit: int = 10_000
    ) -> tuple[np.ndarray, np.ndarray, int]:
        rows = self._db.execute(
            "SELECT paper_id, vector, embed_seq FROM embeddings WHERE embed_seq > %s AND model = %s"
            " ORDER BY embed_seq LIMIT %s",
            (embed_seq, model, limit), binary=True,
        ).fetchall()
        ids, vectors = _vector_rows(rows)
        return ids, vectors, rows[-1]["embed_seq"] if rows else embed_seq

    def get_embeddings(self, model: str, paper_ids: Iterable[int]) -> dict[int, np.ndarray]:
        rows = self._db.execute(
            "SELECT paper_id, vector FROM embeddings WHERE model = %s AND paper_id = ANY(%b::bigint[])",
            (model, [int(i) for i in paper_ids]), binary=True,
        ).fetchall()
        return {row["paper_id"]: row["vector"] for row in rows}

    def embedding_models(self) -> list[str]:
        return [row["model"] for row in self._db.execute("SELECT DISTINCT model FROM embeddings ORDER BY model")]

    def nearest(
        self, model: str, vector: np.ndarray, k: int, *, ef_search: int = EF_SEARCH
    ) -> list[tuple[int, float]]:
        """The `k` papers whose vectors are closest to `vector` by cosine, as (paper row id,
        cosine similarity), most similar first; approximate (pgvector HNSW) on large tables.

        `ef_search` trades recall for speed; it is raised to `k` so the index can return k rows.
        Papers of other models are filtered after the index scan, so keep one model per store.
        """
        query = np.asarray(vector, dtype=np.float32)
        with self._transaction() as db:
            db.execute(
                "SELECT set_config('hnsw.ef_search', %s, true)", (str(min(max(ef_search, k), MAX_EF_SEARCH)),)
            )
            rows = db.execute(
                "SELECT paper_id, 1 - (vector <=> %(q)b) AS score FROM embeddings WHERE model = %(model)s"
                " ORDER BY vector <=> %(q)b LIMIT %(k)s",
                {"q": query, "model": model, "k": k},
            ).fetchall()
        return [(row["paper_id"], float(row["score"])) for row in rows]

    # daily lists ------------------------------------------------------------
    def upsert_daily_entries(self, entries: Iterable[DailyEntry]) -> UpsertCounts:
        values = [_daily_values(e) for e in entries]
        counts = UpsertCounts()
        if not values:
            return counts
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {', '.join(_DAILY_COLUMNS)} FROM daily_entries JOIN unnest(%b::date[], %b::text[],"
                " %b::text[]) AS u(day, arxiv_id, source) USING (day, arxiv_id, source)",
                ([v[0] for v in values], [v[1] for v in values], [v[2] for v in values]),
            )
            held = {tuple(row.values())[:3]: tuple(row.values()) for row in rows}
            changed = {}
            for value in values:
                before = held.get(value[:3])
                if before is not None and before[:12] == value[:12]:
                    counts.unchanged_count += 1
                    continue
                if before is None:
                    counts.new_count += 1
                else:
                    counts.updated_count += 1
                held[value[:3]] = changed[value[:3]] = value
            if not changed:
                return counts
            db.cursor().executemany(
                f"INSERT INTO daily_entries ({', '.join(_DAILY_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_DAILY_COLUMNS))})"
                " ON CONFLICT (day, arxiv_id, source) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _DAILY_COLUMNS[3:]),
                list(changed.values()),
            )
        return counts

    def daily_entries(self, day: date) -> list[DailyEntry]:
        rows = self._db.execute(
            "SELECT * FROM daily_entries WHERE day = %s ORDER BY upvote_count DESC, arxiv_id", (day,)
        )
        return [_daily_entry(row) for row in rows]

    def daily_entries_for(self, arxiv_id: str) -> list[DailyEntry]:
        rows = self._db.execute("SELECT * FROM daily_entries WHERE arxiv_id = %s ORDER BY day DESC", (arxiv_id,))
        return [_daily_entry(row) for row in rows]

    # checkpoints and job runs ---------------------------------------------
    def get_checkpoint(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM checkpoints WHERE name = %s", (name,)).fetchone()
        return row["value"] if row else None

    def set_checkpoint(self, name: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM checkpoints WHERE name = %s", (name,))
            return
        self._db.execute(
            "INSERT INTO checkpoints (name, value, updated_at) VALUES (%s, %s, now())"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (name, value),
        )

    def checkpoints(self) -> dict[str, str]:
        rows = self._db.execute("SELECT name, value FROM checkpoints ORDER BY name")
        return {row["name"]: row["value"] for row in rows}

    def start_job_run(self, job: str, *, now: datetime) -> int:
        return self._value(
            "INSERT INTO job_runs (job, started_at, status) VALUES (%s, %s, 'running') RETURNING id", (job, now)
        )

    def finish_job_run(self, run_id: int, *, status: str, summary: str, now: datetime) -> None:
        self._db.execute(
            "UPDATE job_runs SET status = %s, summary = %s, finished_at = %s WHERE id = %s",
            (status, summary, now, run_id),
        )

    def abandon_job_runs(self, job_prefix: str, *, now: datetime) -> int:
        return self._db.execute(
            "UPDATE job_runs SET status = 'failed', finished_at = %s,"
            " summary = 'interrupted: the process running it stopped' WHERE status = 'running'"
            " AND left(job, %s) = %s",
            (now, len(job_prefix), job_prefix),
        ).rowcount

    def recent_job_runs(self, *, limit: int = 20) -> list[JobRun]:
        rows = self._db.execute("SELECT * FROM job_runs ORDER BY started_at DESC, id DESC LIMIT %s", (limit,))
        return [
            JobRun(
                job=row["job"], started_at=_utc(row["started_at"]), finished_at=_utc(row["finished_at"]),
                status=row["status"], summary=row["summary"], id=row["id"],
            )
            for row in rows
        ]

    # leases -----------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        # Two acquirers of a free lease conflict on the primary key; the loser re-checks
        # the WHERE against the winner's row and gets no row back.
        return self._db.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= %s RETURNING name",
            (name, holder, now + timedelta(seconds=ttl_seconds), now),
        ).fetchone() is not None

    def renew_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        return self._db.execute(
            "UPDATE leases SET expires_at = %s WHERE name = %s AND holder = %s",
            (now + timedelta(seconds=ttl_seconds), name, holder),
        ).rowcount == 1

    def release_lease(self, name: str, holder: str) -> bool:
        return self._db.execute(
            "DELETE FROM leases WHERE name = %s AND holder = %s", (name, holder)
        ).rowcount == 1


def _lock_paper_writes(db) -> None:
    """Serialise the transactions that write papers, until they commit.

    A reader follows the change log with `changes_since(last_seen)`, so change_seq
    values must become visible in increasing order. A SEQUENCE alone does not
    promise that: A takes 5, B takes 6, B commits, a reader sees 6, then A commits
    5 and the reader never asks for it. So every paper writer takes this
    transaction-level advisory lock before it reads what it will merge, and keeps
    it to COMMIT; PostgreSQL releases a transaction's locks only after its commit
    is visible, so the next writer's seqs are both larger and visible later. The
    same lock makes an upsert's read-merge-write atomic: two processes merging one
    paper cannot lose a version. Readers never wait for it. The cost is that paper
    writes are serial across processes, as SQLite's are; we chose that over
    assigning seqs at commit time, which PostgreSQL has no hook for.
    """
    db.execute("SELECT pg_advisory_xact_lock(%s)", (PAPER_WRITE_LOCK,))


def _paper(row) -> Paper:
    times = row["version_times"]
    versions = tuple(Version(n, _utc(t)) for n, t in zip(row["version_numbers"], times))
    return paper_from_row(row, versions)


def _vector_rows(rows) -> tuple[np.ndarray, np.ndarray]:
    """(paper ids, float32 matrix) from rows with paper_id and vector."""
    ids = np.fromiter((r["paper_id"] for r in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return ids, np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
    return ids, np.stack([r["vector"] for r in rows])


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if value else None


def _daily_values(entry: DailyEntry) -> tuple:
    return (
        entry.day, entry.arxiv_id, entry.source, entry.upvote_count, entry.comment_count,
        entry.submitted_by, entry.organization, entry.github_repo, entry.github_star_count,
        entry.project_url, entry.thumbnail_url, entry.ai_summary, entry.seen_at,
        entry.organization_name,
    )


def _daily_entry(row) -> DailyEntry:
    return DailyEntry(**{**row, "day": as_day(row["day"]), "seen_at": _utc(row["seen_at"])})


# pgvector's binary format: dimensions and a reserved word (uint16 each), then
# float32 values, all big-endian (pgvector src/vector.c, vector_send/vector_recv).
class _VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj) -> bytes:
        vector = np.asarray(obj, dtype=">f4").ravel()
        return struct.pack(">HH", vector.size, 0) + vector.tobytes()


class _VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data) -> np.ndarray:
        dimensions = struct.unpack_from(">H", data)[0]
        return np.frombuffer(data, dtype=">f4", count=dimensions, offset=4).astype(np.float32)


class _VectorTextLoader(Loader):
    def load(self, data) -> np.ndarray:
        return np.array(bytes(data)[1:-1].split(b","), dtype=np.float32)


def _register_vector(conn: psycopg.Connection, info: TypeInfo) -> None:
    """Send numpy arrays as pgvector `vector` values and read them back as float32 arrays."""
    info.register(conn)
    conn.adapters.register_dumper(np.ndarray, type("VectorDumper", (_VectorDumper,), {"oid": info.oid}))
    conn.adapters.register_loader(info.oid, _VectorBinaryLoader)
    conn.adapters.register_loader(info.oid, _VectorTextLoader)
