"""The Store: every store method, written once, over the engine that DATABASE_URL picks.

`Store` composes one class per group of tables (papers.py, embeddings.py,
daily.py, jobs.py, maps.py, accounts.py,
community.py, comments.py, tokens.py, ratebuckets.py, library.py, digests.py; rows.py
reads and writes whole community tables for db copy) over an engine adapter (sqlite.py, postgres.py; the contract
is sql.py). A new table is a migration per engine plus its methods in one of
those modules (or a new one listed here). `open_store` picks the engine from
the URL and migrates the database.
"""

from __future__ import annotations

from paperwire.store.accounts import AccountTables
from paperwire.store.comments import CommentTables
from paperwire.store.community import CommunityTables
from paperwire.store.daily import DailyTables
from paperwire.store.digests import DigestCopy, DigestTables
from paperwire.store.embeddings import EmbeddingTables
from paperwire.store.errors import StoreError
from paperwire.store.jobs import JobTables
from paperwire.store.library import LibraryTables
from paperwire.store.maps import MapTables
from paperwire.store.papers import PaperTables
from paperwire.store.ratebuckets import RateBucketTables
from paperwire.store.rows import RowTables
from paperwire.store.sql import Engine
from paperwire.store.tokens import TokenTables

SUPPORTED_URLS = "sqlite:///path/to/paperwire.db or postgresql://user:pass@host/dbname"


class Store(PaperTables, EmbeddingTables, DailyTables, JobTables, MapTables, AccountTables, CommunityTables,
            CommentTables, TokenTables, RowTables, RateBucketTables, LibraryTables, DigestTables, DigestCopy):
    """The paper store on one database. Methods are safe to call from one thread at a time
    per Store object; open one Store per thread or process."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.url = engine.url

    def close(self) -> None:
        self.engine.close()

    def change_marker(self):
        """A cheap value that differs after any committed write (the engine's; sql.py)."""
        return self.engine.change_marker()

    def migrate(self) -> list[str]:
        """Apply the migrations the database has not seen (open_store already did); returns their names."""
        return self.engine.migrate()


def open_store(url: str) -> Store:
    """Open (and migrate) the store that `url` names; raises StoreError for an unsupported URL."""
    if url.startswith("sqlite:"):
        from paperwire.store.sqlite import SQLiteEngine

        return Store(SQLiteEngine.open(url))
    if url.startswith(("postgresql:", "postgres:")):
        # Imported here so that SQLite users never load psycopg.
        from paperwire.store.postgres import PostgresEngine

        return Store(PostgresEngine.open(url))
    raise StoreError(f"DATABASE_URL {url!r} is not supported; use {SUPPORTED_URLS}")
