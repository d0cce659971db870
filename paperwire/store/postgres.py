"""The PostgreSQL engine: the SQLite store's tables and semantics, shared by many processes.

Every thread (and every forked process) gets its own connection, in autocommit
mode; a write is one explicit transaction, and writers of a sequence
(`change_seq`, `embed_seq`) are serialised by an advisory lock so that its
numbers become visible in increasing order (see `_lock`). Batches travel as one
array per column (`unnest`), vectors as pgvector's binary format, and
`nearest` asks pgvector's HNSW index. This module holds only PostgreSQL's side
of the adapter contract (sql.py); the store's methods are written once.
"""

from __future__ import annotations

import os
import struct
import threading
import weakref
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

from paperwire.config import redact_url as redact
from paperwire.store.errors import StoreError
from paperwire.store.sql import Many

MIGRATIONS = Path(__file__).parent / "migrations" / "postgres"
CONNECT_TIMEOUT_SECONDS = 10
EMBEDDING_DIMENSIONS = 384  # all-MiniLM-L6-v2; the column is vector(384)
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
# Building the HNSW graph is slow once it no longer fits in maintenance_work_mem;
# 75k x 384 needs about 150 MB. Only taken while `bulk_embeddings` builds the index.
BULK_INDEX_MEMORY = "1GB"
# Advisory lock keys: arbitrary, fixed, and used for nothing else in the database.
MIGRATION_LOCK = 7_150_001
WRITE_LOCKS = {"papers": 7_150_002, "embeddings": 7_150_003}

Connect = Callable[[], psycopg.Connection]


