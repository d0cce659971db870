"""The embedding pipeline: every live paper gets one vector per title and abstract.

Owns what the model reads of a paper (`paper_text`) and the loop that embeds
what lacks a current vector, batch by batch, in the foreground (`embed_pending`,
behind `paperwire index embed`) or in a thread of `paperwire serve`
(`BackgroundEmbedding`). Which papers need a vector is the store's
`papers_to_embed`: a paper whose title/abstract hash already has one is skipped,
so a paper is embedded once per content change. The model is embed.py's;
scheduling under the `embed` lease is worker.py's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from paperwire.config import Settings
from paperwire.papers import Paper, text_hash
from paperwire.store import Store, StoreError, open_store

log = logging.getLogger(__name__)

EMBED_BATCH_SIZE = 256  # papers per papers_to_embed / put_embeddings round
STOP_TIMEOUT_SECONDS = 10.0  # a batch of 256 takes about 5 s on 2 cores


def paper_text(paper: Paper) -> str:
    """What the model embeds of a paper: title and abstract (what `text_hash` covers),
    joined as docs/search.md measured them."""
    return f"{paper.title}. {paper.abstract}"


@dataclass(frozen=True)
class EmbedReport:
    """What `embed_pending` did: vectors stored, papers read, seconds spent in the model."""

    embedded_count: int = 0
    paper_count: int = 0
    model_seconds: float = 0.0
    elapsed_seconds: float = 0.0

    def summary(self) -> str:
        rate = self.paper_count / self.elapsed_seconds if self.elapsed_seconds else 0.0
        return f"{self.embedded_count} papers embedded ({rate:.1f} papers/s)"


def pending_count(store: Store, model_id: str) -> int:
    """About how many papers lack a vector of `model_id` (papers whose vector is stale
    are not counted), for a progress bar's total."""
    return max(store.stats().paper_count - store.embedding_count(model_id), 0)


def embed_pending(
    store: Store, embedder, *, batch_size: int = EMBED_BATCH_SIZE, stop: threading.Event | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> EmbedReport:
    """Embed papers until none lacks a current vector, or `stop` is set (checked between
    batches). `on_batch(n)` is called after each batch of n papers is stored.
    Returns an EmbedReport; with nothing to do, one of zeros."""
    started = time.perf_counter()
    embedded = papers = 0
    model_seconds = 0.0
    while not (stop and stop.is_set()):
        todo = store.papers_to_embed(embedder.model_id, limit=batch_size)
        if not todo:
            break
        begun = time.perf_counter()
        vectors = embedder.embed_documents([paper_text(p) for _, p in todo])
        model_seconds += time.perf_counter() - begun
        embedded += store.put_embeddings(
            embedder.model_id, [(row_id, text_hash(p), v) for (row_id, p), v in zip(todo, vectors)],
        )
        papers += len(todo)
        if on_batch:
            on_batch(len(todo))
    return EmbedReport(embedded, papers, model_seconds, time.perf_counter() - started)


class BackgroundEmbedding:
    """Runs the embed job of worker.py (under the `embed` lease it shares with
    `paperwire worker`) in a daemon thread with its own store on `url`, looking for
    papers without vectors every worker.POLL_SECONDS."""

    def __init__(self, settings: Settings, *, url: str):
        self.settings = settings
        self.url = url
        self.holder = f"serve:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="paperwire-embed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Ask the thread to stop after its current batch and wait up to `timeout` seconds."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("embedding still busy after %.0f s; leaving it to end with the process", timeout)

    def _loop(self) -> None:
        from paperwire import worker

        try:
            store = open_store(self.url)
        except StoreError as error:
            log.error("background embedding cannot open the store, so it is off: %s", error)
            return
        try:
            job = worker.embed_job(self.settings, stop=self._stop)
            worker.run_forever(store, [job], holder=self.holder, stop=self._stop)
        finally:
            store.close()
