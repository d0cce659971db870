"""The SQLite store, paperwire's embedded default: one file, zero set-up.

WAL mode lets readers run while one writer writes. Writes go through a single
connection behind a lock, each in a `BEGIN IMMEDIATE` transaction; reads use
one read-only connection per thread, so the web server's worker threads never
block each other or the writer (the layout of datasette's database.py).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urlparse

import numpy as np

from paperwire.papers import Paper, Version
from paperwire.store import (
    Change, DailyEntry, JobRun, NotFound, StoreError, StoreStats, UpsertCounts,
)
from paperwire.store.records import (
    PAPER_COLUMNS, as_day, dedupe_batch, iso, paper_from_row, paper_row, plan_upsert,
)
from paperwire.store.records import record_hashes as _record_hashes

MIGRATIONS = Path(__file__).parent / "migrations" / "sqlite"
BUSY_TIMEOUT_SECONDS = 30
CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit

_SELECT_PAPER = "SELECT id, " + ", ".join(PAPER_COLUMNS) + " FROM papers"
# "Live papers" where rows are picked by id or arXiv id: the unary + keeps SQLite from
# answering by the (is_deleted, day) index, which reads every live paper. Without it,
# 20 papers by row id took 8 ms instead of 0.07 ms at 75k papers, and 500 by arXiv id
# (upserts, paper_ids) 0.9 s instead of 1 ms at 500k, which made ingest quadratic
# (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_).
_LIVE = "+is_deleted = 0"


def path_from_url(url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////abs/path.db` to a path; raises StoreError."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or not parsed.path or parsed.path == "/":
        raise StoreError(f"DATABASE_URL {url!r} names no file; use sqlite:///path/to/paperwire.db")
    # sqlite:///x.db has path "/x.db" (relative); sqlite:////abs/x.db has "//abs/x.db".
    return Path(unquote(parsed.path)[1:])


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class SQLiteStore:
    """The Store protocol on one SQLite file."""

    def __init__(self, url: str, path: Path):
        self.url = url
        self.path = path
        self._write_lock = threading.Lock()
        self._writer = self._connect(readonly=False)
        self._local = threading.local()

    @classmethod
    def open(cls, url: str) -> "SQLiteStore":
        path = path_from_url(url)
        if path.parent and not path.parent.exists():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
        store = cls(url, path)
        store.migrate()
        return store

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                    check_same_thread=False,
                )
            else:
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe in WAL
                conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as error:
            raise StoreError(f"cannot open SQLite store {self.path}: {error}") from None
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        return conn

    def close(self) -> None:
        self._writer.close()
        reader = getattr(self._local, "reader", None)
        if reader is not None:
            reader.close()
            self._local.reader = None

    # connections ------------------------------------------------------------
    @property
    def _reader(self) -> sqlite3.Connection:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = self._connect(readonly=True)
        return reader

    @contextmanager
    def _write(self):
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def migrate(self) -> None:
        """Apply the numbered migrations that this file has not seen yet."""
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
            for script in sorted(MIGRATIONS.glob("*.sql")):
                if script.name in done:
                    continue
                for statement in _statements(script.read_text()):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (script.name, _now()))

    # papers -----------------------------------------------------------------
    def upsert_papers(
        self, papers: Iterable[Paper], *, source: str, record_hashes: dict[str, str] | None = None
    ) -> UpsertCounts:
        incoming = dedupe_batch(p if p.source == source else replace(p, source=source) for p in papers)
        if not incoming:
            return UpsertCounts()
        hashes = _record_hashes(incoming, record_hashes)
        with self._write() as db:
            seen = self._seen_hashes(db, list(hashes), source)
            changed_ids = [p.arxiv_id for p in incoming if seen.get(p.arxiv_id) != hashes[p.arxiv_id]]
            existing = self._existing(db, changed_ids)
            plan = plan_upsert(incoming, hashes, seen, existing)
            seq = self._next_seq(db)
            now = _now()
            for paper in plan.inserts:
                seq += 1
                self._insert(db, paper, source=source, seq=seq, now=now)
            for row_id, paper in plan.updates:
                seq += 1
                self._update(db, row_id, paper, seq=seq, now=now)
            db.executemany(
                "INSERT INTO paper_sources (arxiv_id, source, record_hash, seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (arxiv_id, source) DO UPDATE SET record_hash = excluded.record_hash,"
                " seen_at = excluded.seen_at",
                [(arxiv_id, source, h, now) for arxiv_id, h in plan.source_hashes],
            )
        return UpsertCounts(len(plan.inserts), len(plan.updates), plan.unchanged_count)

    def seen_records(self, source: str, record_hashes: list[str]) -> set[str]:
        seen: set[str] = set()
        for chunk in _chunks(record_hashes):
            marks = ",".join("?" * len(chunk))
            seen.update(row[0] for row in self._reader.execute(
                f"SELECT record_hash FROM paper_sources WHERE source = ? AND record_hash IN ({marks})",
                (source, *chunk),
            ))
        return seen

    def _seen_hashes(self, db, ids: list[str], source: str) -> dict[str, str]:
        seen = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT arxiv_id, record_hash FROM paper_sources WHERE source = ? AND arxiv_id IN ({marks})",
                (source, *chunk),
            )
            seen.update(rows.fetchall())
        return seen

    def _existing(self, db, ids: list[str]) -> dict[str, tuple[int, Paper]]:
        rows = []
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows.extend(db.execute(
                f"{_SELECT_PAPER} WHERE arxiv_id IN ({marks}) AND {_LIVE}", chunk
            ).fetchall())
        versions = self._versions(db, [row["id"] for row in rows])
        return {row["arxiv_id"]: (row["id"], paper_from_row(row, versions.get(row["id"], ()))) for row in rows}

    def _versions(self, db, row_ids: list[int]) -> dict[int, tuple[Version, ...]]:
        found: dict[int, list[Version]] = {}
        for chunk in _chunks(row_ids):
            marks = ",".join("?" * len(chunk))
            for paper_id, number, submitted_at in db.execute(
                f"SELECT paper_id, number, submitted_at FROM paper_versions WHERE paper_id IN ({marks})"
                " ORDER BY paper_id, number",
                chunk,
            ):
                found.setdefault(paper_id, []).append(
                    Version(number, datetime.fromisoformat(submitted_at) if submitted_at else None)
                )
        return {k: tuple(v) for k, v in found.items()}

    @staticmethod
    def _next_seq(db) -> int:
        return db.execute("SELECT COALESCE(MAX(change_seq), 0) FROM papers").fetchone()[0]

    def _insert(self, db, paper: Paper, *, source: str, seq: int, now: str) -> None:
        row = paper_row(paper)
        columns = ", ".join(PAPER_COLUMNS)
        marks = ", ".join("?" * len(PAPER_COLUMNS))
        # A paper deleted earlier (a tombstone) comes back to life with the new record.
        updates = ", ".join(f"{c} = excluded.{c}" for c in PAPER_COLUMNS if c != "arxiv_id")
        row_id = db.execute(
            f"INSERT INTO papers ({columns}, change_seq, created_at, changed_at, is_deleted)"
            f" VALUES ({marks}, ?, ?, ?, 0) ON CONFLICT (arxiv_id) DO UPDATE SET {updates},"
            " change_seq = excluded.change_seq, changed_at = excluded.changed_at, is_deleted = 0"
            " RETURNING id",
            (*row, seq, now, now),
        ).fetchone()[0]
        self._write_children(db, row_id, paper)

    def _update(self, db, row_id: int, paper: Paper, *, seq: int, now: str) -> None:
        assignments = ", ".join(f"{c} = ?" for c in PAPER_COLUMNS if c != "arxiv_id")
        db.execute(
            f"UPDATE papers SET {assignments}, change_seq = ?, changed_at = ? WHERE id = ?",
            (*paper_row(paper)[1:], seq, now, row_id),
        )
        db.execute("DELETE FROM paper_versions WHERE paper_id = ?", (row_id,))
        db.execute("DELETE FROM paper_categories WHERE paper_id = ?", (row_id,))
        self._write_children(db, row_id, paper)

    @staticmethod
    def _write_children(db, row_id: int, paper: Paper) -> None:
        if paper.versions:
            db.executemany(
                "INSERT OR REPLACE INTO paper_versions (paper_id, number, submitted_at) VALUES (?, ?, ?)",
                [(row_id, v.number, iso(v.submitted_at)) for v in paper.versions if v.number > 0],
            )
        if paper.categories:
            db.executemany(
                "INSERT OR IGNORE INTO paper_categories (category, paper_id) VALUES (?, ?)",
                [(c, row_id) for c in paper.categories],
            )

    def delete_papers(self, arxiv_ids: Iterable[str], *, source: str) -> int:
        ids = list(dict.fromkeys(arxiv_ids))
        changed = 0
        with self._write() as db:
            seq = self._next_seq(db)
            now = _now()
            for arxiv_id in ids:
                row = db.execute(
                    f"SELECT id FROM papers WHERE arxiv_id = ? AND {_LIVE}", (arxiv_id,)
                ).fetchone()
                # Forget what every source sent, so a later identical record revives the paper.
                db.execute("DELETE FROM paper_sources WHERE arxiv_id = ?", (arxiv_id,))
                if row is None:
                    continue
                seq += 1
                db.execute(
                    "UPDATE papers SET is_deleted = 1, change_seq = ?, changed_at = ? WHERE id = ?",
                    (seq, now, row[0]),
                )
                db.execute("DELETE FROM paper_categories WHERE paper_id = ?", (row[0],))
                db.execute("DELETE FROM embeddings WHERE paper_id = ?", (row[0],))
                changed += 1
        return changed

    def _papers(self, where: str, params, *, order: str = "") -> list[tuple[int, Paper]]:
        db = self._reader
        rows = db.execute(f"{_SELECT_PAPER} WHERE {where} {order}", params).fetchall()
        versions = self._versions(db, [row["id"] for row in rows])
        return [(row["id"], paper_from_row(row, versions.get(row["id"], ()))) for row in rows]

    def get_paper(self, arxiv_id: str) -> Paper:
        found = self._papers(f"arxiv_id = ? AND {_LIVE}", (arxiv_id,))
        if not found:
            raise NotFound(f"no paper {arxiv_id!r} in the store")
        return found[0][1]

    def get_papers(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        out: dict[str, Paper] = {}
        for chunk in _chunks(list(arxiv_ids)):
            marks = ",".join("?" * len(chunk))
            out.update((p.arxiv_id, p) for _, p in self._papers(f"arxiv_id IN ({marks}) AND {_LIVE}", chunk))
        return out

    def get_papers_by_row(self, paper_ids: Iterable[int]) -> dict[int, Paper]:
        out: dict[int, Paper] = {}
        for chunk in _chunks(list(paper_ids)):
            marks = ",".join("?" * len(chunk))
            out.update(self._papers(f"id IN ({marks}) AND {_LIVE}", chunk))
        return out

    def paper_ids(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(list(arxiv_ids)):
            marks = ",".join("?" * len(chunk))
            out.update(self._reader.execute(
                f"SELECT arxiv_id, id FROM papers WHERE arxiv_id IN ({marks}) AND {_LIVE}", chunk
            ).fetchall())
        return out

    def papers_on_day(self, day: date, *, limit: int = 200, offset: int = 0) -> list[Paper]:
        return [p for _, p in self._papers(
            "day = ? AND is_deleted = 0", (day.isoformat(), limit, offset),
            order="ORDER BY published_at DESC, arxiv_id LIMIT ? OFFSET ?",
        )]

    def count_papers_on_day(self, day: date) -> int:
        return self._reader.execute(
            "SELECT COUNT(*) FROM papers WHERE day = ? AND is_deleted = 0", (day.isoformat(),)
        ).fetchone()[0]

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        text = day.isoformat()
        db = self._reader
        before = db.execute(
            "SELECT MAX(d) FROM (SELECT MAX(day) AS d FROM papers WHERE day < ? AND is_deleted = 0"
            " UNION ALL SELECT MAX(day) FROM daily_entries WHERE day < ?)", (text, text),
        ).fetchone()[0]
        after = db.execute(
            "SELECT MIN(d) FROM (SELECT MIN(day) AS d FROM papers WHERE day > ? AND is_deleted = 0"
            " UNION ALL SELECT MIN(day) FROM daily_entries WHERE day > ?)", (text, text),
        ).fetchone()[0]
        return as_day(before), as_day(after)

    def latest_day(self) -> date | None:
        value = self._reader.execute(
            "SELECT MAX(d) FROM (SELECT MAX(day) AS d FROM papers WHERE is_deleted = 0"
            " UNION ALL SELECT MAX(day) FROM daily_entries)"
        ).fetchone()[0]
        return as_day(value)

    def iter_papers(self, *, batch_size: int = 1000) -> Iterator[Paper]:
        last = ""
        while True:
            page = self._papers(
                f"arxiv_id > ? AND {_LIVE}", (last, batch_size), order="ORDER BY arxiv_id LIMIT ?"
            )
            if not page:
                return
            for _, paper in page:
                yield paper
            last = page[-1][1].arxiv_id

    def changes_since(self, change_seq: int, *, limit: int = 10_000) -> list[Change]:
        db = self._reader
        rows = db.execute(
            f"{_SELECT_PAPER.replace(' FROM papers', '')}, change_seq, is_deleted FROM papers"
            " WHERE change_seq > ? ORDER BY change_seq LIMIT ?",
            (change_seq, limit),
        ).fetchall()
        versions = self._versions(db, [row["id"] for row in rows if not row["is_deleted"]])
        return [
            Change(
                row["change_seq"], row["id"], row["arxiv_id"],
                None if row["is_deleted"] else paper_from_row(row, versions.get(row["id"], ())),
            )
            for row in rows
        ]

    def last_change_seq(self) -> int:
        return self._reader.execute("SELECT COALESCE(MAX(change_seq), 0) FROM papers").fetchone()[0]

    def stats(self) -> StoreStats:
        db = self._reader
        # Separate queries so each is answered from the papers_live_day index alone.
        live, deleted = (
            db.execute("SELECT COUNT(*) FROM papers WHERE is_deleted = ?", (flag,)).fetchone()[0]
            for flag in (0, 1)
        )
        first, last = db.execute(
            "SELECT MIN(day), MAX(day) FROM papers WHERE is_deleted = 0 AND day IS NOT NULL"
        ).fetchone()
        return StoreStats(
            paper_count=live,
            deleted_count=deleted,
            daily_entry_count=db.execute("SELECT COUNT(*) FROM daily_entries").fetchone()[0],
            embedded_count=db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0],
            first_day=as_day(first),
            last_day=as_day(last),
            category_counts=dict(db.execute(
                "SELECT category, COUNT(*) FROM paper_categories GROUP BY category"
            ).fetchall()),
        )

    # embeddings -------------------------------------------------------------
    def papers_to_embed(self, model: str, *, limit: int = 256) -> list[tuple[int, Paper]]:
        return self._papers(
            f"{_LIVE} AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.paper_id = papers.id"
            " AND e.model = ? AND e.text_hash = papers.text_hash)",
            (model, limit),
            order="ORDER BY id LIMIT ?",
        )

    def put_embeddings(self, model: str, rows: Iterable[tuple[int, str, np.ndarray]]) -> int:
        now = _now()
        rows = list(rows)
        with self._write() as db:
            # Under the one write lock, so embed_seq values are committed in increasing order.
            seq = db.execute("SELECT COALESCE(MAX(embed_seq), 0) FROM embeddings").fetchone()[0]
            values = [
                (paper_id, model, text_hash, np.asarray(vector, dtype="<f4").tobytes(), now, seq + n,
                 paper_id, text_hash)
                for n, (paper_id, text_hash, vector) in enumerate(rows, start=1)
            ]
            before = db.total_changes
            db.executemany(
                "INSERT OR REPLACE INTO embeddings (paper_id, model, text_hash, vector, embedded_at, embed_seq)"
                " SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM papers WHERE id = ?"
                " AND text_hash = ? AND is_deleted = 0)",
                values,
            )
            return db.total_changes - before

    def iter_embeddings(self, model: str, *, batch_size: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self._reader.execute(
                "SELECT paper_id, vector FROM embeddings WHERE model = ? AND paper_id > ?"
                " ORDER BY paper_id LIMIT ?",
                (model, last, batch_size),
            ).fetchall()
            if not rows:
                return
            ids, vectors = _vector_rows(rows)
            yield ids, vectors
            last = int(ids[-1])

    def embedding_count(self, model: str) -> int:
        return self._reader.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)
        ).fetchone()[0]

    def last_embed_seq(self) -> int:
        return self._reader.execute("SELECT COALESCE(MAX(embed_seq), 0) FROM embeddings").fetchone()[0]

    def embeddings_changed_since(
        self, model: str, embed_seq: int, *, limit: int = 10_000
    ) -> tuple[np.ndarray, np.ndarray, int]:
        rows = self._reader.execute(
            "SELECT paper_id, vector, embed_seq FROM embeddings WHERE embed_seq > ? AND model = ?"
            " ORDER BY embed_seq LIMIT ?",
            (embed_seq, model, limit),
        ).fetchall()
        ids, vectors = _vector_rows(rows)
        return ids, vectors, rows[-1][2] if rows else embed_seq

    def get_embeddings(self, model: str, paper_ids: Iterable[int]) -> dict[int, np.ndarray]:
        found: dict[int, np.ndarray] = {}
        for chunk in _chunks([int(i) for i in paper_ids]):
            marks = ",".join("?" * len(chunk))
            rows = self._reader.execute(
                f"SELECT paper_id, vector FROM embeddings WHERE model = ? AND paper_id IN ({marks})",
                (model, *chunk),
            ).fetchall()
            ids, vectors = _vector_rows(rows)
            found.update(zip(ids.tolist(), vectors))
        return found

    # daily lists ------------------------------------------------------------
    def upsert_daily_entries(self, entries: Iterable[DailyEntry]) -> UpsertCounts:
        counts = UpsertCounts()
        with self._write() as db:
            for entry in entries:
                values = _daily_values(entry)
                held = db.execute(
                    "SELECT * FROM daily_entries WHERE day = ? AND arxiv_id = ? AND source = ?",
                    values[:3],
                ).fetchone()
                if held is not None and tuple(held)[:12] == values[:12]:
                    counts.unchanged_count += 1
                    continue
                db.execute(
                    f"INSERT OR REPLACE INTO daily_entries ({', '.join(_DAILY_COLUMNS)})"
                    f" VALUES ({', '.join('?' * len(_DAILY_COLUMNS))})",
                    values,
                )
                if held is None:
                    counts.new_count += 1
                else:
                    counts.updated_count += 1
        return counts

    def daily_entries(self, day: date) -> list[DailyEntry]:
        rows = self._reader.execute(
            "SELECT * FROM daily_entries WHERE day = ? ORDER BY upvote_count DESC, arxiv_id",
            (day.isoformat(),),
        ).fetchall()
        return [_daily_entry(row) for row in rows]

    def daily_entries_for(self, arxiv_id: str) -> list[DailyEntry]:
        rows = self._reader.execute(
            "SELECT * FROM daily_entries WHERE arxiv_id = ? ORDER BY day DESC", (arxiv_id,)
        ).fetchall()
        return [_daily_entry(row) for row in rows]

    # checkpoints and job runs ---------------------------------------------
    def get_checkpoint(self, name: str) -> str | None:
        row = self._reader.execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_checkpoint(self, name: str, value: str | None) -> None:
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM checkpoints WHERE name = ?", (name,))
            else:
                db.execute(
                    "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (name, value, _now()),
                )

    def start_job_run(self, job: str, *, now: datetime) -> int:
        with self._write() as db:
            return db.execute(
                "INSERT INTO job_runs (job, started_at, status) VALUES (?, ?, 'running') RETURNING id",
                (job, iso(now)),
            ).fetchone()[0]

    def finish_job_run(self, run_id: int, *, status: str, summary: str, now: datetime) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE job_runs SET status = ?, summary = ?, finished_at = ? WHERE id = ?",
                (status, summary, iso(now), run_id),
            )

    def abandon_job_runs(self, job_prefix: str, *, now: datetime) -> int:
        with self._write() as db:
            return db.execute(
                "UPDATE job_runs SET status = 'failed', finished_at = ?,"
                " summary = 'interrupted: the process running it stopped' WHERE status = 'running'"
                " AND substr(job, 1, ?) = ?",
                (iso(now), len(job_prefix), job_prefix),
            ).rowcount

    def recent_job_runs(self, *, limit: int = 20) -> list[JobRun]:
        rows = self._reader.execute(
            "SELECT * FROM job_runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [
            JobRun(
                job=row["job"], started_at=datetime.fromisoformat(row["started_at"]),
                finished_at=datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None,
                status=row["status"], summary=row["summary"], id=row["id"],
            )
            for row in rows
        ]

    # leases -----------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        with self._write() as db:
            return db.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= ? RETURNING name",
                (name, holder, _lease_time(now + timedelta(seconds=ttl_seconds)), _lease_time(now)),
            ).fetchone() is not None

    def renew_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        with self._write() as db:
            return db.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?",
                (_lease_time(now + timedelta(seconds=ttl_seconds)), name, holder),
            ).rowcount == 1

    def release_lease(self, name: str, holder: str) -> bool:
        with self._write() as db:
            return db.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            ).rowcount == 1

    # listings -----------------------------------------------------------------
    def checkpoints(self) -> dict[str, str]:
        return dict(self._reader.execute("SELECT name, value FROM checkpoints ORDER BY name").fetchall())

    def embedding_models(self) -> list[str]:
        return [row[0] for row in self._reader.execute("SELECT DISTINCT model FROM embeddings ORDER BY model")]


def _vector_rows(rows) -> tuple[np.ndarray, np.ndarray]:
    """(paper ids, float32 matrix) from rows whose first two columns are paper_id and vector."""
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
    return ids, vectors


def _lease_time(value: datetime) -> str:
    """Fixed-width UTC text, so that expiry times compare correctly as strings."""
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


_DAILY_COLUMNS = (
    "day", "arxiv_id", "source", "upvote_count", "comment_count", "submitted_by", "organization",
    "github_repo", "github_star_count", "project_url", "thumbnail_url", "ai_summary", "seen_at",
    "organization_name",
)


def _daily_values(entry: DailyEntry) -> tuple:
    return (
        entry.day.isoformat(), entry.arxiv_id, entry.source, entry.upvote_count, entry.comment_count,
        entry.submitted_by, entry.organization, entry.github_repo, entry.github_star_count,
        entry.project_url, entry.thumbnail_url, entry.ai_summary, iso(entry.seen_at),
        entry.organization_name,
    )


def _daily_entry(row) -> DailyEntry:
    return DailyEntry(
        day=as_day(row["day"]), arxiv_id=row["arxiv_id"], source=row["source"],
        upvote_count=row["upvote_count"], comment_count=row["comment_count"],
        submitted_by=row["submitted_by"], organization=row["organization"],
        github_repo=row["github_repo"], github_star_count=row["github_star_count"],
        project_url=row["project_url"], thumbnail_url=row["thumbnail_url"],
        ai_summary=row["ai_summary"],
        seen_at=datetime.fromisoformat(row["seen_at"]) if row["seen_at"] else None,
        organization_name=row["organization_name"],
    )


def _statements(script: str) -> list[str]:
    """Split a migration into statements (our migrations have no ';' or '--' inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
