"""The SQLite engine, paperwire's embedded default: one file, zero set-up.

WAL mode lets readers run while one writer writes. Writes go through a single
connection behind a lock, each in a `BEGIN IMMEDIATE` transaction; reads use
one read-only connection per thread, so the web server's worker threads never
block each other or the writer (the layout of datasette's database.py). Readers
keep a small page cache (READER_CACHE_KIB): the operating system caches the file. This
module holds only SQLite's side of the adapter contract (sql.py); the store's
methods are written once in papers.py, embeddings.py, daily.py and jobs.py.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote, urlparse

import numpy as np

from paperwire.store.errors import StoreError
from paperwire.store.sql import Many

MIGRATIONS = Path(__file__).parent / "migrations" / "sqlite"
BUSY_TIMEOUT_SECONDS = 30
CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit
# Page caches are per connection, and the web server's thread pool gives each of its
# (up to 40) threads a reader: at 64 MiB each, the server's memory grew 390 -> 1,480 MB
# under bench/web.py. Readers keep a small cache and let the operating system's page
# cache (shared by every connection and process) hold the rest; the one writer keeps the
# large cache (ingest). Not mmap (https://sqlite.org/mmap.html): each connection maps the
# file apart, and a paper-page load took the server from 0.5 to 2.9 GB resident in 20 s.
WRITER_CACHE_KIB = 65_536
READER_CACHE_KIB = 4_096


def path_from_url(url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////abs/path.db` to a path; raises StoreError."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or not parsed.path or parsed.path == "/":
        raise StoreError(f"DATABASE_URL {url!r} names no file; use sqlite:///path/to/paperwire.db")
    # sqlite:///x.db has path "/x.db" (relative); sqlite:////abs/x.db has "//abs/x.db".
    return Path(unquote(parsed.path)[1:])


class SQLiteSession:
    """A sqlite3 connection behind the Session contract: `?` as is, `IN ?` in chunks."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def rows(self, sql: str, params: Sequence = ()) -> list[dict]:
        found = []
        for chunk_sql, chunk_params in _expand(sql, params):
            cursor = self.conn.execute(chunk_sql, chunk_params)
            names = [d[0] for d in cursor.description]
            found.extend(dict(zip(names, row)) for row in cursor)
        return found

    def execute(self, sql: str, params: Sequence = ()) -> int:
        return sum(self.conn.execute(s, p).rowcount for s, p in _expand(sql, params))

    def executemany(self, sql: str, rows) -> int:
        before = self.conn.total_changes
        self.conn.executemany(sql, rows)
        return self.conn.total_changes - before


def _expand(sql: str, params: Sequence):
    """(sql, params) once, or once per chunk of the one `Many` parameter."""
    where = [i for i, p in enumerate(params) if isinstance(p, Many)]
    if not where:
        yield sql, params
        return
    [at] = where  # one list per statement: the contract in sql.Many
    assert "NOT IN ?" not in sql, "NOT IN cannot take a Many (see sql.Many)"
    parts = sql.split("?")
    values = params[at].values
    for start in range(0, len(values), CHUNK):
        chunk = values[start:start + CHUNK]
        marks = "(" + ",".join("?" * len(chunk)) + ")"
        text = "".join(part + (marks if i == at else "?") for i, part in enumerate(parts[:-1])) + parts[-1]
        yield text, (*params[:at], *chunk, *params[at + 1:])


