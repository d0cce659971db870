"""The background harvest against recorded upstream answers served on 127.0.0.1.

`harvest.run` is called with a fixed `now` and the real fetchers, pointed at a
loopback server by settings; the harvest job (jobs/table.py) is tested through
the app's lifespan, the way `paperwire serve` runs it, and once through the runner.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from paperwire import config, harvest
from paperwire.jobs import table
from paperwire.jobs.runner import run_once
from paperwire.store import JobRun, open_store
from paperwire.web.app import create_app

DATA = Path(__file__).parent / "data"
NOW = datetime(2025, 1, 3, 12, tzinfo=timezone.utc)
ARXIV_PATH = "/api/query"
HF_PATH = "/api/daily_papers"


class Upstream:
    """A loopback HTTP server answering each path with a fixed (status, body); it records
    the query parameters of every request, by path."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.asked: dict[str, list[dict[str, str]]] = {}
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                upstream.asked.setdefault(parts.path, []).append(
                    {k: v[-1] for k, v in parse_qs(parts.query).items()})
                status, body = upstream.answers.get(parts.path, (404, b"not here"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def upstream():
    served = Upstream()
    served.answers = {
        ARXIV_PATH: (200, (DATA / "arxiv_api_by_id.xml").read_bytes()),
        HF_PATH: (200, (DATA / "hf_daily_2025-01-03_p0.json").read_bytes()),
    }
    thread = threading.Thread(target=served.server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()
    thread.join()


@pytest.fixture
def store(sqlite_url):
    """SQLite alone: the harvest needs one real store; tests/store/ covers the engines."""
    s = open_store(sqlite_url)
    yield s
    s.close()


def make_settings(sqlite_url, upstream, **overrides):
    values = dict(
        database_url=sqlite_url, harvest_categories="cs.LO cs.CL", harvest_hf_daily="true",
        arxiv_api_url=upstream.url + ARXIV_PATH, hf_url=upstream.url, request_interval_seconds="0",
        embed_enabled="false", model_cache_dir=sqlite_url.removeprefix("sqlite:///").rsplit("/", 1)[0] + "/cache",
    )
    values.update(overrides)
    return config.load({}, **values)


def runs_by_job(store) -> dict[str, JobRun]:
    return {run.job: run for run in store.recent_job_runs()}


def test_harvest_stores_papers_and_records_ok_runs(store, sqlite_url, upstream):
    outcomes = harvest.run(store, make_settings(sqlite_url, upstream), now=NOW)

    assert [(o.source, o.status) for o in outcomes] == [("arxiv_api", "ok"), ("hf_daily", "ok")]
    runs = runs_by_job(store)
    assert set(runs) == {"harvest arxiv_api", "harvest hf_daily"}
    assert all(run.status == "ok" and run.started_at == NOW and run.finished_at >= NOW
               for run in runs.values())
    assert runs["harvest arxiv_api"].summary.startswith("1 new,")
    assert "daily entries" in runs["harvest hf_daily"].summary
    assert store.get_paper("2501.00005").title == "The Last Placeholder"
    assert [(e.arxiv_id, e.upvote_count) for e in store.daily_entries(NOW.date())][0] == ("2501.00001", 42)

    (arxiv_params,) = upstream.asked[ARXIV_PATH]
    assert arxiv_params["search_query"] == (
        "(cat:cs.LO OR cat:cs.CL) AND submittedDate:[202412310000 TO 999912312359]"
    )
    assert [p["date"] for p in upstream.asked[HF_PATH]] == ["2025-01-03"]


def test_next_harvest_asks_arxiv_from_the_last_good_day_with_overlap(store, sqlite_url, upstream):
    settings = make_settings(sqlite_url, upstream, harvest_hf_daily="false")
    harvest.run(store, settings, now=NOW)
    harvest.run(store, settings, now=NOW + timedelta(days=5))
    first_day = NOW.date() - timedelta(days=harvest.OVERLAP_DAYS)
    assert upstream.asked[ARXIV_PATH][1]["search_query"].endswith(
        f"submittedDate:[{first_day:%Y%m%d}0000 TO 999912312359]")
    assert HF_PATH not in upstream.asked


def test_a_failing_source_is_recorded_and_the_other_still_runs(store, sqlite_url, upstream):
    upstream.answers[ARXIV_PATH] = (403, b"Forbidden")
    outcomes = harvest.run(store, make_settings(sqlite_url, upstream), now=NOW)

    assert [(o.source, o.status) for o in outcomes] == [("arxiv_api", "failed"), ("hf_daily", "ok")]
    failed = runs_by_job(store)["harvest arxiv_api"]
    assert failed.status == "failed"
    assert "answered 403" in failed.summary and "stored before failing: 0 new" in failed.summary
    assert store.get_checkpoint("harvest:arxiv_api") is None  # so the next run asks from as far back
    assert store.daily_entries(NOW.date())


def test_an_unexpected_error_is_recorded_too(store, sqlite_url, upstream):
    def broken_fetch(*args, **kwargs):
        raise KeyError("no such field")
        yield  # a generator, like the real fetchers

    outcomes = harvest.run(store, make_settings(sqlite_url, upstream, harvest_hf_daily="false"),
                           now=NOW, fetch_arxiv=broken_fetch)
    assert outcomes == [harvest.Outcome("arxiv_api", "failed", "unexpected KeyError: 'no such field'")]


def test_nothing_to_harvest(store, sqlite_url, upstream):
    settings = make_settings(sqlite_url, upstream, harvest_categories="", harvest_hf_daily="false")
    assert harvest.run(store, settings, now=NOW) == []
    assert store.recent_job_runs() == []


def run_at(job: str, started_at: datetime) -> JobRun:
    return JobRun(job=job, started_at=started_at, finished_at=None, status="ok")


@pytest.mark.parametrize("runs, due", [
    ([], NOW),
    ([run_at("harvest arxiv_api", NOW - timedelta(minutes=30))], NOW + timedelta(minutes=30)),
    ([run_at("harvest arxiv_api", NOW - timedelta(hours=3)),
      run_at("harvest hf_daily", NOW - timedelta(minutes=10))], NOW + timedelta(minutes=50)),
    ([run_at("embed", NOW - timedelta(minutes=10))], NOW),  # other jobs do not count
    ([run_at("harvest hf_daily", NOW - timedelta(hours=5))], NOW - timedelta(hours=4)),  # overdue
])
def test_due_at(runs, due):
    assert harvest.due_at(runs, interval_minutes=60, now=NOW) == due


def test_serve_harvests_in_the_background_and_stops_on_shutdown(store, sqlite_url, upstream):
    settings = make_settings(sqlite_url, upstream, harvest_enabled="true")
    with TestClient(create_app(settings, store=store)) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = client.get("/api/status").json()
            # The job's runs are recorded inside its step, its next run just after it.
            if len([r for r in status["job_runs"] if r["status"] == "ok"]) == 2 and status["harvest"]["next_run_at"]:
                break
            time.sleep(0.05)
        assert {r["job"] for r in status["job_runs"] if r["status"] == "ok"} == {
            "harvest arxiv_api", "harvest hf_daily"}
        next_run_at = datetime.fromisoformat(status["harvest"]["next_run_at"])
        assert next_run_at > datetime.now(timezone.utc) + timedelta(minutes=359)
        assert "Next run: <strong>" in client.get("/status").text
    assert not [t for t in threading.enumerate() if t.name == "paperwire-harvest"]


def test_the_day_of_a_harvest_uses_now(store, sqlite_url, upstream):
    later = datetime(2025, 2, 1, 23, 59, tzinfo=timezone.utc)
    harvest.run(store, make_settings(sqlite_url, upstream, harvest_categories=""), now=later)
    assert [p["date"] for p in upstream.asked[HF_PATH]] == ["2025-02-01"]
    assert store.daily_entries(date(2025, 2, 1))


def harvest_job(settings):
    [job] = table.for_worker(settings, ("harvest",), stop=threading.Event())
    return job


def test_serve_does_not_harvest_while_another_process_holds_the_lease(store, sqlite_url, upstream):
    job = harvest_job(make_settings(sqlite_url, upstream))
    assert store.acquire_lease(job.name, "worker:elsewhere", ttl_seconds=600, now=datetime.now(timezone.utc))
    assert run_once(store, job, holder="serve", now=datetime.now(timezone.utc)) is None
    assert store.recent_job_runs() == [] and not upstream.asked


def test_a_run_left_running_by_a_dead_process_is_closed_on_the_next_harvest(store, sqlite_url, upstream):
    stuck = store.start_job_run("harvest arxiv_api", now=NOW - timedelta(days=1))
    run_once(store, harvest_job(make_settings(sqlite_url, upstream)), holder="serve", now=NOW, clock=lambda: NOW)
    runs = {run.id: run for run in store.recent_job_runs()}
    assert runs[stuck].status == "failed" and "interrupted" in runs[stuck].summary
    assert {r.status for r in runs.values() if r.id != stuck} == {"ok"}


def test_the_harvest_job_runs_when_due_and_says_when_it_is_due_next(store, sqlite_url, upstream):
    job = harvest_job(make_settings(sqlite_url, upstream, harvest_interval_minutes="60"))
    assert job.due_at(store, NOW) == NOW  # never harvested: due now
    summary = run_once(store, job, holder="a", now=NOW, clock=lambda: NOW)
    assert summary.startswith("arxiv_api ok: ") and "; hf_daily ok: " in summary
    assert job.due_at(store, NOW) == NOW + timedelta(minutes=60)
    later = NOW + timedelta(minutes=59)
    assert run_once(store, job, holder="b", now=later, clock=lambda: later) is None
    assert len(upstream.asked[ARXIV_PATH]) == 1
