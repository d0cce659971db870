"""What the store's methods ask of an engine: the adapter contract, written once.

Store methods (papers.py, embeddings.py, daily.py, jobs.py) write portable SQL
with `?` placeholders and run it on a `Session`; an `Engine` (sqlite.py,
postgres.py) holds only what truly differs between SQLite and PostgreSQL:
connections and transactions, placeholders, `IN` lists, the writers' lock,
sequence numbers, time and vector codecs, and the bulk paths that measure faster
on one engine. Rows come back as dicts keyed by column name on both engines.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class Many:
    """A list parameter, written `column IN ?`: SQLite runs it in chunks of `?, ?, ...`,
    PostgreSQL sends one array (`column = ANY(%s::type[])`). `type` is the
    PostgreSQL element type. At most one per statement, and never `NOT IN ?`: the
    rows of several chunks are their union, which NOT IN's are not."""

    values: list
    type: str = "text"


class Session(Protocol):
    """One connection, in or outside a write transaction."""

    def rows(self, sql: str, params: Sequence = ()) -> list[dict[str, Any]]:
        """Every row of `sql`, as dicts; with a `Many` parameter, the rows of every chunk."""

    def execute(self, sql: str, params: Sequence = ()) -> int:
        """Run a statement; returns the rows it changed (summed over `Many` chunks)."""

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> int:
        """Run a statement once per parameter row; returns the rows changed."""


class Engine(Protocol):
    """One database and its dialect. `live` is the SQL condition "the paper is not
    deleted" in the form this engine's planner answers best when papers are picked
    by id or arXiv id."""

    url: str
    live: str

    def read(self) -> Session:
        """This thread's connection for reads (committed data only)."""

    def change_marker(self) -> Any:
        """A cheap value that differs after any committed write, by any process: what a
        cache of pages made from the store is keyed by (web/pagecache.py)."""

    def write(self, lock: str | None = None) -> AbstractContextManager[Session]:
        """One transaction that commits when the block ends and rolls back on an error.

        `lock` ("papers", "embeddings") serialises the writers of one sequence until
        they commit, so its numbers become visible in increasing order.
        """

    def next_seqs(self, db: Session, table: str, column: str, count: int) -> list[int]:
        """`count` new increasing numbers for `table.column`; call inside write(lock)."""

    def time(self, value: datetime | None) -> Any:
        """A time as this engine stores it."""

    def day(self, value: date | None) -> Any:
        """A day as this engine stores it."""

    def vector(self, vector: np.ndarray, *, paper_id: int) -> Any:
        """A float32 vector as this engine stores it; raises StoreError if it cannot hold it."""

    def vectors(self, values: list) -> np.ndarray:
        """Stored vectors back as one float32 matrix, a row each."""

    def insert_rows(
        self, db: Session, table: str, columns: Sequence[str], rows: list[Sequence], *,
        where: str = "", conflict: str = "",
    ) -> int:
        """Insert `rows` in their order; returns the rows written. `where` may filter them,
        naming each row's values `u.column`; `conflict` is an `ON CONFLICT ...` clause."""

    def update_rows(self, db: Session, table: str, key: str, columns: Sequence[str], rows: list[Sequence]) -> int:
        """Set `columns` to each row's values where `key` equals the row's first value."""

    def bulk_embeddings(self) -> AbstractContextManager[None]:
        """A block in which many vectors load faster (see Store.bulk_embeddings)."""

    def nearest(self, model: str, vector: np.ndarray, k: int, *, ef_search: int) -> list[tuple[int, float]]:
        """See Store.nearest."""

    def migrate(self) -> list[str]:
        """Apply the numbered migrations the database has not seen; returns their names."""

    def close(self) -> None: ...


def scalar(db: Session, sql: str, params: Sequence = ()) -> Any:
    """The first column of the first row of `sql`, or None when there is no row."""
    rows = db.rows(sql, params)
    return next(iter(rows[0].values())) if rows else None