class SQLiteEngine:
    """One SQLite file: the writer connection, and a reader per thread."""

    # "Live papers" where rows are picked by id or arXiv id: the unary + keeps SQLite from
    # answering by the (is_deleted, day) index, which reads every live paper. Without it,
    # 20 papers by row id took 8 ms instead of 0.07 ms at 75k papers, and 500 by arXiv id
    # (upserts, paper_ids) 0.9 s instead of 1 ms at 500k, which made ingest quadratic
    # (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_).
    live = "+is_deleted = 0"

    def __init__(self, url: str, path: Path):
        self.url = url
        self.path = path
        self._write_lock = threading.Lock()
        self._writer = self._connect(readonly=False)
        self._local = threading.local()
        self._watcher: sqlite3.Connection | None = None  # change_marker's own connection
        self._watcher_lock = threading.Lock()

    @classmethod
    def open(cls, url: str) -> "SQLiteEngine":
        path = path_from_url(url)
        if path.parent and not path.parent.exists():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
        engine = cls(url, path)
        engine.migrate()
        return engine

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
        conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB if readonly else WRITER_CACHE_KIB}")
        return conn

    def close(self) -> None:
        self._writer.close()
        if self._watcher is not None:
            self._watcher.close()
        reader = getattr(self._local, "reader", None)
        if reader is not None:
            reader.conn.close()
            self._local.reader = None

    # connections ------------------------------------------------------------
    def read(self) -> SQLiteSession:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = SQLiteSession(self._connect(readonly=True))
        return reader

    def change_marker(self) -> int:
        """A number that changes whenever anyone commits to the file, this process's
        writer included: `PRAGMA data_version` of a connection that never writes
        (https://sqlite.org/pragma.html#pragma_data_version), a read of the WAL index
        header, with no query of any table."""
        with self._watcher_lock:
            if self._watcher is None:
                self._watcher = self._connect(readonly=True)
            return self._watcher.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def write(self, lock: str | None = None):
        # One writer connection behind one lock: every write is serial, whatever `lock` says.
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteSession(self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply the numbered migrations that this file has not seen yet; returns their names."""
        applied = []
        with self.write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row["name"] for row in db.rows("SELECT name FROM schema_migrations")}
            for script in sorted(MIGRATIONS.glob("*.sql")):
                if script.name in done:
                    continue
                for statement in _statements(script.read_text()):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)",
                           (script.name, self.time(datetime.now(timezone.utc))))
                applied.append(script.name)
        return applied

    # dialect ------------------------------------------------------------------
    def next_seqs(self, db: SQLiteSession, table: str, column: str, count: int) -> list[int]:
        # MAX + 1 is safe under the one writer: nobody else can take a number meanwhile.
        last = db.rows(f"SELECT COALESCE(MAX({column}), 0) AS n FROM {table}")[0]["n"]
        return list(range(last + 1, last + 1 + count))

    @staticmethod
    def time(value: datetime | None) -> str | None:
        """Fixed-width UTC text, so that times compare correctly as strings (lease expiry)."""
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds") if value else None

    @staticmethod
    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    @staticmethod
    def vector(vector: np.ndarray, *, paper_id: int) -> bytes:
        return np.asarray(vector, dtype="<f4").tobytes()  # BLOB, float32 little-endian

    @staticmethod
    def vectors(values: list) -> np.ndarray:
        if not values:
            return np.zeros((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(values), dtype="<f4").reshape(len(values), -1)

    # bulk paths ---------------------------------------------------------------
    @staticmethod
    def insert_rows(db: SQLiteSession, table: str, columns, rows, *, where: str = "", conflict: str = "") -> int:
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        if where:
            # `WHERE` also settles SQLite's parse of INSERT ... SELECT ... ON CONFLICT
            # (https://sqlite.org/lang_upsert.html, "parsing ambiguity").
            aliased = ", ".join(f"? AS {c}" for c in columns)
            source = f"SELECT * FROM (SELECT {aliased}) AS u WHERE {where}"
        else:
            source = f"VALUES ({marks})"
        return db.executemany(f"INSERT INTO {table} ({names}) {source} {conflict}", rows)

    @staticmethod
    def update_rows(db: SQLiteSession, table: str, key: str, columns, rows) -> int:
        assignments = ", ".join(f"{c} = ?" for c in columns)
        return db.executemany(
            f"UPDATE {table} SET {assignments} WHERE {key} = ?", ((*row[1:], row[0]) for row in rows)
        )

    @staticmethod
    def bulk_embeddings():
        return nullcontext()  # vectors are plain rows here: nothing to defer

    def nearest(self, model: str, vector: np.ndarray, k: int, *, ef_search: int) -> list[tuple[int, float]]:
        raise StoreError(
            f"nearest needs the PostgreSQL store (pgvector); {self.url} is SQLite, whose vectors "
            "the in-process index (paperwire.search.vectors) searches"
        )


def _statements(script: str) -> list[str]:
    """Split a migration into statements (our migrations have no ';' or '--' inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
