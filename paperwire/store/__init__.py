"""The paper store: one protocol, two engines, chosen by DATABASE_URL.

Callers (ingest, web, search, CLI) see only `Store` and the records below;
`open_store` picks SQLite (the embedded default) or PostgreSQL from the URL.
Both engines keep the same tables and the same semantics: an upsert is
idempotent, an older version never overwrites a newer one, and every change to
a paper takes a new, increasing `change_seq`, so in-process indexes can catch up
with `changes_since` whatever process wrote the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

if TYPE_CHECKING:
    import numpy as np

from paperwire.papers import Paper


class StoreError(Exception):
    """A store could not be opened or used; the message says what to do."""


class NotFound(StoreError):
    """The asked-for record does not exist."""


@dataclass
class UpsertCounts:
    new_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0

    def add(self, other: "UpsertCounts") -> None:
        self.new_count += other.new_count
        self.updated_count += other.updated_count
        self.unchanged_count += other.unchanged_count


@dataclass(frozen=True)
class DailyEntry:
    """A paper on a community daily list (Hugging Face Daily Papers) for one `day`.

    The list day is not the arXiv date: a paper published on Monday may be
    listed on Wednesday. Counts are the source's, as of `seen_at`.
    """

    day: date
    arxiv_id: str
    source: str = "hf_daily"
    upvote_count: int = 0
    comment_count: int = 0
    submitted_by: str | None = None
    organization: str | None = None
    github_repo: str | None = None
    github_star_count: int | None = None
    project_url: str | None = None
    thumbnail_url: str | None = None
    ai_summary: str | None = None
    seen_at: datetime | None = None
    organization_name: str | None = None  # the display name; `organization` is its slug


@dataclass(frozen=True)
class Change:
    """One entry of the change log: paper `paper_id` changed at `change_seq`.

    `paper` is None when the paper was deleted (an OAI-PMH deleted record).
    """

    change_seq: int
    paper_id: int
    arxiv_id: str
    paper: Paper | None


@dataclass(frozen=True)
class JobRun:
    """One run of a background job (harvest, embedding), for the status page."""

    job: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # "running", "ok", "failed"
    summary: str = ""
    id: int | None = None


@dataclass
class StoreStats:
    paper_count: int = 0
    deleted_count: int = 0
    daily_entry_count: int = 0
    embedded_count: int = 0
    first_day: date | None = None
    last_day: date | None = None
    category_counts: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """What every engine implements. Methods are safe to call from one thread at a time
    per Store object; open one Store per thread or process."""

    url: str

    def close(self) -> None: ...

    # papers ---------------------------------------------------------------
    def upsert_papers(
        self, papers: Iterable[Paper], *, source: str, record_hashes: dict[str, str] | None = None
    ) -> UpsertCounts:
        """Insert or merge papers (see papers.merge) in one transaction.

        A paper whose record this source sent before unchanged is skipped cheaply. The
        record's identity is `record_hashes[arxiv_id]` when the source gives one (a hash of
        the raw bytes), else the paper's content hash.
        """

    def seen_records(self, source: str, record_hashes: list[str]) -> set[str]:
        """Which of these raw-record hashes `source` already sent for a live paper.

        Lets a file source skip parsing records it ingested before.
        """

    def delete_papers(self, arxiv_ids: Iterable[str], *, source: str) -> int:
        """Mark papers deleted (kept as tombstones so indexes can follow); returns how many changed."""

    def get_paper(self, arxiv_id: str) -> Paper:
        """The paper, or raises NotFound (also for a deleted paper)."""

    def get_papers(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        """The papers that exist among `arxiv_ids`, keyed by id."""

    def get_papers_by_row(self, paper_ids: Iterable[int]) -> dict[int, Paper]:
        """Papers by their internal row id (the id the search indexes use)."""

    def paper_ids(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        """Internal row ids of the given arXiv ids."""

    def papers_on_day(self, day: date, *, limit: int = 200, offset: int = 0) -> list[Paper]:
        """Papers first published on `day` (UTC), newest first."""

    def count_papers_on_day(self, day: date) -> int: ...

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        """The nearest earlier and later days that have papers or daily entries."""

    def latest_day(self) -> date | None:
        """The most recent day with papers or daily entries, or None on an empty store."""

    def iter_papers(self, *, batch_size: int = 1000) -> Iterator[Paper]:
        """Every live paper, in arxiv_id order."""

    def changes_since(self, change_seq: int, *, limit: int = 10_000) -> list[Change]:
        """Changes after `change_seq`, oldest first (at most `limit`)."""

    def last_change_seq(self) -> int: ...

    def stats(self) -> StoreStats: ...

    # embeddings -------------------------------------------------------------
    def papers_to_embed(self, model: str, *, limit: int = 256) -> list[tuple[int, Paper]]:
        """Live papers with no vector for `model`, or whose title/abstract changed since; (row id, paper)."""

    def put_embeddings(self, model: str, rows: Iterable[tuple[int, str, "np.ndarray"]]) -> int:
        """Save (paper row id, text_hash it was computed from, float32 vector); returns rows written.

        A vector whose paper changed (text_hash differs now) or was deleted meanwhile is dropped.
        """

    def iter_embeddings(self, model: str, *, batch_size: int = 10_000) -> Iterator[tuple["np.ndarray", "np.ndarray"]]:
        """All vectors of `model` as (int64 paper ids, float32 matrix) chunks, in paper id order."""

    def embedding_count(self, model: str) -> int: ...

    def last_embed_seq(self) -> int:
        """The `embed_seq` of the last vector written, of any model; 0 when there is none.

        Every `put_embeddings` row takes a new, increasing embed_seq, as every paper
        change takes a change_seq, so an in-process vector index can follow the vectors.
        """

    def embeddings_changed_since(
        self, model: str, embed_seq: int, *, limit: int = 10_000
    ) -> tuple["np.ndarray", "np.ndarray", int]:
        """Vectors of `model` written after `embed_seq`, oldest first (at most `limit`), as
        (int64 paper ids, float32 matrix, embed_seq of the last one). With nothing new the
        ids are empty and the seq is `embed_seq`. Vectors removed with their paper do not
        appear: the change log says the paper was deleted."""

    def get_embeddings(self, model: str, paper_ids: Iterable[int]) -> dict[int, "np.ndarray"]:
        """The vectors of `model` that exist for these paper row ids, keyed by row id."""

    # daily lists ------------------------------------------------------------
    def upsert_daily_entries(self, entries: Iterable[DailyEntry]) -> UpsertCounts: ...

    def daily_entries(self, day: date) -> list[DailyEntry]:
        """The day's list, most upvoted first."""

    def daily_entries_for(self, arxiv_id: str) -> list[DailyEntry]: ...

    # checkpoints and job runs ---------------------------------------------
    def get_checkpoint(self, name: str) -> str | None: ...

    def set_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or with None, clear) a resumable position such as an OAI-PMH resumptionToken."""

    def start_job_run(self, job: str, *, now: datetime) -> int: ...

    def finish_job_run(self, run_id: int, *, status: str, summary: str, now: datetime) -> None: ...

    def recent_job_runs(self, *, limit: int = 20) -> list[JobRun]: ...

    def abandon_job_runs(self, job_prefix: str, *, now: datetime) -> int:
        """Mark runs of jobs named `job_prefix`... that still say "running" as failed: call it
        while holding the job's lease, when no such run can really be running. Returns how many."""

    # leases ---------------------------------------------------------------
    # A lease lets one process at a time run a job (harvest, embedding); it expires
    # at `now + ttl_seconds` unless renewed, so a holder that dies frees it.
    def acquire_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        """Take lease `name` if it is free, expired or already `holder`'s; False while another holds it."""

    def renew_lease(self, name: str, holder: str, *, ttl_seconds: float, now: datetime) -> bool:
        """Extend a lease `holder` still holds; False if it was taken over (or released) meanwhile."""

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up; False if `holder` did not hold it."""

    # listings for `paperwire db copy` --------------------------------------
    def checkpoints(self) -> dict[str, str]:
        """Every saved checkpoint, by name."""

    def embedding_models(self) -> list[str]:
        """The models that have vectors in the store, sorted."""


SUPPORTED_URLS = "sqlite:///path/to/paperwire.db or postgresql://user:pass@host/dbname"


def open_store(url: str) -> Store:
    """Open (and migrate) the store that `url` names; raises StoreError for an unsupported URL."""
    if url.startswith("sqlite:"):
        from paperwire.store.sqlite import SQLiteStore

        return SQLiteStore.open(url)
    if url.startswith(("postgresql:", "postgres:")):
        from paperwire.store.postgres import PostgresStore

        return PostgresStore.open(url)
    raise StoreError(f"DATABASE_URL {url!r} is not supported; use {SUPPORTED_URLS}")
