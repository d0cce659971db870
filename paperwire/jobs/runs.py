"""Job runs: each piece of background work that did something, as /status lists it.

`record_job_run` is the one way a job records its work (start, then ok or
failed with a one-line summary); the job_runs table is the store's. Closing
the runs of a process that died is the runner's, which knows when no other
process can be running them (it holds their lease).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from paperwire.store import Store


class JobFailed(Exception):
    """An expected failure of a job's work (an upstream that is down, a stop at
    shutdown): `record_job_run` ends the job run as failed with this message as its summary."""


def record_job_run(store: Store, job: str, work: Callable[[], str], *, now: datetime) -> str:
    """Run `work()` as job run `job`, started at `now`: ok with the summary it returns,
    or failed with what it raised (JobFailed's message, else the error's type and
    message), which then propagates. Returns the summary."""
    run_id = store.start_job_run(job, now=now)
    started = time.monotonic()
    try:
        summary = work()
    except Exception as error:
        summary = str(error) if isinstance(error, JobFailed) else f"{type(error).__name__}: {error}"
        store.finish_job_run(run_id, status="failed", summary=summary, now=_later(now, started))
        raise
    store.finish_job_run(run_id, status="ok", summary=summary, now=_later(now, started))
    return summary


def _later(now: datetime, started: float) -> datetime:
    # Timed from `now` on the monotonic clock, so a run never ends before it began,
    # whatever `now` was (a test's fixed time, a wall clock stepped back by NTP).
    return now + timedelta(seconds=time.monotonic() - started)
