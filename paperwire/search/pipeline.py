"""The embedding pipeline: every live paper gets one vector per title and abstract.

Owns what the model reads of a paper (`paper_text`) and the loop that embeds
what lacks a current vector, batch by batch (`embed_pending`, behind
`paperwire index embed`), and the background job made of it (`embed_new`,
which records a job run). Which papers need a vector is the store's
`papers_to_embed`: a paper whose title/abstract hash already has one is skipped,
so a paper is embedded once per content change. The model is embed.py's;
running the job under the `embed` lease, in `paperwire serve` and `paperwire
worker`, is jobs/'s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from paperwire.jobs.runs import record_job_run
from paperwire.papers import Paper, text_hash
from paperwire.store import Store

JOB = "embed"  # the job's lease and job run name
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


def embed_new(store: Store, embedder, *, now: datetime, stop: threading.Event | None = None) -> str | None:
    """The background embed job: `embed_pending`, recorded as job run "embed" started at
    `now`; returns its summary, or None (and records nothing) when no paper lacks a vector."""
    if not store.papers_to_embed(embedder.model_id, limit=1):
        return None
    return record_job_run(store, JOB, lambda: embed_pending(store, embedder, stop=stop).summary(), now=now)
