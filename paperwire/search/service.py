"""Search in a running process: the indexes of one store, kept current and shared.

engine.py ranks papers (`Indexes`, `sync`, `search`, `similar`); this module
runs it for the web app and the CLI. A `SearchService` finds the folder of its
store's indexes under the cache directory, opens them with the query embedder,
catches them up with the store (engine's `sync`) before each search (two
indexed MAX queries when nothing changed) and in the background (`keep_current`,
the "index" job that jobs/ runs in a thread of each web process), and saves
them now and then, so a restart catches up instead of rebuilding. Searches
take no lock: they read the published `Indexes`, which nothing changes; a
catch-up applies a batch to a fork (`Indexes.fork`) and publishes it by
swapping one reference, so a search sees a batch whole or not at all, and
runs beside other searches and beside the follower (issue #15). One lock
keeps writers (catch-ups, saves) one at a time.

On top of engine's ranking it adds what the product asks of a search: the mode
(hybrid, lexical or semantic), the trending sort, and similar papers by arXiv id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, urlunsplit


from paperwire import feed
from paperwire.config import Settings
from paperwire.leases import default_holder, run_with_lease
from paperwire.papers import normalise_name, to_dict
from paperwire.search import Filters, Indexes, SearchHit, SearchPage, search, similar, sync
from paperwire.search.query import parse
from paperwire.search.vectors import VectorIndex
from paperwire.store import NotFound, Store

log = logging.getLogger(__name__)

MODES = ("hybrid", "lexical", "semantic")
SORTS = ("relevance", "newest", "trending")
POOL_SIZE = 100  # most relevant papers that the trending sort orders
REQUEST_CATCH_UP_MAX = 500  # store changes a search applies itself (~0.1 s); more wait for the thread
FOLLOW_SECONDS = 5.0  # how often the background job looks for store changes
LOCK_WAIT_SECONDS = 5.0  # a search waits this long for a catch-up in another thread
SIMILAR_WAIT_SECONDS = 0.5  # similar papers wait less: a paper's page shows without them
SAVE_AFTER_CHANGES = 1_000  # the background job saves once this many changes are unsaved...
SAVE_INTERVAL_SECONDS = 600.0  # ...and this long has passed since the last save
SIMILAR_EXTRA = 5  # neighbours asked for beyond k, to make up for duplicates dropped
QUERY_EMBED_THREADS = 1  # one query is too short to gain from more
STOP_TIMEOUT_SECONDS = 30.0
CATCH_UP_BATCH_CHANGES = 1_000  # changes applied under the lock at a time (about 2 s): searches run between
STORE_ID_CHECKPOINT = "search:store_id"
SEARCH_DEADLINE_SECONDS = 1.0  # past this, a search leaves out the meaning side (engine.run_query)
MAX_RESULT_WINDOW = 10_000  # results reachable by paging, as Elasticsearch's max_result_window
SIMILAR_BY_WORDS = "shares words with its title"  # why, for a paper without a vector yet
# What the paper page says when its similar papers are not by meaning, or absent:
SIMILAR_BY_WORDS_NOTE = "Found by the words of its title: this paper has no meaning vector yet."
SIMILAR_NO_MEANING_NOTE = "Found by the words of its title: search by meaning is not ready yet."
SIMILAR_NOT_OPEN = "Similar papers will show once the search index is open; reload in a minute."
SIMILAR_NONE = "No similar papers found yet."


@dataclass(frozen=True)
class IndexState:
    """How far the indexes of a process are, for the status page and the search page."""

    paper_count: int = 0  # papers in the keyword index
    vector_count: int = 0  # papers in the vector index
    pending_count: int = 0  # store changes not applied yet (an upper bound)
    is_open: bool = True  # False until the indexes are read or a build starts
    skipped_count: int = 0  # papers the follower could not index (KeywordIndex.skipped)

    @property
    def is_building(self) -> bool:
        """Whether a long catch-up (a first build, a large ingest) is under way."""
        return self.pending_count > REQUEST_CATCH_UP_MAX


class SearchBusy(Exception):
    """The indexes are held by a long catch-up (a first build, a large ingest); try again shortly."""


@dataclass(frozen=True)
class SearchResults:
    """One page of a search, with how current the indexes were when it ran."""

    page: SearchPage
    mode: str
    pending_count: int  # store changes (papers and vectors) the indexes have not applied yet
    is_semantic_ready: bool  # whether any paper had a vector to compare by meaning
    indexed_count: int = 0  # papers in the keyword index when it ran


def index_folder(root: Path, store: Store) -> Path:
    """Where the indexes of `store` live under `root`: one folder per store, named by a
    hash of its URL (less any password) and of an id kept in the store's checkpoints,
    so a new database at the same address gets indexes of its own."""
    store_id = store.get_checkpoint(STORE_ID_CHECKPOINT)
    if store_id is None:
        store_id = uuid.uuid4().hex
        store.set_checkpoint(STORE_ID_CHECKPOINT, store_id)
    parts = urlsplit(store.url)
    address = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
    return root / hashlib.blake2b(f"{address}\n{store_id}".encode(), digest_size=8).hexdigest()


class SearchService:
    """The search indexes of one process for one store, and the searches run on them.

    `cache_dir` None keeps the indexes in memory only. The query embedder is
    `embedder`, or loaded by `load_embedder()` when the indexes are first opened;
    without either (or if loading fails) search is by keywords only.
    """

    def __init__(self, cache_dir: Path | None, *, embedder=None, load_embedder: Callable | None = None):
        self.cache_dir = cache_dir
        self._embedder = embedder
        self._load_embedder = load_embedder
        self._indexes: Indexes | None = None
        self._lock = threading.Lock()
        self._unsaved_count = 0
        self.state = IndexState(is_open=False)  # read without the lock: replaced whole, never changed
        self._saved_at = time.monotonic()
        self.holder = f"{default_holder()}:{id(self):x}"
        self._is_followed = False  # True once this process's index job runs (keep_current)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SearchService":
        """Indexes under PAPERWIRE_CACHE_DIR/indexes, the model from PAPERWIRE_CACHE_DIR/models."""
        from paperwire.search.embed import Embedder

        def load_embedder():
            return Embedder.from_settings(settings, threads=QUERY_EMBED_THREADS)

        return cls(settings.cache_path / "indexes", load_embedder=load_embedder)

    @property
    def indexes(self) -> Indexes | None:
        """The published indexes, None until first opened: a snapshot that no catch-up
        changes (the next one publishes a new object), safe to search from any thread."""
        return self._indexes

    # --- keeping current ----------------------------------------------------
    @contextmanager
    def _locked(self, *, wait: float = LOCK_WAIT_SECONDS):
        if not self._lock.acquire(timeout=wait):
            raise SearchBusy("the search index is being built or updated; try again in a minute")
        try:
            yield
        finally:
            self._lock.release()

    def catch_up(
        self, store: Store, *, max_changes: int | None = None, wait: float = -1,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Apply the store's new paper changes and vectors to the indexes (opening them
        first if needed); returns how many are left, 0 when they are current. With
        `max_changes`, a larger backlog is left alone (for `follow`'s thread) and
        its size, an upper bound, is returned. Raises SearchBusy after `wait` seconds
        (-1: no limit) if another thread is catching up. `on_progress(done, total)`
        is called after each batch of CATCH_UP_BATCH_CHANGES; searches run between batches."""
        with self._locked(wait=wait):
            paper_seq, embed_seq = store.last_change_seq(), store.last_embed_seq()
            indexes = self._open(store, paper_seq=paper_seq, embed_seq=embed_seq)
            total = _pending(indexes, paper_seq, embed_seq)
            self._note(indexes, total)
            if total == 0 or (max_changes is not None and total > max_changes):
                return total
        # In batches, each under the lock: searches run in between, on the papers
        # indexed so far, instead of waiting minutes for a first build (issue #9).
        left = total
        while left > 0:
            with self._locked(wait=wait):
                indexes = self._indexes.fork()
                sync(store, indexes, max_changes=CATCH_UP_BATCH_CHANGES)
                now_left = _pending(indexes, paper_seq, embed_seq)
                is_done = now_left == left or now_left <= 0  # no progress: the rest are gaps
                if is_done and indexes.vectors is not None:
                    # Vectors become visible in embed_seq order, so every vector of this model up to
                    # embed_seq (read before the sync) is in; other models' may lie past the cursor.
                    indexes.vectors.change_seq = max(indexes.vectors.change_seq, embed_seq)
                left = 0 if is_done else now_left
                self._indexes = indexes  # published whole: searches from now on see this batch
                self._note(indexes, left)
            if on_progress is not None:
                on_progress(total - left, total)
        self._unsaved_count += total
        return 0

    def _note(self, indexes: Indexes, pending: int) -> None:
        vectors = indexes.vectors
        self.state = IndexState(len(indexes.lexical), len(vectors) if vectors is not None else 0, pending,
                                skipped_count=len(indexes.lexical.skipped))

    def rebuild(
        self, store: Store, *, on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[int, int]:
        """Drop the indexes, build them again from the store, and save them; returns
        (papers indexed, papers with a vector)."""
        with self._locked(wait=-1):
            self._indexes = None
            self._open(store, paper_seq=store.last_change_seq(), embed_seq=store.last_embed_seq(), fresh=True)
        self.catch_up(store, on_progress=on_progress)
        self.save()
        vectors = self._indexes.vectors
        return len(self._indexes.lexical), len(vectors) if vectors is not None else 0

    def _open(self, store: Store, *, paper_seq: int, embed_seq: int, fresh: bool = False) -> Indexes:
        """The indexes, read from their folder the first time (unless `fresh`). The query
        embedder is loaded once the store has vectors (`embed_seq` > 0): not needed before."""
        if self._indexes is None:
            embedder = self._embedder_or_none() if embed_seq else self._embedder
            folder = index_folder(self.cache_dir, store) if self.cache_dir else None
            indexes = Indexes.open(folder, embedder=embedder, fresh=fresh)
            is_stale = indexes.vectors is not None and indexes.vectors.change_seq > embed_seq
            if indexes.lexical.change_seq > paper_seq or is_stale:
                log.warning("the saved search indexes in %s are ahead of the store (was it replaced?); "
                            "rebuilding them", folder)
                indexes = Indexes.open(folder, embedder=embedder, fresh=True)
            self._indexes = dataclasses.replace(indexes, folder=folder)
        elif self._indexes.vectors is None and embed_seq and self._embedder_or_none() is not None:
            embedder = self._embedder
            self._indexes = dataclasses.replace(
                self._indexes, embedder=embedder, vectors=VectorIndex(embedder.dim, model_id=embedder.model_id),
            )
        return self._indexes

    def _embedder_or_none(self):
        from paperwire.search.embed import EmbedderError

        if self._embedder is None and self._load_embedder is not None:
            try:
                self._embedder = self._load_embedder()
            except EmbedderError as error:
                log.warning("search by meaning is off: %s", error)
            self._load_embedder = None
        return self._embedder

    def save(self) -> None:
        """Write the indexes to their folder (nothing to do in memory-only mode)."""
        with self._locked(wait=-1):
            if self._indexes is not None and self._indexes.folder is not None:
                indexes = self._indexes.fork()  # saving merges segments: not on what searches read
                indexes.save()
                self._indexes = indexes
                self._unsaved_count = 0
                self._saved_at = time.monotonic()

    def keep_current(self, store: Store) -> str | None:
        """The background "index" job: catch up with the store (the first time, build the
        indexes), and save them once SAVE_AFTER_CHANGES changes are unsaved and
        SAVE_INTERVAL_SECONDS have passed since the last save. Returns how many changes
        it applied (searches may have applied some too), None when there were none."""
        self._is_followed = True  # from now on searches leave catching up to this job
        unsaved = self._unsaved_count
        self.catch_up(store)
        applied = self._unsaved_count - unsaved
        if self._unsaved_count >= SAVE_AFTER_CHANGES and time.monotonic() - self._saved_at >= SAVE_INTERVAL_SECONDS:
            self.save_shared(store)
        return f"{applied} store changes applied" if applied > 0 else None

    def save_shared(self, store: Store) -> None:
        """Save unsaved changes, unless another process is saving into the same folder right
        now (web processes of one store share it, and a vector index's files must not interleave)."""
        if not self._unsaved_count or self._indexes is None or self._indexes.folder is None:
            return
        run_with_lease(store, f"search index {self._indexes.folder.name}", self.holder, self.save)

    # --- searching ----------------------------------------------------------
    def search(
        self, store: Store, text: str, *, mode: str = "hybrid", sort: str = "relevance",
        filters: Filters | None = None, limit: int = 20, offset: int = 0, now: datetime | None = None,
    ) -> SearchResults:
        """A page of papers for what the user typed and the form's filters. `mode`:
        "hybrid" (keywords and meaning, fused), "lexical" or "semantic"; `sort`:
        "relevance", "newest" or "trending" (of the POOL_SIZE most relevant, by
        feed.trending_score at `now`). A search that takes SEARCH_DEADLINE_SECONDS before
        its meaning side gives keyword matches only (`page.is_partial`). Raises ValueError
        for an unknown mode or sort or a page past MAX_RESULT_WINDOW, SearchBusy while
        the indexes are first opened."""
        deadline = time.monotonic() + SEARCH_DEADLINE_SECONDS
        if offset + limit > MAX_RESULT_WINDOW:
            raise ValueError(f"search results stop at the {MAX_RESULT_WINDOW:,}th; narrow the search "
                             "(more words, a phrase, cat:, year:) to see the papers past it")
        if mode not in MODES:
            raise ValueError(f"search mode {mode!r} is not known; use one of {', '.join(MODES)}")
        if sort not in SORTS:
            raise ValueError(f"sort {sort!r} is not known; use one of {', '.join(SORTS)}")
        pending = self._catch_up_or_skip(store, wait=LOCK_WAIT_SECONDS)
        indexes = searched = self._indexes  # one snapshot for the whole search
        is_ready = indexes.vectors is not None and len(indexes.vectors) > 0
        if mode == "lexical":  # the engine ranks by keywords alone without an embedder
            indexes = dataclasses.replace(indexes, embedder=None)
        elif mode == "semantic" and parse(text).text and is_ready:  # else keywords stand in
            indexes = dataclasses.replace(indexes, lexical=_FiltersOnly(indexes.lexical))
        if sort == "trending":
            page = _by_trending(store, indexes, text, filters=filters, limit=limit, offset=offset,
                                now=now or datetime.now(timezone.utc), deadline=deadline)
        else:
            page = search(store, indexes, text, filters=filters, sort=sort, limit=limit, offset=offset,
                          deadline=deadline)
        return SearchResults(page, mode, pending, is_ready, len(searched.lexical))

    def _catch_up_or_skip(self, store: Store, *, wait: float) -> int:
        """Apply a small backlog before a search; while another thread is writing, search
        the published indexes at once instead of waiting (their pending count is returned).
        Only a process that has not opened its indexes yet waits, up to `wait` seconds.
        Where the index job runs (keep_current), a search never applies changes once the
        indexes are open: it reads the published snapshot, at most FOLLOW_SECONDS plus the
        job's work behind (issue #15: a search applying up to 500 changes took 5.5 s under load)."""
        if self._is_followed and self._indexes is not None:
            return self.state.pending_count
        try:
            return self.catch_up(store, max_changes=REQUEST_CATCH_UP_MAX,
                                 wait=0 if self._indexes is not None else wait)
        except SearchBusy:
            if self._indexes is None:
                raise
            return self.state.pending_count

    def similar(self, store: Store, arxiv_id: str, *, k: int = 10) -> list[SearchHit]:
        """Up to `k` papers like `arxiv_id`, nearest in meaning first (by title words while
        it has no vector yet), without the paper itself or papers of the same title;
        raises NotFound for a paper the store does not have, SearchBusy after
        SIMILAR_WAIT_SECONDS while a long catch-up holds the indexes."""
        row_id = store.paper_ids([arxiv_id]).get(arxiv_id)
        if row_id is None:
            raise NotFound(f"no paper {arxiv_id!r} in the store")
        self._catch_up_or_skip(store, wait=SIMILAR_WAIT_SECONDS)
        hits = similar(store, self._indexes, row_id, limit=k + SIMILAR_EXTRA)
        own_title = store.get_paper(arxiv_id).title
        seen = {normalise_name(own_title)}
        kept = []
        for hit in hits:
            title = normalise_name(hit.paper.title)
            if hit.paper.arxiv_id != arxiv_id and title not in seen:
                seen.add(title)
                kept.append(hit if hit.meaning_rank else dataclasses.replace(hit, why=SIMILAR_BY_WORDS))
        return kept[:k]

    def author_candidates(self, store: Store, name: str) -> list[int] | None:
        """Row ids of the papers by author `name` as the keyword index has them (each
        author's whole name, papers.normalise_name-folded), for the store to read and check
        instead of scanning every paper's authors (150 ms at 75k papers, seconds at all of
        arXiv). None while the indexes are not open or are behind the store (being built
        at a first start, or a paper just written): the store scans, so the page is never
        short of a paper the index has not yet taken."""
        indexes = self._indexes
        if indexes is None or not normalise_name(name):
            return None
        if indexes.lexical.change_seq < store.last_change_seq():
            return None
        return indexes.lexical.author_ids(name).tolist()

    def similar_with_note(self, store: Store, arxiv_id: str, *, k: int = 10) -> tuple[list[SearchHit], str | None]:
        """`similar`, with what the paper page says about them: None when they are by
        meaning, else why not, so that they never vanish silently (issue #15: "Similar
        papers" was missing from 316 of 317 paper pages). Raises NotFound as `similar`."""
        try:
            hits = self.similar(store, arxiv_id, k=k)
        except SearchBusy:
            return [], SIMILAR_NOT_OPEN
        if not hits:
            return [], SIMILAR_NONE
        if any(hit.meaning_rank for hit in hits):
            return hits, None
        vectors = self._indexes.vectors
        is_ready = vectors is not None and len(vectors) > 0
        return hits, SIMILAR_BY_WORDS_NOTE if is_ready else SIMILAR_NO_MEANING_NOTE


def hit_to_dict(hit: SearchHit) -> dict:
    """A search hit as JSON-ready data (the API's and `paperwire search --json`'s)."""
    return {
        "paper": to_dict(hit.paper), "score": hit.score, "keyword_rank": hit.keyword_rank,
        "meaning_rank": hit.meaning_rank, "matched_words": list(hit.matched_words), "why": hit.why,
    }


def results_to_dict(results: SearchResults) -> dict:
    """SearchResults as JSON-ready data, for the API and `paperwire search --json`."""
    page = results.page
    return {
        "ok": True, "mode": results.mode, "sort": page.sort, "total_count": page.total_count,
        "keyword_count": page.keyword_count, "meaning_only_count": page.meaning_only_count,
        "ignored": list(page.query.ignored), "pending_count": results.pending_count,
        "is_semantic_ready": results.is_semantic_ready, "indexed_count": results.indexed_count,
        "suggestion": page.suggestion, "is_partial": page.is_partial,
        "hits": [hit_to_dict(hit) for hit in page.hits],
    }


def _pending(indexes: Indexes, paper_seq: int, embed_seq: int) -> int:
    """Store changes up to (paper_seq, embed_seq) not in the indexes yet: an upper bound,
    as sequence numbers have gaps."""
    pending = paper_seq - indexes.lexical.change_seq
    if indexes.vectors is not None:
        pending += max(embed_seq - indexes.vectors.change_seq, 0)
    return pending


class _FiltersOnly:
    """A keyword index that ranks nothing but filters as the real one does: with it the
    engine ranks by meaning alone (the semantic mode)."""

    def __init__(self, lexical):
        self._lexical = lexical

    def search(self, query, **_) -> list[tuple[int, float]]:
        return []

    def ranked(self, query, **_) -> tuple[int, list[tuple[int, float]]]:
        return 0, []

    def newest(self, query, **_) -> tuple[int, list[int]]:
        return 0, []

    def scores_of(self, query, paper_ids) -> dict[int, float]:
        return {}

    def __getattr__(self, name):
        return getattr(self._lexical, name)


def _by_trending(store: Store, indexes: Indexes, text: str, *, filters, limit, offset, now,
                 deadline=None) -> SearchPage:
    """The page of the POOL_SIZE most relevant papers ordered by feed.trending_score
    (a paper's most upvotes on any daily list), ties by relevance."""
    pool = search(store, indexes, text, filters=filters, limit=POOL_SIZE, deadline=deadline)

    def score(hit: SearchHit) -> float:
        upvotes = max((e.upvote_count for e in store.daily_entries_for(hit.paper.arxiv_id)), default=0)
        return feed.trending_score(upvotes, hit.paper.published_at, now)

    hits = sorted(pool.hits, key=lambda hit: -score(hit))
    return SearchPage(pool.query, hits[offset : offset + limit], len(hits), offset, limit, "trending",
                      is_partial=pool.is_partial)
