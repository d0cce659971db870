"""Copy everything one store holds into another, empty one, on either engine, and prove it.

`copy` moves live papers (with their versions and first source), daily entries,
vectors (copied, never recomputed), checkpoints (but the topic maps' one: maps are
not copied), job runs, the community
tables (users, sessions, invites, reset links, upvotes, submissions, comments,
API tokens; store/rows.py) and the digest tables (store/digests.py, by natural
keys) through the Store API only, so SQLite to PostgreSQL and back are the same
code. `digest`
fingerprints what a store holds; the copy is good when both stores' digests are
equal. Tombstones of deleted papers, leases and rate buckets are not copied: a new store has
no index that needs the first, and the others belong to running processes.
The library's tables (collections, dismissals, models, recommendations, follow-ups,
imports: store/library.py) are not copied yet (docs/library.md).

A copy marks its target (the COPY_CHECKPOINT checkpoint) until it ends, so a
copy that was killed is resumed by running it again: upserts of what is already
there change nothing, and job runs already copied are not copied twice. Run
again after it ended, it finds the digests equal and does nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

import numpy as np

from paperwire.papers import Paper, text_hash
from paperwire.store import Store, StoreError
from paperwire.store.maps import MAPS_CHECKPOINT
from paperwire.store.rows import COMMUNITY_TABLES

BATCH_SIZE = 2_000  # papers per upsert: the size the PostgreSQL bulk path is tuned for
JOB_RUN_LIMIT = 1_000_000  # "all of them" for recent_job_runs
COPY_CHECKPOINT = "copy:unfinished"  # on the target while a copy runs: a hash of the source's URL
# Checkpoints neither copied nor fingerprinted: the copy's own mark, and the maps job's, which
# describes the topic maps (not copied: remade from the papers; store/maps.py).
NOT_COPIED_CHECKPOINTS = frozenset({COPY_CHECKPOINT, MAPS_CHECKPOINT})

Progress = Callable[[str, int], None]  # (stage, items just done)


class CopyError(StoreError):
    """The copy cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Digest:
    """Counts and order-independent fingerprints of what a store holds."""

    paper_count: int
    paper_digest: str  # over (arxiv_id, content_hash): every field, versions included
    daily_entry_count: int
    daily_entry_digest: str
    embedding_count: int
    embedding_digest: str  # over (arxiv_id, model, float32 bytes) of current vectors
    checkpoint_count: int
    checkpoint_digest: str
    job_run_count: int
    community_count: int  # rows of the community tables, all together
    community_digest: str  # over every column of every row, by table
    digest_row_count: int = 0  # subscribers, subscriptions, saved searches, outbox rows, received papers
    digest_row_digest: str = ""

    def lines(self) -> list[str]:
        return [
            f"papers {self.paper_count} {self.paper_digest}",
            f"daily entries {self.daily_entry_count} {self.daily_entry_digest}",
            f"embeddings {self.embedding_count} {self.embedding_digest}",
            f"checkpoints {self.checkpoint_count} {self.checkpoint_digest}",
            f"job runs {self.job_run_count}",
            f"community rows {self.community_count} {self.community_digest}",
            f"digest rows {self.digest_row_count} {self.digest_row_digest}",
        ]


@dataclass(frozen=True)
class CopyReport:
    source: Digest
    target: Digest
    stale_embedding_count: int  # vectors of changed text, left for the embedding job to redo

    @property
    def is_identical(self) -> bool:
        return self.source == self.target


