"""Runs background jobs: once (`paperwire worker --once`) or in threads (`serve`, `worker`).

A `Job` says what to run and how often; a shared job runs under the lease of
its name, so across every process on one store at most one runs it at a time,
and it decides whether it is due while holding that lease, so two processes
never both find it due. A per-process job (keeping this process's search
indexes current) runs in every process that wants it. `Runner` gives each job
a daemon thread with its own store connection, logs a failure and tries again
at the next look, and on `stop` lets each job end between batches. Which jobs
exist is table.py's; what they do is their domain modules'.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from paperwire.leases import LEASE_TTL_SECONDS, default_holder, run_with_lease
from paperwire.store import Store, StoreError, open_store

log = logging.getLogger(__name__)

WAKE_SECONDS = 1.0  # how often `run_forever`'s waiting thread wakes, so Ctrl-C reaches it


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Job:
    """A background job. `run(store, now)` does the work if it is due and returns a
    one-line summary, or None when nothing was due.

    A shared job (`is_shared`) runs under the lease named `name` and names its job runs
    `name` or `name <part>`; a per-process one runs in every process that has it. The
    runner looks every `poll_seconds`, or sooner when `due_at(store, now)` (when the job
    next has work, if it knows) comes first. `at_stop(store)` runs once as the job
    stops; the runner waits `stop_timeout_seconds` for that.
    """

    name: str
    run: Callable[[Store, datetime], str | None]
    is_shared: bool
    poll_seconds: float
    due_at: Callable[[Store, datetime], datetime] | None = None
    at_stop: Callable[[Store], None] | None = None
    stop_timeout_seconds: float = 10.0


@dataclass
class JobState:
    """What a `Runner` thread knows of its job, for /status: when it last looked, when it
    last did work and what, and when it looks next (a scheduled job: when it is due)."""

    looked_at: datetime | None = None
    ran_at: datetime | None = None
    summary: str | None = None
    next_run_at: datetime | None = None


def run_once(
    store: Store, job: Job, *, holder: str, now: datetime, ttl_seconds: float = LEASE_TTL_SECONDS,
    clock: Callable[[], datetime] = _utcnow,
) -> str | None:
    """Run `job` once, under its lease if it is shared. Returns its summary, or None when
    it was not due or another holder has its lease."""
    if not job.is_shared:
        return job.run(store, now)

    def under_lease() -> str | None:
        # We hold the lease, so a run of this job still marked running died with its process.
        store.abandon_job_runs(job.name, now=now)
        return job.run(store, now)

    result = run_with_lease(store, job.name, holder, under_lease, ttl_seconds, clock=clock)
    return result.value if result.ran else None


def run_jobs(
    store: Store, jobs: list[Job], *, holder: str, ttl_seconds: float = LEASE_TTL_SECONDS,
    clock: Callable[[], datetime] = _utcnow,
) -> dict[str, str | None]:
    """One pass over `jobs`, in order. Returns each job's summary: None for a job that was
    not due or whose lease another holder has."""
    return {job.name: run_once(store, job, holder=holder, now=clock(), ttl_seconds=ttl_seconds, clock=clock)
            for job in jobs}


class Runner:
    """Runs `jobs` in daemon threads (`paperwire-<name>`), each with its own store on `url`,
    until `stop` is set. The jobs were built with the same `stop`, which cuts long work
    short between batches. `states` says how each is doing."""

    def __init__(
        self, jobs: list[Job], *, url: str, stop: threading.Event, holder: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ):
        self.jobs = jobs
        self.url = url
        self.holder = holder or f"{default_holder()}:{id(self):x}"  # two apps in one process: two holders
        self.clock = clock
        self.states = {job.name: JobState() for job in jobs}
        self._stop = stop
        self._threads = [threading.Thread(target=self._loop, args=(job,), name=f"paperwire-{job.name}",
                                          daemon=True) for job in jobs]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, *, is_patient: bool = False) -> None:
        """Set `stop` and wait for each thread, up to its job's `stop_timeout_seconds` (or until it
        ends, if `is_patient`); a thread still busy then (a request in flight) ends with the process."""
        self._stop.set()
        for job, thread in zip(self.jobs, self._threads):
            thread.join(None if is_patient else job.stop_timeout_seconds)
            if thread.is_alive():
                log.warning("background job %s still busy after %.0f s; leaving it to end with the process",
                            job.name, job.stop_timeout_seconds)

    def _loop(self, job: Job) -> None:
        try:
            store = open_store(self.url)
        except StoreError as error:
            log.error("background job %s cannot open the store, so it is off: %s", job.name, error)
            return
        try:
            while not self._stop.is_set():
                self._stop.wait(self._step(store, job))
            self._finish(store, job)
        finally:
            store.close()

    def _finish(self, store: Store, job: Job) -> None:
        if job.at_stop is None:
            return
        try:
            job.at_stop(store)
        except Exception:  # the process is ending anyway; say why its work was not kept
            log.exception("background job %s failed while stopping", job.name)

    def _step(self, store: Store, job: Job) -> float:
        """Run `job` once; return the seconds until it should look again."""
        state = self.states[job.name]
        try:
            state.looked_at = now = self.clock()
            summary = run_once(store, job, holder=self.holder, now=now, clock=self.clock)
            if summary is not None:
                state.ran_at, state.summary = now, summary
                # A per-process job's work is routine (every few seconds); a shared one's is news.
                log.log(logging.INFO if job.is_shared else logging.DEBUG, "%s: %s", job.name, summary)
            now = self.clock()
            due = job.due_at(store, now) if job.due_at else now + timedelta(seconds=job.poll_seconds)
        except Exception:  # the web server and the other jobs outlive any one failure
            log.exception("background job %s failed; trying again in %.0f s", job.name, job.poll_seconds)
            return job.poll_seconds
        state.next_run_at = due
        wait = (due - now).total_seconds()
        # Due already yet nothing ran (another holder has the lease): look again at the next poll.
        return wait if 0 < wait < job.poll_seconds else job.poll_seconds


def run_forever(
    jobs: list[Job], *, url: str, holder: str, stop: threading.Event, clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Run `jobs` in a Runner until `stop` is set or Ctrl-C, then wait for each to end its
    current batch (`paperwire worker`)."""
    runner = Runner(jobs, url=url, stop=stop, holder=holder, clock=clock)
    runner.start()
    try:
        while not stop.wait(WAKE_SECONDS):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop(is_patient=True)
