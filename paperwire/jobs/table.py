"""The one table of background jobs, built from settings.

Each entry names a job, builds its `Job` (runner.py) around its domain
function, and says whether `paperwire serve` runs it with the given settings.
`paperwire worker` runs the shared jobs named in WORKER_JOBS whatever those
settings say. Adding a job is one entry here plus its domain function.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from paperwire import harvest, thumbnails, topicmap
from paperwire.config import Settings
from paperwire.digest import run as digest_run
from paperwire.jobs.runner import Job
from paperwire.library import foryou
from paperwire.search import pipeline
from paperwire.search import service as search_service
from paperwire.search.embed import Embedder
from paperwire.search.service import SearchService
from paperwire.store import Store

POLL_SECONDS = 60.0  # how often a shared job looks for due work
# Expired rows are refused by time when looked up; the sweep only keeps the tables small.
SWEEP_POLL_SECONDS = 3600.0
WORKER_JOBS = ("harvest", "embed", "sweep", "digest", "recommend", "maps")  # what `paperwire worker` runs (shared across processes)


def _harvest(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """New papers from the enabled sources, every `harvest_interval_minutes` (harvest.py)."""
    return Job(
        "harvest", lambda store, now: harvest.run_if_due(store, settings, now=now, stop=stop),
        is_shared=True, poll_seconds=POLL_SECONDS,
        due_at=lambda store, now: harvest.next_run_at(store, settings, now=now),
        stop_timeout_seconds=harvest.STOP_TIMEOUT_SECONDS,
    )


def _embed(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """A vector for every paper that lacks one (search/pipeline.py); the model loads at the
    first look, once per process, and a failure to load is retried at the next."""
    load = functools.cache(lambda: Embedder.from_settings(settings))

    def run(store: Store, now: datetime) -> str | None:
        return pipeline.embed_new(store, load(), now=now, stop=stop)

    return Job(pipeline.JOB, run, is_shared=True, poll_seconds=POLL_SECONDS,
               stop_timeout_seconds=pipeline.STOP_TIMEOUT_SECONDS)


def _index(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """This process's search indexes kept current with the store, and saved (search/service.py)."""
    assert search is not None, "the index job keeps a SearchService current"
    return Job("index", lambda store, now: search.keep_current(store), is_shared=False,
               poll_seconds=search_service.FOLLOW_SECONDS, at_stop=search.save_shared,
               stop_timeout_seconds=search_service.STOP_TIMEOUT_SECONDS)


def _thumbnails(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """The daily lists' thumbnails fetched once, checked, re-encoded and kept under the cache
    directory for /thumbnail/ to serve (thumbnails.py); per process, as the cache is."""
    return Job("thumbnails", lambda store, now: thumbnails.fetch_missing(
        store, settings.cache_path, allowed_hosts=settings.thumbnail_host_names, stop=stop),
               is_shared=False, poll_seconds=POLL_SECONDS)


def _sweep(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """Expired sessions, used or expired reset links and invites, and idle rate buckets
    deleted, hourly (store/accounts.py `sweep_expired`, store/ratebuckets.py)."""

    def run(store: Store, now: datetime) -> str | None:
        swept, bucket_count = store.sweep_expired(now=now), store.sweep_rate_buckets(now=now)
        if not swept.total_count and not bucket_count:
            return None
        return (f"deleted {swept.session_count} expired sessions, {swept.reset_link_count} reset links, "
                f"{swept.invite_count} invites, {bucket_count} idle rate buckets")

    return Job("sweep", run, is_shared=True, poll_seconds=SWEEP_POLL_SECONDS)


def _recommend(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """Each user's "for you" list kept current: models retrained when a library changes,
    new papers scored as they arrive (library/foryou.py); never per page view."""
    return Job(foryou.JOB, lambda store, now: foryou.refresh(store, now=now, stop=stop), is_shared=True,
               poll_seconds=POLL_SECONDS)


def _digest(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """Due email digests built, queued and sent exactly once (digest/run.py); nothing without
    PAPERWIRE_SMTP_HOST. Saved searches run on this process's search service (a worker makes one)."""
    service = functools.cache(lambda: search or SearchService.from_settings(settings))
    return Job(digest_run.JOB,
               lambda store, now: digest_run.run_job(store, settings, now=now, search=service(), stop=stop),
               is_shared=True, poll_seconds=digest_run.POLL_SECONDS)


def _maps(settings: Settings, stop: threading.Event, search: SearchService | None) -> Job:
    """The topic maps of the recent days, weeks and months made as papers and vectors arrive
    and kept in the store for every process (topicmap.py); a first view then reads one row."""
    return Job("maps", lambda store, now: topicmap.make_ahead(store, now=now, stop=stop), is_shared=True,
               poll_seconds=POLL_SECONDS)


@dataclass(frozen=True)
class _Entry:
    build: Callable[[Settings, threading.Event, SearchService | None], Job]
    is_in_serve: Callable[[Settings], bool]  # whether `paperwire serve` runs it


TABLE = {
    "harvest": _Entry(_harvest, harvest.is_wanted),
    "embed": _Entry(_embed, lambda settings: settings.embed_enabled),
    "index": _Entry(_index, lambda settings: True),
    "thumbnails": _Entry(_thumbnails, lambda settings: settings.harvest_enabled and settings.harvest_hf_daily),
    "sweep": _Entry(_sweep, lambda settings: True),
    "recommend": _Entry(_recommend, lambda settings: True),
    "digest": _Entry(_digest, lambda settings: bool(settings.smtp_host)),
    "maps": _Entry(_maps, lambda settings: True),
}


def for_serve(settings: Settings, *, search: SearchService, stop: threading.Event) -> list[Job]:
    """The jobs a `paperwire serve` process runs in its threads with these settings."""
    return [entry.build(settings, stop, search) for entry in TABLE.values() if entry.is_in_serve(settings)]


def for_worker(settings: Settings, names: tuple[str, ...], *, stop: threading.Event) -> list[Job]:
    """The jobs `names` (of WORKER_JOBS), for `paperwire worker`."""
    return [TABLE[name].build(settings, stop, None) for name in names]