def copy(source: Store, target: Store, *, on_progress: Progress | None = None) -> CopyReport:
    """Copy `source` into `target` and return both digests; raises CopyError when
    `target` already holds papers or daily entries (copy into a new, empty store),
    unless they are an unfinished copy of the same source, which this one resumes, or
    a finished one (equal digests), which it leaves as it is."""
    held = target.stats()
    is_resumed = target.get_checkpoint(COPY_CHECKPOINT) == _identity(source)
    if not is_resumed and (held.paper_count or held.deleted_count or held.daily_entry_count):
        # A copy killed after it ended but before it said so: the target is already the copy.
        source_digest, target_digest = digest(source), digest(target)
        if source_digest == target_digest:
            return CopyReport(source_digest, target_digest, _stale_count(source))
        raise CopyError(
            f"the target store {target.url} already holds {held.paper_count + held.deleted_count} papers and "
            f"{held.daily_entry_count} daily entries; copy into a new, empty database"
        )
    target.set_checkpoint(COPY_CHECKPOINT, _identity(source))
    progress = on_progress or (lambda stage, count: None)
    _copy_papers(source, target, progress)
    for day_entries in _daily_lists(source):
        target.upsert_daily_entries(day_entries)
        progress("daily entries", len(day_entries))
    # PostgreSQL loads vectors much faster with its HNSW index built once at the end.
    with target.bulk_embeddings():
        stale_count = sum(_copy_embeddings(source, target, model, progress) for model in source.embedding_models())
    for name, value in source.checkpoints().items():
        if name not in NOT_COPIED_CHECKPOINTS:
            target.set_checkpoint(name, value)
    _copy_job_runs(source, target)
    for table in COMMUNITY_TABLES:
        for rows in source.table_rows(table):
            target.put_table_rows(table, rows)
            progress(table.name.replace("_", " "), len(rows))
    # After the accounts: subscribers and saved searches find their users by email.
    target.digest_import(source.digest_export())
    target.set_checkpoint(COPY_CHECKPOINT, None)
    return CopyReport(digest(source), digest(target), stale_count)


def _stale_count(store: Store) -> int:
    return sum(len(lacking) for model in store.embedding_models() for _, _, lacking in _current_vectors(store, model))


def _identity(store: Store) -> str:
    """Which store a target is a copy of, without keeping the URL's password in it."""
    return hashlib.blake2b(store.url.encode(), digest_size=16).hexdigest()


def _copy_job_runs(source: Store, target: Store) -> None:
    """Copy job runs oldest first; the target's runs are those a killed copy made of the
    first ones (the target was empty when it began), so they are finished, not repeated."""
    copied = list(reversed(target.recent_job_runs(limit=JOB_RUN_LIMIT)))
    for i, run in enumerate(reversed(source.recent_job_runs(limit=JOB_RUN_LIMIT))):
        held = copied[i] if i < len(copied) else None
        if held is not None and held.status == run.status:
            continue
        run_id = held.id if held is not None else target.start_job_run(run.job, now=run.started_at)
        if run.finished_at is not None or run.status != "running":
            target.finish_job_run(run_id, status=run.status, summary=run.summary, now=run.finished_at)


def _copy_papers(source: Store, target: Store, progress: Progress) -> None:
    batch: list[Paper] = []
    for paper in source.iter_papers(batch_size=BATCH_SIZE):
        batch.append(paper)
        if len(batch) == BATCH_SIZE:
            _upsert_keeping_sources(target, batch)
            progress("papers", len(batch))
            batch = []
    _upsert_keeping_sources(target, batch)
    progress("papers", len(batch))


def _upsert_keeping_sources(target: Store, papers: list[Paper]) -> None:
    """Upsert grouped by each paper's first source, which upsert_papers stamps on new papers."""
    by_source: dict[str, list[Paper]] = {}
    for paper in papers:
        by_source.setdefault(paper.source, []).append(paper)
    for source, group in by_source.items():
        target.upsert_papers(group, source=source)


def _daily_lists(store: Store) -> Iterator[list]:
    """Every day's daily list, newest day first (days come from adjacent_days)."""
    day = store.latest_day()
    while day is not None:
        entries = store.daily_entries(day)
        if entries:
            yield entries
        day = store.adjacent_days(day)[0]


def _copy_embeddings(source: Store, target: Store, model: str, progress: Progress) -> int:
    """Copy the current vectors of `model`; returns how many stale ones were left behind.

    A vector is stale when its paper's title or abstract changed after it was
    computed: copied, it would pass for current, so the target re-embeds it instead.
    """
    stale_count = 0
    for ids, vectors, lacking in _current_vectors(source, model):
        stale_count += len(lacking)
        papers = source.get_papers_by_row(ids.tolist())
        target_ids = target.paper_ids(p.arxiv_id for p in papers.values())
        target.put_embeddings(model, [
            (target_ids[papers[row_id].arxiv_id], text_hash(papers[row_id]), vector)
            for row_id, vector in zip(ids.tolist(), vectors)
        ])
        progress("embeddings", len(ids) + len(lacking))
    return stale_count


