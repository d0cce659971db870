"""The paper store: one `Store` over two engines, chosen by DATABASE_URL.

Callers (ingest, web, search, CLI) see only `Store`, `open_store` and the
records and errors below. Both engines keep the same tables and the same
semantics: an upsert is idempotent, an older version never overwrites a newer
one, and every change to a paper takes a new, increasing `change_seq`, so
in-process indexes can catch up with `changes_since` whatever process wrote.
The methods live in api.py's table modules; the engines in sqlite.py and postgres.py.
"""

from paperwire.store.api import Store, open_store
from paperwire.store.errors import NotFound, StoreError
from paperwire.store.jobs import JobRun
from paperwire.store.records import Change, StoreStats, UpsertCounts

__all__ = [
    "Change", "JobRun", "NotFound", "Store", "StoreError", "StoreStats", "UpsertCounts", "open_store",
]
