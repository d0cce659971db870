"""Search in a running process: the indexes of one store, kept current and shared.

engine.py ranks papers (`Indexes`, `sync`, `search`, `similar`); this module
runs it for the web app and the CLI. A `SearchService` finds the folder of its
store's indexes under the cache directory, opens them with the query embedder,
catches them up with the store before each search (two indexed MAX queries
when nothing changed) and in a background thread (`follow`), and saves them now
and then, so a restart catches up instead of rebuilding. New vectors are
followed through the store's vector cursor (`embeddings_changed_since`; the
cursor is kept in `VectorIndex.change_seq`, saved with the vectors), so papers
embedded in the background never make the vector index reload. One lock lets
the web server's threads share the indexes, which are not thread-safe.

On top of engine's ranking it adds what the product asks of a search: the mode
(hybrid, lexical or semantic), the trending sort, and similar papers by arXiv id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import socket
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
from paperwire.papers import normalise_name
from paperwire.search import Filters, Indexes, SearchHit, SearchPage, search, similar, sync
from paperwire.search.query import parse
from paperwire.store import NotFound, Store, StoreError, open_store

log = logging.getLogger(__name__)

MODES = ("hybrid", "lexical", "semantic")
SORTS = ("relevance", "newest", "trending")
POOL_SIZE = 100  # best papers that the semantic mode and the trending sort re-rank
REQUEST_CATCH_UP_MAX = 2_000  # store changes a search applies itself; more wait for the thread
FOLLOW_BATCH_SIZE = 10_000  # vectors read per embeddings_changed_since call
FOLLOW_SECONDS = 5.0  # how often the background thread looks for store changes
LOCK_WAIT_SECONDS = 5.0  # a search waits this long for a catch-up in another thread
SAVE_AFTER_CHANGES = 1_000  # the thread saves once this many changes are unsaved...
SAVE_INTERVAL_SECONDS = 600.0  # ...and this long has passed since the last save
SIMILAR_EXTRA = 5  # neighbours asked for beyond k, to make up for duplicates dropped
QUERY_EMBED_THREADS = 1  # one query is too short to gain from more
STOP_TIMEOUT_SECONDS = 30.0
STORE_ID_CHECKPOINT = "search:store_id"


class SearchBusy(Exception):
    """The indexes are held by a long catch-up (a first build, a large ingest); try again shortly."""


@dataclass(frozen=True)
class SearchResults:
    """One page of a search, with how current the indexes were when it ran."""

    page: SearchPage
    mode: str
    pending_count: int  # store changes (papers and vectors) the indexes have not applied yet
    is_semantic_ready: bool  # whether any paper had a vector to compare by meaning


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
        self._saved_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SearchService":
        """Indexes under PAPERWIRE_CACHE_DIR/indexes, the model from PAPERWIRE_CACHE_DIR/models."""
        from paperwire.search.embed import Embedder

        def load_embedder():
            return Embedder.load(settings.cache_path / "models", threads=QUERY_EMBED_THREADS)

        return cls(settings.cache_path / "indexes", load_embedder=load_embedder)

    # --- keeping current ----------------------------------------------------
    @contextmanager
    def _locked(self, *, wait: float = LOCK_WAIT_SECONDS):
        if not self._lock.acquire(timeout=wait):
            raise SearchBusy("the search index is being built or updated; try again in a minute")
        try:
            yield
        finally:
            self._lock.release()

    def catch_up(self, store: Store, *, max_changes: int | None = None, wait: float = -1) -> int:
        """Apply the store's new paper changes and vectors to the indexes (opening them
        first if needed); returns how many are left, 0 when they are current. With
        `max_changes`, a larger backlog is left alone (for `follow`'s thread) and
        its size, an upper bound, is returned. Raises SearchBusy after `wait` seconds
        (-1: no limit) if another thread is catching up."""
        with self._locked(wait=wait):
            indexes = self._open(store)
            paper_seq, embed_seq = store.last_change_seq(), store.last_embed_seq()
            pending = paper_seq - indexes.lexical.change_seq
            if indexes.vectors is not None:
                pending += max(embed_seq - indexes.vectors.change_seq, 0)
            if pending == 0 or (max_changes is not None and pending > max_changes):
                return pending
            vector_count = self._follow_vectors(store, indexes, embed_seq)
            self._unsaved_count += sync(store, indexes) + vector_count
            if indexes.vectors is not None and indexes.vectors.change_seq == 0 and len(indexes.vectors):
                # sync reloaded every vector (it does when counts differ): they are at least as
                # new as embed_seq, read before, so follow on from there.
                indexes.vectors.change_seq = embed_seq
            return 0

    def _open(self, store: Store) -> Indexes:
        if self._indexes is not None:
            return self._indexes
        embedder = self._embedder_or_none()
        folder = index_folder(self.cache_dir, store) if self.cache_dir else None
        indexes = Indexes.open(folder, embedder=embedder)
        stale_vectors = indexes.vectors is not None and indexes.vectors.change_seq > store.last_embed_seq()
        if indexes.lexical.change_seq > store.last_change_seq() or stale_vectors:
            log.warning("the saved search indexes in %s are ahead of the store (was it replaced?); rebuilding",
                        folder)
            indexes = Indexes.open(None, embedder=embedder)
            indexes.folder = folder
        self._indexes = indexes
        return indexes

    def _embedder_or_none(self):
        from paperwire.search.embed import EmbedderError

        if self._embedder is None and self._load_embedder is not None:
            try:
                self._embedder = self._load_embedder()
            except EmbedderError as error:
                log.warning("search by meaning is off: %s", error)
            self._load_embedder = None
        return self._embedder

    @staticmethod
    def _follow_vectors(store: Store, indexes: Indexes, embed_seq: int) -> int:
        """Add the vectors written since the vector index's cursor; returns how many.
        Vectors are visible in embed_seq order, so after reading up to `embed_seq`
        (the store's last when asked) the cursor may move there, past other models'."""
        vectors = indexes.vectors
        if vectors is None:
            return 0
        added = 0
        while True:
            ids, matrix, seq = store.embeddings_changed_since(
                vectors.model_id, vectors.change_seq, limit=FOLLOW_BATCH_SIZE
            )
            if not len(ids):
                break
            vectors.add(ids.tolist(), matrix)
            vectors.change_seq = seq
            added += len(ids)
        vectors.change_seq = max(vectors.change_seq, embed_seq)
        return added

    def save(self) -> None:
        """Write the indexes to their folder (nothing to do in memory-only mode)."""
        with self._locked(wait=-1):
            if self._indexes is not None and self._indexes.folder is not None:
                self._indexes.save()
                self._unsaved_count = 0
                self._saved_at = time.monotonic()

    def follow(self, url: str) -> None:
        """Keep the indexes current in a daemon thread with its own store on `url`: the
        first catch-up builds them, later ones apply new changes every FOLLOW_SECONDS;
        they are saved every SAVE_INTERVAL_SECONDS if changed, and when `stop` is called."""
        self._thread = threading.Thread(target=self._follow_loop, args=(url,), name="paperwire-index",
                                        daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the `follow` thread, which saves unsaved changes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the search index thread is still busy after %.0f s; leaving it", timeout)

    def _follow_loop(self, url: str) -> None:
        try:
            store = open_store(url)
        except StoreError as error:
            log.error("the search index thread cannot open the store, so searches catch up alone: %s", error)
            return
        try:
            while not self._stop.is_set():
                try:
                    self.catch_up(store)
                    if self._unsaved_count >= SAVE_AFTER_CHANGES and \
                            time.monotonic() - self._saved_at >= SAVE_INTERVAL_SECONDS:
                        self._save_under_lease(store)
                except Exception:  # searches go on with the indexes as they are
                    log.exception("catching the search indexes up failed; trying again in %.0f s", FOLLOW_SECONDS)
                self._stop.wait(FOLLOW_SECONDS)
            if self._unsaved_count:
                self._save_under_lease(store)
        finally:
            store.close()

    def _save_under_lease(self, store: Store) -> None:
        """Save, unless another process is saving into the same folder right now (web
        processes of one store share it, and a vector index's files must not interleave)."""
        from paperwire import worker

        if self._indexes is None or self._indexes.folder is None:
            return
        lease = f"search index {self._indexes.folder.name}"
        worker.run_with_lease(store, lease, self.holder, self.save, worker.LEASE_TTL_SECONDS)

    # --- searching ----------------------------------------------------------
    def search(
        self, store: Store, text: str, *, mode: str = "hybrid", sort: str = "relevance",
        filters: Filters | None = None, limit: int = 20, offset: int = 0, now: datetime | None = None,
    ) -> SearchResults:
        """A page of papers for what the user typed and the form's filters. `mode`:
        "hybrid" (keywords and meaning, fused), "lexical" or "semantic"; `sort`:
        "relevance", "newest" or "trending" (of the POOL_SIZE most relevant, by
        feed.trending_score at `now`). Raises ValueError for an unknown mode or sort,
        SearchBusy while a long catch-up holds the indexes."""
        if mode not in MODES:
            raise ValueError(f"search mode {mode!r} is not known; use one of {', '.join(MODES)}")
        if sort not in SORTS:
            raise ValueError(f"sort {sort!r} is not known; use one of {', '.join(SORTS)}")
        pending = self.catch_up(store, max_changes=REQUEST_CATCH_UP_MAX, wait=LOCK_WAIT_SECONDS)
        with self._locked():
            indexes = self._indexes
            is_ready = indexes.vectors is not None and len(indexes.vectors) > 0
            if mode == "lexical":
                indexes = dataclasses.replace(indexes, embedder=None)
            if sort == "trending" or (mode == "semantic" and parse(text).text):
                page = self._reranked(store, indexes, text, mode=mode, sort=sort, filters=filters,
                                      limit=limit, offset=offset, now=now)
            else:
                page = search(store, indexes, text, filters=filters, sort=sort, limit=limit, offset=offset)
        return SearchResults(page, mode, pending, is_ready)

    @staticmethod
    def _reranked(store, indexes, text, *, mode, sort, filters, limit, offset, now) -> SearchPage:
        """The page from the POOL_SIZE best papers, re-ranked: by meaning alone for the
        semantic mode, by trending score for the trending sort."""
        pool = search(store, indexes, text, filters=filters, sort="newest" if sort == "newest" else "relevance",
                      limit=POOL_SIZE)
        hits = pool.hits
        if mode == "semantic":
            hits = [h for h in hits if h.meaning_rank is not None]
            if sort != "newest":
                hits.sort(key=lambda h: h.meaning_rank)
        if sort == "trending":
            hits = trending(store, hits, now=now or datetime.now(timezone.utc))
        return SearchPage(pool.query, hits[offset : offset + limit], len(hits), offset, limit, sort)

    def similar(self, store: Store, arxiv_id: str, *, k: int = 10) -> list[SearchHit]:
        """Up to `k` papers like `arxiv_id`, nearest in meaning first (by title words while
        it has no vector yet), without the paper itself or papers of the same title;
        raises NotFound for a paper the store does not have."""
        row_id = store.paper_ids([arxiv_id]).get(arxiv_id)
        if row_id is None:
            raise NotFound(f"no paper {arxiv_id!r} in the store")
        self.catch_up(store, max_changes=REQUEST_CATCH_UP_MAX, wait=LOCK_WAIT_SECONDS)
        with self._locked():
            hits = similar(store, self._indexes, row_id, limit=k + SIMILAR_EXTRA)
        own_title = store.get_paper(arxiv_id).title
        seen = {normalise_name(own_title)}
        kept = []
        for hit in hits:
            title = normalise_name(hit.paper.title)
            if hit.paper.arxiv_id != arxiv_id and title not in seen:
                seen.add(title)
                kept.append(hit)
        return kept[:k]


def trending(store: Store, hits: list[SearchHit], *, now: datetime) -> list[SearchHit]:
    """`hits` by feed.trending_score (the most upvotes any daily list gave the paper),
    ties in their given order."""
    def score(hit: SearchHit) -> float:
        upvotes = max((e.upvote_count for e in store.daily_entries_for(hit.paper.arxiv_id)), default=0)
        return feed.trending_score(upvotes, hit.paper.published_at, now)

    scores = {id(hit): score(hit) for hit in hits}
    return sorted(hits, key=lambda hit: -scores[id(hit)])