def _current_vectors(store: Store, model: str) -> Iterator[tuple[np.ndarray, np.ndarray, list[int]]]:
    """iter_embeddings without stale vectors: (ids, vectors, row ids of the stale ones left out)."""
    # A paper that has a vector but still needs embedding has a stale one.
    lacking = {row_id for row_id, _ in store.papers_to_embed(model, limit=store.stats().paper_count + 1)}
    for ids, vectors in store.iter_embeddings(model):
        keep = np.fromiter((int(i) not in lacking for i in ids), dtype=bool, count=len(ids))
        yield ids[keep], vectors[keep], ids[~keep].tolist()


def digest(store: Store) -> Digest:
    """Fingerprint what `store` holds, independent of row ids and engine."""
    papers, live_ids = _Fingerprint(), []
    for paper in store.iter_papers(batch_size=BATCH_SIZE):
        papers.add(paper.arxiv_id, paper.content_hash)
        live_ids.append(paper.arxiv_id)
    arxiv_of = {row_id: arxiv_id for arxiv_id, row_id in _paper_ids(store, live_ids).items()}
    daily = _Fingerprint()
    for entries in _daily_lists(store):
        for entry in entries:
            daily.add(*(_text(value) for value in astuple(entry)))
    vectors = _Fingerprint()
    for model in store.embedding_models():
        for ids, matrix, _ in _current_vectors(store, model):
            for row_id, vector in zip(ids.tolist(), matrix):
                vectors.add(arxiv_of[row_id], model, np.asarray(vector, dtype="<f4").tobytes())
    checkpoints = _Fingerprint()
    for name, value in store.checkpoints().items():
        if name not in NOT_COPIED_CHECKPOINTS:
            checkpoints.add(name, value)
    community = _Fingerprint()
    for table in COMMUNITY_TABLES:
        for rows in store.table_rows(table):
            for row in rows:
                community.add(table.name, *(_text(row[column]) for column in table.columns))
    digest_rows = _Fingerprint()
    for table, rows in store.digest_export().items():
        for row in rows:  # by natural keys: ids and run ids differ between stores
            digest_rows.add(table, *(_text(v) for k, v in sorted(row.items()) if not _is_local_id(k)))
    return Digest(
        papers.count, papers.hexdigest(), daily.count, daily.hexdigest(), vectors.count, vectors.hexdigest(),
        checkpoints.count, checkpoints.hexdigest(), len(store.recent_job_runs(limit=JOB_RUN_LIMIT)),
        community.count, community.hexdigest(), digest_rows.count, digest_rows.hexdigest(),
    )


def _is_local_id(column: str) -> bool:
    return column in ("id", "run_id") or column.endswith(("subscriber_id", "user_id", "outbox_id"))


def _text(value) -> str:
    """One field as engine-independent text: times in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return repr(value)


def _paper_ids(store: Store, arxiv_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(arxiv_ids), BATCH_SIZE):
        found.update(store.paper_ids(arxiv_ids[start:start + BATCH_SIZE]))
    return found


class _Fingerprint:
    """A multiset hash: the sum of each item's BLAKE2b digest modulo 2**128, so the
    order in which an engine returns rows does not matter, while any change does."""

    def __init__(self):
        self.count = 0
        self._sum = 0

    def add(self, *parts: str | bytes) -> None:
        item = hashlib.blake2b(digest_size=16)
        for part in parts:
            data = part if isinstance(part, bytes) else part.encode()
            item.update(len(data).to_bytes(8, "little") + data)
        self._sum = (self._sum + int.from_bytes(item.digest(), "little")) % 2**128
        self.count += 1

    def hexdigest(self) -> str:
        return self._sum.to_bytes(16, "little").hex()
