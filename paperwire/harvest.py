"""The background harvest that keeps `paperwire serve` fresh: new arXiv papers, today's HF list.

`run` is one harvest: for each source it records a job run, fetches, stores
through `ingest.run` and finishes the job run as ok or failed, so the status
page shows what happened. `Harvester` calls `run` on a schedule in a thread of
its own with its own store connection. What to fetch and how is the source
modules'; storing is ingest's; this module only decides when and what to ask.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from paperwire import ingest
from paperwire.config import Settings
from paperwire.sources import Batch, FetchError, arxiv_api, fetchers, hf_daily
from paperwire.store import JobRun, Store, StoreError, open_store

log = logging.getLogger(__name__)

JOB_PREFIX = "harvest "  # job runs are named "harvest arxiv_api", "harvest hf_daily"
FIRST_HARVEST_DAYS = 3  # how far back a store that was never harvested starts
# arXiv announces some papers days after submission (weekends, moderation holds), and
# the API filters by submission date; re-reading a few days costs little because the
# store skips records it has seen (store/records.py, plan_upsert).
OVERLAP_DAYS = 3
MAX_RESULTS = 5_000  # per arXiv harvest: a few busy days of four big categories
STOP_TIMEOUT_SECONDS = 5.0
LEASE_BUSY_RETRY_SECONDS = 60.0  # another process holds the harvest lease: look again this soon
RECENT_RUN_COUNT = 50  # job runs read back to find when the harvest last started


@dataclass(frozen=True)
class Outcome:
    """What one source's harvest did: its job run status and one-line summary."""

    source: str
    status: str  # "ok" or "failed"
    summary: str


def run(
    store: Store,
    settings: Settings,
    *,
    now: datetime,
    fetch_arxiv: Callable[..., Iterable[Batch]] = fetchers.arxiv,
    fetch_hf_daily: Callable[..., Iterable[Batch]] = fetchers.hf,
    stop: threading.Event | None = None,
) -> list[Outcome]:
    """Harvest each enabled source once and return what each did; one source failing
    does not keep the others from running. Returns [] when no source is enabled."""
    outcomes = []
    if settings.categories:
        since = _arxiv_since(store.get_checkpoint(_checkpoint(arxiv_api.SOURCE)), now=now)
        query = arxiv_api.Query(categories=tuple(settings.categories), submitted_from=since)
        outcomes.append(_harvest(
            store, arxiv_api.SOURCE, now=now, stop=stop,
            batches=lambda: fetch_arxiv(settings, query, max_results=MAX_RESULTS),
        ))
    if settings.harvest_hf_daily:
        outcomes.append(_harvest(
            store, hf_daily.SOURCE, now=now, stop=stop,
            batches=lambda: fetch_hf_daily(settings, [now.date()], now=now),
        ))
    return outcomes


def _harvest(store: Store, source: str, *, now: datetime, batches, stop) -> Outcome:
    run_id = store.start_job_run(JOB_PREFIX + source, now=now)
    started = time.monotonic()
    stored = ingest.IngestReport()  # ingest's own tally once a batch is in, for failures

    def on_batch(_batch: Batch, so_far: ingest.IngestReport) -> None:
        nonlocal stored
        stored = so_far

    try:
        ingest.run(store, _until(stop, batches()), source=source, on_batch=on_batch)
    except (FetchError, StoreError) as error:
        status, summary = "failed", f"{error} (stored before failing: {stored.summary()})"
        log.warning("harvest %s failed: %s", source, error)
    except Exception as error:  # a parser or store bug: show it on /status, keep serving
        status, summary = "failed", f"unexpected {type(error).__name__}: {error}"
        log.exception("harvest %s failed unexpectedly", source)
    else:
        status, summary = "ok", stored.summary()
        if stop is not None and stop.is_set():
            status, summary = "failed", f"stopped at shutdown after {summary}"
        elif source == arxiv_api.SOURCE:
            store.set_checkpoint(_checkpoint(source), now.date().isoformat())
    finished_at = now + timedelta(seconds=time.monotonic() - started)
    store.finish_job_run(run_id, status=status, summary=summary, now=finished_at)
    return Outcome(source, status, summary)


def _until(stop: threading.Event | None, batches: Iterable[Batch]) -> Iterator[Batch]:
    for batch in batches:
        if stop is not None and stop.is_set():
            return
        yield batch


def _checkpoint(source: str) -> str:
    return f"harvest:{source}"


def _arxiv_since(last_day: str | None, *, now: datetime) -> date:
    """The first submission day to ask arXiv for, given the day of the last good harvest."""
    if last_day is None:
        return now.date() - timedelta(days=FIRST_HARVEST_DAYS)
    return date.fromisoformat(last_day) - timedelta(days=OVERLAP_DAYS)


def due_at(runs: list[JobRun], *, interval_minutes: int, now: datetime) -> datetime:
    """When the next harvest is due: `interval_minutes` after the last one started
    (ok or not), or `now` when there was none, so a restart does not harvest again."""
    starts = [r.started_at for r in runs if r.job.startswith(JOB_PREFIX)]
    return max(starts) + timedelta(minutes=interval_minutes) if starts else now


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Harvester:
    """Runs `run` whenever it is due, in a daemon thread with its own store on `url`.

    `next_run_at` says when the next harvest starts (None before the thread has looked).
    """

    def __init__(self, settings: Settings, *, url: str, clock: Callable[[], datetime] = _utcnow):
        self.settings = settings
        self.url = url
        self.clock = clock
        self.next_run_at: datetime | None = None
        self.holder = f"serve:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="paperwire-harvest", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Ask the thread to stop and wait up to `timeout` seconds; a request in flight
        may outlast that, and the daemon thread then ends with the process."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("harvest still busy after %.0f s; leaving it to end with the process", timeout)

    def _loop(self) -> None:
        try:
            store = open_store(self.url)
        except StoreError as error:
            log.error("background harvest cannot open the store, so it is off: %s", error)
            return
        try:
            while not self._stop.is_set():
                try:
                    wait = self._step(store)
                except Exception:  # the web server and the schedule outlive any one failure
                    wait = self.settings.harvest_interval_minutes * 60
                    log.exception("background harvest failed; trying again in %.0f s", wait)
                self._stop.wait(wait)
        finally:
            store.close()

    def _step(self, store: Store) -> float:
        """Harvest if due and no other process is harvesting (the "harvest" lease, shared
        with `paperwire worker`); return the seconds until it should look again."""
        from paperwire import worker

        outcome = worker.run_with_lease(
            store, worker.HARVEST_LEASE, self.holder, lambda: self._harvest_if_due(store),
            worker.LEASE_TTL_SECONDS, clock=self.clock,
        )
        return outcome.value if outcome.ran else LEASE_BUSY_RETRY_SECONDS

    def _harvest_if_due(self, store: Store) -> float:
        now = self.clock()
        runs = store.recent_job_runs(limit=RECENT_RUN_COUNT)
        interval = self.settings.harvest_interval_minutes
        self.next_run_at = due_at(runs, interval_minutes=interval, now=now)
        if self.next_run_at > now:
            return (self.next_run_at - now).total_seconds()
        self.next_run_at = now + timedelta(minutes=interval)
        # We hold the lease, so a harvest run still marked running died with its process.
        store.abandon_job_runs(JOB_PREFIX, now=now)
        # Once a run is recorded, the next step finds it and waits; with no source
        # enabled nothing is recorded, so wait here instead of spinning.
        return 0.0 if run(store, self.settings, now=now, stop=self._stop) else interval * 60.0
