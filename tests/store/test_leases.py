"""Leases on both engines, and the lease-guarded job runs of jobs/runner.py on top of them."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from paperwire.jobs.runner import Job, run_jobs
from paperwire.jobs.runs import JobFailed, record_job_run
from paperwire.leases import run_with_lease
from tests.conftest import NOW


def test_a_lease_is_held_until_it_expires_then_taken_over(store):
    assert store.acquire_lease("harvest", "a", ttl_seconds=60, now=NOW)
    assert not store.acquire_lease("harvest", "b", ttl_seconds=60, now=NOW + timedelta(seconds=30))
    assert store.acquire_lease("harvest", "a", ttl_seconds=60, now=NOW + timedelta(seconds=30))  # re-entrant
    assert store.renew_lease("harvest", "a", ttl_seconds=60, now=NOW + timedelta(seconds=60))
    # held until 120 s now: b still waits at 119 s, takes over at 120 s
    assert not store.acquire_lease("harvest", "b", ttl_seconds=60, now=NOW + timedelta(seconds=119))
    assert store.acquire_lease("harvest", "b", ttl_seconds=60, now=NOW + timedelta(seconds=120))
    assert not store.renew_lease("harvest", "a", ttl_seconds=60, now=NOW + timedelta(seconds=121))
    assert not store.release_lease("harvest", "a")
    assert store.release_lease("harvest", "b")
    assert store.acquire_lease("harvest", "a", ttl_seconds=60, now=NOW + timedelta(seconds=122))


def test_leases_are_independent_by_name(store):
    assert store.acquire_lease("harvest", "a", ttl_seconds=60, now=NOW)
    assert store.acquire_lease("embed", "b", ttl_seconds=60, now=NOW)
    assert not store.renew_lease("embed", "a", ttl_seconds=60, now=NOW)
    assert not store.release_lease("missing", "a")


def test_expiry_compares_times_not_text(store):
    # SQLite keeps times as text: 12:00:00.250000 must sort before 12:00:00.500000 and 12:00:01
    assert store.acquire_lease("j", "a", ttl_seconds=0.5, now=NOW)
    assert not store.acquire_lease("j", "b", ttl_seconds=1, now=NOW + timedelta(seconds=0.25))
    assert store.acquire_lease("j", "b", ttl_seconds=1, now=NOW + timedelta(seconds=0.5))
    assert not store.acquire_lease("j", "a", ttl_seconds=1, now=NOW + timedelta(seconds=1.25))


def test_run_with_lease_runs_once_and_releases(store):
    result = run_with_lease(store, "embed", "a", lambda: "did it", 60, clock=lambda: NOW)
    assert (result.ran, result.value, result.lost) == (True, "did it", False)
    assert store.acquire_lease("embed", "b", ttl_seconds=60, now=NOW)  # released afterwards
    busy = run_with_lease(store, "embed", "a", lambda: "again", 60, clock=lambda: NOW)
    assert (busy.ran, busy.value) == (False, None)


def test_run_with_lease_releases_when_the_job_raises(store):
    def broken():
        raise RuntimeError("boom")

    try:
        run_with_lease(store, "embed", "a", broken, 60, clock=lambda: NOW)
    except RuntimeError:
        pass
    assert store.acquire_lease("embed", "b", ttl_seconds=60, now=NOW)


def test_run_with_lease_reports_a_lease_lost_while_running(store):
    def job():
        # another worker whose clock says the lease expired takes it over
        assert store.acquire_lease("embed", "b", ttl_seconds=60, now=NOW + timedelta(hours=1))
        time.sleep(0.2)  # many renewals, each of which now fails
        return "done"

    result = run_with_lease(store, "embed", "a", job, 60, clock=lambda: NOW, renew_every_seconds=0.01)
    assert (result.ran, result.value, result.lost) == (True, "done", True)
    assert not store.release_lease("embed", "a")  # b's lease is left alone


def test_a_job_due_by_its_job_runs_runs_once(store):
    calls = []

    def harvest(store_, now):
        if any(run.job == "test-job" for run in store_.recent_job_runs()):
            return None  # not due
        calls.append(now)
        return record_job_run(store_, "test-job", lambda: "1 new", now=now)

    jobs = [Job("test-job", harvest, is_shared=True, poll_seconds=60)]
    first = run_jobs(store, jobs, holder="a", ttl_seconds=60, clock=lambda: NOW)
    second = run_jobs(store, jobs, holder="b", ttl_seconds=60, clock=lambda: NOW)
    assert first == {"test-job": "1 new"} and second == {"test-job": None}
    [run] = store.recent_job_runs()
    assert (run.job, run.status, run.summary, len(calls)) == ("test-job", "ok", "1 new", 1)
    assert run.started_at == NOW <= run.finished_at


@pytest.mark.parametrize("error, summary", [
    (JobFailed("upstream down (stored before failing: 3 new)"), "upstream down (stored before failing: 3 new)"),
    (KeyError("title"), "KeyError: 'title'"),
])
def test_a_failed_job_run_is_recorded_and_the_error_propagates(store, error, summary):
    def work():
        raise error

    with pytest.raises(type(error)):
        record_job_run(store, "test-job", work, now=NOW)
    [run] = store.recent_job_runs()
    assert (run.status, run.summary) == ("failed", summary) and run.finished_at >= NOW


def test_a_shared_job_closes_the_runs_its_dead_holder_left_running(store):
    stuck = store.start_job_run("test-job part", now=NOW - timedelta(hours=1))
    other = store.start_job_run("other-job", now=NOW - timedelta(hours=1))
    jobs = [Job("test-job", lambda store_, now: None, is_shared=True, poll_seconds=60)]
    assert run_jobs(store, jobs, holder="a", ttl_seconds=60, clock=lambda: NOW) == {"test-job": None}
    runs = {run.id: run for run in store.recent_job_runs()}
    assert runs[stuck].status == "failed" and "interrupted" in runs[stuck].summary
    assert runs[other].status == "running"  # another job's run is that job's business


def test_a_shared_job_whose_lease_is_held_elsewhere_does_not_run(store):
    calls = []
    stuck = store.start_job_run("test-job", now=NOW - timedelta(hours=1))
    assert store.acquire_lease("test-job", "elsewhere", ttl_seconds=60, now=NOW)
    shared = Job("test-job", lambda store_, now: calls.append(now) or "ran", is_shared=True, poll_seconds=60)
    assert run_jobs(store, [shared], holder="a", ttl_seconds=60, clock=lambda: NOW) == {"test-job": None}
    assert calls == [] and store.recent_job_runs()[0].status == "running"  # its holder may be alive
    # a per-process job takes no lease: every process runs it
    local = Job("test-job", lambda store_, now: calls.append(now) or "ran", is_shared=False, poll_seconds=60)
    assert run_jobs(store, [local], holder="a", clock=lambda: NOW) == {"test-job": "ran"}
    assert [r.id for r in store.recent_job_runs() if r.status == "running"] == [stuck]
