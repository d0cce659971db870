"""The table of background jobs: which ones serve and worker run, and the index job
keeping a web process's search indexes current and saved, through the app's lifespan."""

from __future__ import annotations

import threading
import time

import pytest
from starlette.testclient import TestClient

from paperwire import config
from paperwire.digest import run as digest_run
from paperwire.jobs import table
from paperwire.search import Indexes
from paperwire.search.service import SearchService, index_folder
from paperwire.store import open_store
from paperwire.web.app import create_app
from tests.conftest import make_paper

WAIT_SECONDS = 10.0


@pytest.mark.parametrize("overrides, names", [
    ({}, ["harvest", "embed", "index", "thumbnails", "sweep", "recommend", "maps"]),
    ({"harvest_enabled": "false"}, ["embed", "index", "sweep", "recommend", "maps"]),
    ({"harvest_categories": "", "harvest_hf_daily": "false"}, ["embed", "index", "sweep", "recommend", "maps"]),  # nothing to harvest
    ({"harvest_categories": ""}, ["harvest", "embed", "index", "thumbnails", "sweep", "recommend", "maps"]),  # the HF list alone
    ({"harvest_hf_daily": "false"}, ["harvest", "embed", "index", "sweep", "recommend", "maps"]),  # no list, no thumbnails
    ({"embed_enabled": "false", "harvest_enabled": "false"}, ["index", "sweep", "recommend", "maps"]),
])
def test_serve_runs_the_jobs_its_settings_ask_for(sqlite_url, overrides, names):
    settings = config.load({}, database_url=sqlite_url, **overrides)
    jobs = table.for_serve(settings, search=SearchService(None), stop=threading.Event())
    assert [job.name for job in jobs] == names
    # The index and the thumbnails are each process's own (its memory, its cache directory).
    assert {job.name: job.is_shared for job in jobs} == {name: name not in ("index", "thumbnails") for name in names}


def test_the_worker_runs_shared_jobs_whatever_serve_settings_say(sqlite_url):
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false")
    jobs = table.for_worker(settings, table.WORKER_JOBS, stop=threading.Event())
    assert [(job.name, job.is_shared, job.poll_seconds) for job in jobs] == [
        ("harvest", True, table.POLL_SECONDS), ("embed", True, table.POLL_SECONDS),
        ("sweep", True, table.SWEEP_POLL_SECONDS),
        ("digest", True, digest_run.POLL_SECONDS), ("recommend", True, table.POLL_SECONDS),
        ("maps", True, table.POLL_SECONDS)]


def test_paperwire_worker_runs_the_recommend_job(sqlite_url):
    """`paperwire worker --once --job recommend` trains the model of a user who saved a paper,
    and the user's "for you" list fills, as serve's job would (without --job the worker runs
    it too: WORKER_JOBS, above)."""
    from datetime import datetime, timezone

    from click.testing import CliRunner

    from paperwire.cli import cli

    now = datetime.now(timezone.utc)
    store = open_store(sqlite_url)
    store.upsert_papers([make_paper(arxiv_id=f"2503.0000{i}", title=f"Protein folding study {i}",
                                    abstract=f"Protein folding with deep learning, part {i}.") for i in (1, 2, 3)],
                        source="test")
    ada = store.create_user(username="ada", email="ada@example.org", password_hash="x", now=now)
    store.save(ada.id, store.default_collection(ada.id, now=now).id, "2503.00001", now=now)
    result = CliRunner().invoke(cli, ["--database-url", sqlite_url, "worker", "--once", "--job", "recommend"])
    assert result.exit_code == 0, result.output
    assert "recommend: retrained 1 user models" in result.output
    assert {r.arxiv_id for r in store.recommendations(ada.id)} == {"2503.00002", "2503.00003"}
    store.close()


def test_serve_keeps_its_indexes_current_in_the_background_and_commits_them(sqlite_url, tmp_path):
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false")
    store = open_store(sqlite_url)
    search = SearchService(tmp_path / "indexes")
    folder = index_folder(tmp_path / "indexes", store)
    earlier = set(threading.enumerate())  # a live server of the browser tests has an index job too
    with TestClient(create_app(settings, store=store, search=search)) as client:
        store.upsert_papers([make_paper(arxiv_id=f"2503.0000{i}", title=f"Paper {i}") for i in (1, 2)], source="t")
        deadline = time.monotonic() + WAIT_SECONDS
        # no search runs meanwhile: only the index job can catch up
        while search.indexes is None or len(search.indexes.lexical) < 2:
            assert time.monotonic() < deadline, "the index job did not catch up"
            time.sleep(0.02)
        jobs = {job["name"]: job for job in client.get("/api/status").json()["jobs"]}
        assert jobs["index"]["is_shared"] is False and jobs["index"]["looked_at"]
        assert "Background jobs of this process" in client.get("/status").text
        # committed with its change_seq while serving: another process (or a restart) reads it now
        committed = Indexes.open(folder)
        assert len(committed.lexical) == 2 and committed.lexical.change_seq == store.last_change_seq()
    assert not [t for t in threading.enumerate() if t.name == "paperwire-index" and t not in earlier]
    store.close()


def test_the_worker_command_offers_exactly_the_shared_jobs():
    # The CLI names the choices itself, so `paperwire --help` need not import the table (SciPy).
    from paperwire.cli.serve import worker

    option = next(p for p in worker.params if p.name == "job_names")
    assert tuple(option.type.choices) == table.WORKER_JOBS


def test_the_sweep_job_deletes_expired_account_rows_and_says_how_many(sqlite_url):
    from datetime import datetime, timedelta, timezone

    from paperwire.accounts import SESSION_LIFETIME

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false")
    store = open_store(sqlite_url)
    ada = store.create_user(username="ada", email="ada@example.org", password_hash="x", now=now)
    store.create_session("old", ada.id, now=now - SESSION_LIFETIME - timedelta(days=1))
    store.create_session("live", ada.id, now=now)
    store.take_token("login-account:ada", capacity=1, per_second=1.0, now=now.timestamp() - 2 * 86400)
    [job] = table.for_worker(settings, ("sweep",), stop=threading.Event())
    assert job.run(store, now) == "deleted 1 expired sessions, 0 reset links, 0 invites, 1 idle rate buckets"
    assert job.run(store, now) is None  # nothing left: no job run recorded
    assert store.session_count(ada.id) == 1
    store.close()
