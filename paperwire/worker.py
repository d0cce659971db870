"""`paperwire worker`: background jobs that many processes may run, each at most once at a time.

A job (the harvest, the embedding of new papers) runs only while its worker holds
the job's lease in the store; the lease is renewed while the job runs and expires
if the worker dies, so another worker takes over. A job decides for itself
whether it is due (the harvest looks at its job runs), and it decides that while
holding the lease, so two workers never both find it due. What the jobs do is
harvest.py's and search/'s; this module only schedules them and guards them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, TypeVar

from paperwire.store import Store

log = logging.getLogger(__name__)

HARVEST_LEASE = "harvest"  # shared by `paperwire worker` and the harvest inside `paperwire serve`
LEASE_TTL_SECONDS = 300.0  # a dead worker's job is taken over this long after its last renewal
POLL_SECONDS = 60.0  # how often an idle worker looks for due jobs

T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_holder() -> str:
    """This process's name in the leases table: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LeaseRun:
    """What `run_with_lease` did. `ran` is False when another holder had the lease;
    `lost` is True when a renewal failed while the job ran (it was taken over after expiry)."""

    ran: bool
    value: object = None
    lost: bool = False


def run_with_lease(
    store: Store,
    name: str,
    holder: str,
    fn: Callable[[], T],
    ttl: float,
    *,
    clock: Callable[[], datetime] = _utcnow,
    renew_every_seconds: float | None = None,
) -> LeaseRun:
    """Run `fn()` if lease `name` can be taken for `holder`, renewing it every
    `renew_every_seconds` (default: a third of `ttl`) until `fn` returns, then release it.

    Returns LeaseRun(ran=False) at once while another holder has the lease; an
    exception from `fn` propagates after the lease is released.
    """
    if not store.acquire_lease(name, holder, ttl_seconds=ttl, now=clock()):
        return LeaseRun(ran=False)
    done = threading.Event()
    lost = threading.Event()

    def renew() -> None:
        while not done.wait(renew_every_seconds or ttl / 3):
            if not store.renew_lease(name, holder, ttl_seconds=ttl, now=clock()):
                log.error("lease %r of %s was taken over while its job ran", name, holder)
                lost.set()
                return

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        value = fn()
    finally:
        done.set()
        renewer.join()
        if not lost.is_set():
            store.release_lease(name, holder)
    return LeaseRun(ran=True, value=value, lost=lost.is_set())


@dataclass(frozen=True)
class Job:
    """A background job. `run(store, now)` does the work if it is due and returns a
    one-line summary, or None when nothing was due. `name` is also its lease's name."""

    name: str
    run: Callable[[Store, datetime], str | None]


def run_jobs(
    store: Store, jobs: list[Job], *, holder: str, ttl_seconds: float = LEASE_TTL_SECONDS,
    clock: Callable[[], datetime] = _utcnow,
) -> dict[str, str | None]:
    """One pass over `jobs`: each runs under its lease. Returns each job's summary, None
    for a job that was not due or whose lease another worker holds."""
    summaries = {}
    for job in jobs:
        result = run_with_lease(store, job.name, holder, lambda: job.run(store, clock()), ttl_seconds, clock=clock)
        summaries[job.name] = result.value if result.ran else None
    return summaries


def run_forever(
    store: Store, jobs: list[Job], *, holder: str, stop: threading.Event,
    poll_seconds: float = POLL_SECONDS, ttl_seconds: float = LEASE_TTL_SECONDS,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Run due jobs every `poll_seconds` until `stop` is set. A job that raises is
    logged and tried again at the next poll; the worker keeps going."""
    while not stop.is_set():
        try:
            for name, summary in run_jobs(store, jobs, holder=holder, ttl_seconds=ttl_seconds, clock=clock).items():
                if summary:
                    log.info("%s: %s", name, summary)
        except Exception:  # a worker outlives any one failure, like the in-process harvest
            log.exception("a background job failed; trying again in %.0f s", poll_seconds)
        stop.wait(poll_seconds)


def record_job_run(
    store: Store, job: str, fn: Callable[[], str], *, now: datetime, clock: Callable[[], datetime] = _utcnow,
) -> str:
    """Run `fn` as job run `job` (status ok with fn's summary, or failed with the error,
    which then propagates) and return the summary."""
    run_id = store.start_job_run(job, now=now)
    try:
        summary = fn()
    except Exception as error:
        store.finish_job_run(run_id, status="failed", summary=f"{type(error).__name__}: {error}", now=clock())
        raise
    store.finish_job_run(run_id, status="ok", summary=summary, now=clock())
    return summary


def harvest_job(settings, *, stop: threading.Event | None = None) -> Job:
    """The scheduled harvest of harvest.py, due `harvest_interval_minutes` after the last one;
    `stop` cuts a harvest short between batches (at shutdown)."""
    from paperwire import harvest

    def run(store: Store, now: datetime) -> str | None:
        runs = store.recent_job_runs(limit=harvest.RECENT_RUN_COUNT)
        if harvest.due_at(runs, interval_minutes=settings.harvest_interval_minutes, now=now) > now:
            return None
        store.abandon_job_runs(harvest.JOB_PREFIX, now=now)  # we hold the lease: those died
        outcomes = harvest.run(store, settings, now=now, stop=stop)
        return "; ".join(f"{o.source} {o.status}: {o.summary}" for o in outcomes) or None

    return Job(HARVEST_LEASE, run)


def embed_job(settings, *, stop: threading.Event | None = None) -> Job:
    """Embeds every live paper that has no vector for its current title and abstract
    (search/pipeline.py), recorded as job run "embed" when there was work. The model
    loads once per process; `stop` ends the job after the current batch."""
    from paperwire.search import pipeline
    from paperwire.search.embed import Embedder

    loaded: list = []

    def run(store: Store, now: datetime) -> str | None:
        if not loaded:
            loaded.append(Embedder.from_settings(settings))
        embedder = loaded[0]
        if not store.papers_to_embed(embedder.model_id, limit=1):
            return None
        return record_job_run(
            store, "embed", lambda: pipeline.embed_pending(store, embedder, stop=stop).summary(), now=now,
        )

    return Job("embed", run)