class PostgresSession:
    """A psycopg connection behind the Session contract: `?` becomes `%s`, `IN ?` an array."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def rows(self, sql: str, params: Sequence = ()) -> list[dict]:
        if _no_values(params):
            return []
        cursor = self.conn.execute(_translate(sql, _list_type(params)), _arrays(params), binary=True)
        if cursor.description is None:
            return []
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: Sequence = ()) -> int:
        if _no_values(params):
            return 0
        return self.conn.execute(_translate(sql, _list_type(params)), _arrays(params)).rowcount

    def executemany(self, sql: str, rows) -> int:
        cursor = self.conn.cursor()
        cursor.executemany(_translate(sql, None), list(rows))
        return cursor.rowcount


def _no_values(params: Sequence) -> bool:
    """True when `IN ?` names an empty list: nothing to ask the server."""
    return any(isinstance(p, Many) and not p.values for p in params)


def _list_type(params: Sequence) -> str | None:
    types = [p.type for p in params if isinstance(p, Many)]
    assert len(types) <= 1, "one Many per statement"
    return types[0] if types else None


def _arrays(params: Sequence) -> tuple:
    return tuple(list(p.values) if isinstance(p, Many) else p for p in params)


@lru_cache(maxsize=512)
def _translate(sql: str, list_type: str | None) -> str:
    """`?` to `%s`, and `IN ?` (a Many) to `= ANY(%b::type[])`; literal `%` doubled."""
    text = sql.replace("%", "%%")
    assert "NOT IN ?" not in text, "NOT IN cannot take a Many (see sql.Many)"
    if list_type is not None:
        head, _, tail = text.partition("IN ?")
        text = f"{head}= ANY(%b::{list_type}[]){tail}"
    return text.replace("?", "%s")


class PostgresEngine:
    """One PostgreSQL database with pgvector, a connection per thread and process."""

    live = "NOT is_deleted"

    def __init__(self, url: str, connect: Connect | None = None):
        """`connect` makes a connection (default: a new autocommit one to `url`); tests pass
        one that returns a connection inside a transaction they roll back."""
        self.url = url
        self._make = connect or self._connect
        self._local = threading.local()
        self._connections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # conn -> pid
        self._connections_lock = threading.Lock()
        self._vector_type: TypeInfo | None = None
        self._column_types: dict[tuple[str, str], str] = {}

    @classmethod
    def open(cls, url: str, *, connect: Connect | None = None) -> "PostgresEngine":
        engine = cls(url, connect)
        engine.migrate()
        db = engine._db
        engine._vector_type = TypeInfo.fetch(db, "vector")
        _register_vector(db, engine._vector_type)
        engine._column_types = engine._load_column_types(db)
        return engine

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
            conn = self._local.conn = self._make()
            self._local.pid = os.getpid()
            if self._vector_type is not None:
                _register_vector(conn, self._vector_type)
            with self._connections_lock:
                self._connections[conn] = os.getpid()
        return conn

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.OperationalError as error:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact(self.url)}: {str(error).strip()}; "
                "check DATABASE_URL and that the server is running"
            ) from None

    def read(self) -> PostgresSession:
        return PostgresSession(self._db)

    def change_marker(self) -> str:
        """A value that changes whenever anyone writes to the cluster: where its next WAL
        record goes (https://www.postgresql.org/docs/current/functions-admin.html), which
        moves at every change and commit. Other databases' writes move it too, which only
        makes a kept page be made again."""
        return str(self._db.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0])

    @contextmanager
    def write(self, lock: str | None = None):
        db = self._db
        with db.transaction():  # a savepoint when the caller already has a transaction open
            if lock is not None:
                _lock(db, WRITE_LOCKS[lock])
            yield PostgresSession(db)

    def migrate(self) -> list[str]:
        """Apply the numbered migrations this database has not seen; returns their names.

        All in one transaction under an advisory lock, so processes starting together
        wait for the first one instead of racing it. A database that has them all is
        left without taking the lock: the lock lasts until its transaction ends, so a
        store opened inside a long transaction (tests/conftest.py's `postgres_store`)
        would otherwise stall every other process's open until then.
        """
        applied = []
        db = self._db
        if self._has_every_migration(db):
            return applied
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
            )
            done = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
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

    @staticmethod
    def _has_every_migration(db: psycopg.Connection) -> bool:
        # In the schema that CREATE TABLE would use: a schema_migrations further along the
        # search_path (public's, say) is another database's record.
        # current_schema() comes first on the path, so the plain name below reads this one.
        if db.execute("SELECT to_regclass(format('%I.schema_migrations', current_schema()))").fetchone()[0] is None:
            return False
        done = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
        return {script.name for script in MIGRATIONS.glob("*.sql")} <= done

    @staticmethod
    def _load_column_types(db: psycopg.Connection) -> dict[tuple[str, str], str]:
        """(table, column) -> type name, for the arrays `insert_rows` sends."""
        rows = db.execute(
            "SELECT c.relname, a.attname, t.typname FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
            " AND a.attnum > 0 AND NOT a.attisdropped"
        )
        return {(table, column): type_name for table, column, type_name in rows}

    # dialect ------------------------------------------------------------------
    @staticmethod
    def next_seqs(db: PostgresSession, table: str, column: str, count: int) -> list[int]:
        # The sequence of table.column is named table_column (migrations/postgres).
        rows = db.conn.execute(
            "SELECT nextval(%s) FROM generate_series(1, %s)", (f"{table}_{column}", count)
        ).fetchall()
        return [row[0] for row in rows]

    @staticmethod
    def time(value: datetime | None) -> datetime | None:
        return value

    @staticmethod
    def day(value: date | None) -> date | None:
        return value

    @staticmethod
    def vector(vector: np.ndarray, *, paper_id: int) -> np.ndarray:
        if np.size(vector) != EMBEDDING_DIMENSIONS:
            raise StoreError(
                f"the vector for paper row {paper_id} has {np.size(vector)} dimensions; the PostgreSQL "
                f"store holds {EMBEDDING_DIMENSIONS} (all-MiniLM-L6-v2): embed with that model"
            )
        return np.asarray(vector, dtype=np.float32)

    @staticmethod
    def vectors(values: list) -> np.ndarray:
        if not values:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        return np.stack(values)

    # bulk paths: one array per column instead of a statement per row ----------------
    def insert_rows(self, db: PostgresSession, table: str, columns, rows, *, where: str = "", conflict: str = "") -> int:
        if not rows:
            return 0
        arrays = ", ".join(f"%b::{self._column_types[table, c]}[]" for c in columns)
        names = ", ".join(columns)
        sql = (
            f"INSERT INTO {table} ({names}) SELECT {names} FROM unnest({arrays}) WITH ORDINALITY"
            f" AS u({names}, ordinality) WHERE {where or 'true'} ORDER BY ordinality {conflict}"
        )
        return db.conn.execute(sql, [list(column) for column in zip(*rows)]).rowcount

    def update_rows(self, db: PostgresSession, table: str, key: str, columns, rows) -> int:
        if not rows:
            return 0
        names = [key, *columns]
        arrays = ", ".join(f"%b::{self._column_types[table, c]}[]" for c in names)
        sql = (
            f"UPDATE {table} t SET " + ", ".join(f"{c} = u.{c}" for c in columns)
            + f" FROM unnest({arrays}) AS u({', '.join(names)}) WHERE t.{key} = u.{key}"
        )
        return db.conn.execute(sql, [list(column) for column in zip(*rows)]).rowcount

    @contextmanager
    def bulk_embeddings(self):
        """Load many vectors in one transaction with the HNSW index dropped, then build it
        in one go: 3-5x faster than growing it row by row (70-100 s instead of ~6 min for
        75k vectors on 2 cores). Holds an exclusive lock on the embeddings table until it
        ends, so it is for loading a new store (`paperwire db copy`); on an error nothing
        of it stays and the index is back as it was."""
        db = self._db
        with db.transaction():
            row = db.execute(
                "SELECT indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND indexname = 'embeddings_vector'"
            ).fetchone()
            if row is not None:
                db.execute("DROP INDEX embeddings_vector")
            yield
            if row is not None:
                db.execute("SELECT set_config('maintenance_work_mem', %s, true)", (BULK_INDEX_MEMORY,))
                db.execute(row[0])

    def nearest(self, model: str, vector: np.ndarray, k: int, *, ef_search: int) -> list[tuple[int, float]]:
        query = np.asarray(vector, dtype=np.float32)
        db = self._db
        with db.transaction():
            db.execute(
                "SELECT set_config('hnsw.ef_search', %s, true)", (str(min(max(ef_search, k), MAX_EF_SEARCH)),)
            )
            rows = db.execute(
                "SELECT paper_id, 1 - (vector <=> %(q)b) AS score FROM embeddings WHERE model = %(model)s"
                " ORDER BY vector <=> %(q)b LIMIT %(k)s",
                {"q": query, "model": model, "k": k},
            ).fetchall()
        return [(paper_id, float(score)) for paper_id, score in rows]


def _lock(db: psycopg.Connection, key: int) -> None:
    """Serialise the transactions that take numbers from one sequence, until they commit.

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
    assigning seqs at commit time, which PostgreSQL has no hook for. Vector writers
    take their own lock for embed_seq, for the same reason.
    """
    db.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


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
