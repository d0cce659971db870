"""The harvest that keeps a store fresh: new arXiv papers, today's HF list.

`run` is one harvest: for each source it fetches and stores through
`ingest.run`, recorded as a job run (jobs/runs.py) that ends ok or failed, so
the status page shows what happened. `due_at` is the schedule, and
`run_if_due` the background job that jobs/table.py runs under the "harvest"
lease, in `paperwire serve` and `paperwire worker` alike. What to fetch and
how is the source modules'; storing is ingest's; this module only decides
when and what to ask.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Iterator

from paperwire import ingest
from paperwire.config import Settings
from paperwire.jobs.runs import JobFailed, record_job_run
from paperwire.sources import Batch, FetchError, arxiv_api, fetchers, hf_daily
from paperwire.store import JobRun, Store, StoreError

log = logging.getLogger(__name__)

JOB_PREFIX = "harvest "  # job runs are named "harvest arxiv_api", "harvest hf_daily"
FIRST_HARVEST_DAYS = 3  # how far back a store that was never harvested starts
# arXiv announces some papers days after submission (weekends, moderation holds), and
# the API filters by submission date; re-reading a few days costs little because the
# store skips records it has seen (store/records.py, plan_upsert).
OVERLAP_DAYS = 3
MAX_RESULTS = 5_000  # per arXiv harvest: a few busy days of four big categories
STOP_TIMEOUT_SECONDS = 5.0  # at shutdown; a request in flight may take longer, and is left to end
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
    def work() -> str:
        summary = _ingest(store, source, batches, stop)
        if source == arxiv_api.SOURCE:
            store.set_checkpoint(_checkpoint(source), now.date().isoformat())
        return summary

    try:
        return Outcome(source, "ok", record_job_run(store, JOB_PREFIX + source, work, now=now))
    except JobFailed as failure:
        return Outcome(source, "failed", str(failure))


def _ingest(store: Store, source: str, batches: Callable[[], Iterable[Batch]], stop) -> str:
    """Store what `batches()` yields; returns ingest's summary, or raises JobFailed saying what went wrong."""
    stored = ingest.IngestReport()  # ingest's own tally once a batch is in, for failures

    def on_batch(_batch: Batch, so_far: ingest.IngestReport) -> None:
        nonlocal stored
        stored = so_far

    try:
        ingest.run(store, _until(stop, batches()), source=source, on_batch=on_batch)
    except (FetchError, StoreError) as error:
        log.warning("harvest %s failed: %s", source, error)
        raise JobFailed(f"{error} (stored before failing: {stored.summary()})") from error
    except Exception as error:  # a parser or store bug: show it on /status, keep serving
        log.exception("harvest %s failed unexpectedly", source)
        raise JobFailed(f"unexpected {type(error).__name__}: {error}") from error
    if stop is not None and stop.is_set():
        raise JobFailed(f"stopped at shutdown after {stored.summary()}")
    return stored.summary()


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


def is_wanted(settings: Settings) -> bool:
    """Whether `paperwire serve` harvests in the background (`paperwire worker` always does)."""
    return settings.harvest_enabled and bool(settings.categories or settings.harvest_hf_daily)


def next_run_at(store: Store, settings: Settings, *, now: datetime) -> datetime:
    """When the next harvest is due, by the job runs in `store` (see `due_at`)."""
    runs = store.recent_job_runs(limit=RECENT_RUN_COUNT)
    return due_at(runs, interval_minutes=settings.harvest_interval_minutes, now=now)


def run_if_due(
    store: Store, settings: Settings, *, now: datetime, stop: threading.Event | None = None,
) -> str | None:
    """The background harvest job: `run` if it is due, and one line of what each source
    did; None when it was not due or no source is enabled."""
    if next_run_at(store, settings, now=now) > now:
        return None
    outcomes = run(store, settings, now=now, stop=stop)
    return "; ".join(f"{o.source} {o.status}: {o.summary}" for o in outcomes) or None
