"""Several processes on one PostgreSQL database: overlapping ingest, a reader following
the change log while they write, and two workers competing for one lease-guarded job."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.jobs.runner import Job, run_forever
from paperwire.jobs.runs import record_job_run
from paperwire.leases import run_with_lease
from paperwire.papers import Version
from paperwire.store import open_store
from tests.conftest import make_paper

pytestmark = pytest.mark.concurrency

INGEST_PROCESSES = 4
SHARED_COUNT = 150  # ids every process sends, each at its own version
OWN_COUNT = 150  # ids only one process sends
BATCH_SIZE = 40
JOB = "test-job"
JOB_SECONDS = 0.3
WORKER_SECONDS = 1.5


def _shared_id(i: int) -> str:
    return f"2503.{i:05d}"


def _paper(arxiv_id: str, version: int):
    return make_paper(
        arxiv_id=arxiv_id, version=version, title=f"{arxiv_id} v{version}",
        versions=(Version(version, datetime(2025, 3, version, tzinfo=timezone.utc)),),
    )


def _ingest(url: str, index: int, go) -> None:
    """Process `index` sends every shared id at version index+1 and its own ids, shuffled."""
    papers = [_paper(_shared_id(i), index + 1) for i in range(SHARED_COUNT)]
    papers += [_paper(f"2504.{index}{i:04d}", 1) for i in range(OWN_COUNT)]
    random.Random(index).shuffle(papers)
    store = open_store(url)
    go.wait()
    for start in range(0, len(papers), BATCH_SIZE):
        store.upsert_papers(papers[start:start + BATCH_SIZE], source=f"process-{index}")
    store.close()


def _slow_job(store, now: datetime) -> str | None:
    """Due until it has run once; takes long enough for the other worker to try meanwhile."""
    if any(run.job == JOB for run in store.recent_job_runs(limit=100)):
        return None
    return record_job_run(store, JOB, lambda: time.sleep(JOB_SECONDS) or "slept", now=now)


def _work(url: str, holder: str, go) -> None:
    stop = threading.Event()
    timer = threading.Timer(WORKER_SECONDS, stop.set)

    def job(store, now: datetime) -> str | None:
        # The worker competes for WORKER_SECONDS from its first look: its thread opens its own
        # store first, which can take a while next to four processes ingesting.
        if timer.ident is None:
            timer.start()
        return _slow_job(store, now)

    go.wait()
    run_forever([Job(JOB, job, is_shared=True, poll_seconds=0.02)], url=url, holder=holder, stop=stop)


@pytest.mark.slow  # 8-20 s: six spawned processes
def test_processes_share_one_database(postgres_database_store, postgres_database):
    postgres_store, postgres_url = postgres_database_store, postgres_database
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    processes = [context.Process(target=_ingest, args=(postgres_url, i, go)) for i in range(INGEST_PROCESSES)]
    processes += [context.Process(target=_work, args=(postgres_url, f"worker-{i}", go)) for i in range(2)]
    for process in processes:
        process.start()
    seen: dict[str, tuple[int, int, str]] = {}  # what a reader following changes_since believes
    last = 0
    go.set()
    deadline = time.monotonic() + 60
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        last = _follow(postgres_store, last, seen)
    for process in processes:
        process.join(5)
        assert process.exitcode == 0
    _follow(postgres_store, last, seen)

    store = postgres_store
    ids = [_shared_id(i) for i in range(SHARED_COUNT)]
    assert store.stats().paper_count == SHARED_COUNT + INGEST_PROCESSES * OWN_COUNT
    changes = store.changes_since(0, limit=100_000)
    assert len({c.arxiv_id for c in changes}) == len(changes) == store.stats().paper_count
    for arxiv_id, paper in store.get_papers(ids).items():
        assert (paper.version, paper.title) == (INGEST_PROCESSES, f"{arxiv_id} v{INGEST_PROCESSES}")
        assert [v.number for v in paper.versions] == list(range(1, INGEST_PROCESSES + 1))
    # the reader missed nothing: its view of every paper is the final one
    assert seen == {c.arxiv_id: (c.change_seq, c.paper.version, c.paper.title) for c in changes}
    runs = [run for run in store.recent_job_runs(limit=100) if run.job == JOB]
    assert [(run.status, run.summary) for run in runs] == [("ok", "slept")]


def _follow(store, last: int, seen: dict) -> int:
    for change in store.changes_since(last):
        assert change.change_seq > last
        seen[change.arxiv_id] = (change.change_seq, change.paper.version, change.paper.title)
        last = change.change_seq
    return last


def test_a_dead_holders_lease_is_taken_over_after_its_ttl(postgres_store):
    now = datetime(2025, 3, 3, tzinfo=timezone.utc)
    assert postgres_store.acquire_lease("harvest", "dead", ttl_seconds=30, now=now)
    assert not run_with_lease(postgres_store, "harvest", "alive", lambda: 1, 30, clock=lambda: now).ran
    later = now + timedelta(seconds=30)
    assert run_with_lease(postgres_store, "harvest", "alive", lambda: 1, 30, clock=lambda: later).value == 1
