"""The job runner: leased and per-process jobs in threads with their own store, failures
retried, stops between batches; on SQLite (tests/store/ holds the lease calls to both engines)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.jobs.runner import Job, Runner, run_forever
from paperwire.jobs.runs import record_job_run
from paperwire.store import open_store

POLL = 0.02  # seconds between looks, so the tests wait little
WAIT_SECONDS = 10.0  # the most a test waits for a thread to get somewhere


@pytest.fixture
def store(sqlite_url):
    s = open_store(sqlite_url)
    yield s
    s.close()


def wait_for(condition) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the background job did not get there in time"
        time.sleep(0.01)


# Job threads alive before these tests (a live server of the browser tests, say): not theirs.
_EARLIER = set()


@pytest.fixture(autouse=True)
def _earlier_job_threads():
    _EARLIER.clear()
    _EARLIER.update(t for t in threading.enumerate() if t.name.startswith("paperwire-"))


def job_threads() -> list[str]:
    """Names of the job threads a test started that are still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("paperwire-") and t not in _EARLIER]


def test_a_failure_is_logged_and_retried_at_the_next_look(sqlite_url, caplog):
    calls = []

    def flaky(store, now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("upstream hiccup")
        return "worked"

    stop = threading.Event()
    runner = Runner([Job("flaky", flaky, is_shared=True, poll_seconds=POLL)], url=sqlite_url, stop=stop)
    with caplog.at_level(logging.INFO, logger="paperwire.jobs.runner"):
        runner.start()
        wait_for(lambda: runner.states["flaky"].ran_at is not None)
        runner.stop()
    assert runner.states["flaky"].summary == "worked" and len(calls) >= 2
    assert "background job flaky failed; trying again" in caplog.text and "upstream hiccup" in caplog.text
    assert "flaky: worked" in caplog.text
    assert job_threads() == []


def test_stop_cuts_long_work_between_batches_and_runs_at_stop_once(sqlite_url):
    stop = threading.Event()
    batches, stopped = [], []

    def long_work(store, now):
        while not stop.is_set():  # a job checks `stop` between its batches
            batches.append(now)
            time.sleep(0.01)
        return f"{len(batches)} batches"

    job = Job("long", long_work, is_shared=False, poll_seconds=POLL, at_stop=stopped.append,
              stop_timeout_seconds=WAIT_SECONDS)
    runner = Runner([job], url=sqlite_url, stop=stop)
    runner.start()
    wait_for(lambda: batches)
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 1.0 and len(stopped) == 1 and job_threads() == []
    assert runner.states["long"].summary == f"{len(batches)} batches"


def test_a_scheduled_job_says_when_it_is_due_and_is_looked_at_no_later(sqlite_url):
    due = datetime.now(timezone.utc) + timedelta(seconds=0.3)
    looks = []

    def run(store, now):
        looks.append(now)
        return "ran" if now >= due else None

    stop = threading.Event()
    job = Job("scheduled", run, is_shared=True, poll_seconds=3600, due_at=lambda store, now: due)
    runner = Runner([job], url=sqlite_url, stop=stop)
    runner.start()
    wait_for(lambda: runner.states["scheduled"].ran_at is not None)  # long before the hour-long poll
    runner.stop()
    assert runner.states["scheduled"].next_run_at == due and len(looks) == 2


def test_a_store_that_does_not_open_turns_the_job_off(tmp_path, caplog):
    stop = threading.Event()
    runner = Runner([Job("any", lambda store, now: "ran", is_shared=True, poll_seconds=POLL)],
                    url="mysql://db/paperwire", stop=stop)
    runner.start()
    runner.stop()
    assert "background job any cannot open the store, so it is off" in caplog.text
    assert runner.states["any"].looked_at is None


def _once(store, now):
    """Due until it has run once anywhere; slow enough for the others to look meanwhile."""
    if any(run.job == "once" for run in store.recent_job_runs()):
        return None
    return record_job_run(store, "once", lambda: time.sleep(0.2) or "did it", now=now)


def test_shared_jobs_of_several_runners_run_once_and_per_process_ones_in_each(sqlite_url, store):
    stop = threading.Event()
    counts = []
    runners = [
        Runner([Job("once", _once, is_shared=True, poll_seconds=POLL),
                Job(f"local-{i}", lambda store_, now: counts.append(now) and None, is_shared=False,
                    poll_seconds=POLL)], url=sqlite_url, stop=stop)
        for i in range(3)
    ]
    assert len({runner.holder for runner in runners}) == 3  # one process, three holders
    for runner in runners:
        runner.start()
    wait_for(lambda: [r for r in store.recent_job_runs() if r.status == "ok"] and len(counts) >= 6)
    time.sleep(0.2)  # every runner looks again meanwhile
    for runner in runners:
        runner.stop()
    runs = store.recent_job_runs()
    assert [(r.job, r.status, r.summary) for r in runs] == [("once", "ok", "did it")]
    assert sum(runner.states["once"].ran_at is not None for runner in runners) == 1
    assert all(runner.states[f"local-{i}"].looked_at for i, runner in enumerate(runners))


def test_run_forever_returns_after_stop_once_its_jobs_have_ended(sqlite_url, store):
    stop = threading.Event()
    started = time.monotonic()
    threading.Timer(0.5, stop.set).start()
    run_forever([Job("once", _once, is_shared=True, poll_seconds=POLL)], url=sqlite_url, holder="w", stop=stop)
    assert 0.5 <= time.monotonic() - started < 3 and job_threads() == []
    assert [(r.job, r.status) for r in store.recent_job_runs()] == [("once", "ok")]
