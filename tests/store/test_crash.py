"""Crash tests (issue #15): `kill -9` a file ingest, an OAI-PMH harvest, an index build
and a `db copy` at seeded random moments; after each kill the store is consistent, and
once the same command has run again to its end `paperwire db check` passes and the
store holds exactly what one uninterrupted run gives (same ids, same digest).

Each command runs as a real process (`python -m paperwire`). The moments are fractions
of the time one uninterrupted run took on this machine, so they land inside the
command's work wherever the tests run. A copy killed part way is resumed by running it
again; the in-process tests at the end pin that down without processes.
"""

from __future__ import annotations

import json
import os
import re
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from paperwire.store import open_store
from paperwire.store.check import check
from paperwire.store.copy import COPY_CHECKPOINT, CopyError, copy, digest
from tests.conftest import make_paper
from tests.sources.conftest import fixture_bytes
from tests.store.test_copy import _fill

SEED = 15  # the number: the kill moments are the same on every run
KILL_COUNT = 3  # kills per command
PAPER_COUNT = 3_000  # lines of the generated JSONL
RUN_TIMEOUT_SECONDS = 300
# OAI-PMH pages by resumptionToken, as tests/data's three-page harvest chains them.
OAI_PAGES = {None: "oai_arxiv_page1.xml", "6960524|3": "oai_arxiv_page2.xml", "6960524|6": "oai_arxiv_page3.xml"}


def _paperwire(url: str, env: dict[str, str], *args: str) -> list[str]:
    return [sys.executable, "-m", "paperwire", "--database-url", url, *args]


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _timed_run(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    _run(command, env)
    return time.monotonic() - started


def _kill_after(command: list[str], env: dict[str, str], seconds: float) -> bool:
    """Start `command` and SIGKILL it after `seconds`; returns False if it ended first."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=seconds)
        assert process.returncode == 0, f"{command} failed before its kill: {output}"
        return False
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True


def _kill_moments(full_seconds: float) -> list[float]:
    rng = random.Random(SEED)
    return sorted(rng.uniform(0.15, 0.95) * full_seconds for _ in range(KILL_COUNT))


def _kill_and_finish(command: list[str], env: dict[str, str], full_seconds: float, url: str) -> None:
    """Kill `command` at each of the moments, checking the store after each kill, until
    one run ends on its own; then run it to its end unless one did. At least one run must
    have been killed."""
    killed_count = 0
    for moment in _kill_moments(full_seconds):
        if not _kill_after(command, env, moment):
            break
        killed_count += 1
        _assert_consistent(url)
    else:
        _run(command, env)
    assert killed_count, f"every run of {command} ended before its kill"


def _assert_consistent(url: str) -> None:
    """The store alone, between kills: no orphans, and SQLite's integrity_check is ok."""
    store = open_store(url)
    try:
        report = check(store, index_root=None)
    finally:
        store.close()
    assert report.is_healthy, report.problems


def _assert_checked(url: str, env: dict[str, str]) -> None:
    """`paperwire index rebuild` then `paperwire db check`, which must pass."""
    _run(_paperwire(url, env, "index", "rebuild"), env)
    checked = _run(_paperwire(url, env, "db", "check"), env)
    assert "healthy" in checked.stdout


def _ids_and_digest(url: str):
    store = open_store(url)
    try:
        return [p.arxiv_id for p in store.iter_papers()], digest(store)
    finally:
        store.close()


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {**os.environ, "PAPERWIRE_CACHE_DIR": str(tmp_path / "cache"), "PAPERWIRE_HARVEST_ENABLED": "false"}


@pytest.fixture
def papers_jsonl(tmp_path) -> Path:
    """PAPER_COUNT papers in the plain JSONL format that `ingest file` reads."""
    rng = random.Random(SEED)
    words = "graph neural network sparse attention kernel bound proof quantum lattice model".split()
    path = tmp_path / "papers.jsonl"
    with open(path, "w") as f:
        for i in range(PAPER_COUNT):
            f.write(json.dumps({
                "id": f"2501.{i + 1:05d}",
                "title": " ".join(rng.choice(words) for _ in range(6)).capitalize(),
                "abstract": " ".join(rng.choice(words) for _ in range(60)) + ".",
                "authors": [f"Author {rng.randrange(500)}", f"Author {rng.randrange(500)}"],
                "categories": rng.sample(["cs.LG", "cs.CL", "math.CO", "quant-ph", "stat.ML"], 2),
                "published": f"2025-01-{1 + i % 28:02d}",
            }) + "\n")
    return path


def _ingested(tmp_path: Path, name: str, papers_jsonl: Path, env: dict[str, str]) -> tuple[str, float]:
    """A store holding papers_jsonl, ingested by one uninterrupted run, and how long that took."""
    url = f"sqlite:///{tmp_path}/{name}.db"
    return url, _timed_run(_paperwire(url, env, "ingest", "file", str(papers_jsonl)), env)


@pytest.mark.slow
def test_killed_file_ingest_resumes_without_loss_or_duplicates(tmp_path, papers_jsonl, env):
    expected_url, full_seconds = _ingested(tmp_path, "expected", papers_jsonl, env)
    url = f"sqlite:///{tmp_path}/killed.db"
    command = _paperwire(url, env, "ingest", "file", str(papers_jsonl))
    _kill_and_finish(command, env, full_seconds, url)
    ids, got = _ids_and_digest(url)
    assert ids == [f"2501.{i + 1:05d}" for i in range(PAPER_COUNT)]
    assert got == _ids_and_digest(expected_url)[1]
    _assert_checked(url, env)


class _OaiPages(BaseHTTPRequestHandler):
    """An OAI-PMH server on loopback that answers each resumptionToken with its page,
    whichever process asks and however often, as arXiv's does."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        token = parse_qs(urlsplit(self.path).query).get("resumptionToken", [None])[-1]
        body = fixture_bytes(OAI_PAGES[token]) if token in OAI_PAGES else b"unknown token"
        self.send_response(200 if token in OAI_PAGES else 400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def oai_env(env):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OaiPages)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    # Paced so that the harvest's three pages take a while: the kills land between and in them.
    yield {**env, "PAPERWIRE_OAI_PMH_URL": f"http://127.0.0.1:{server.server_address[1]}/oai",
           "PAPERWIRE_REQUEST_INTERVAL_SECONDS": "0.5"}
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_killed_oai_harvest_resumes_from_its_checkpoint_without_loss_or_duplicates(tmp_path, oai_env):
    expected_url = f"sqlite:///{tmp_path}/expected.db"
    full_seconds = _timed_run(_paperwire(expected_url, oai_env, "ingest", "oai"), oai_env)
    url = f"sqlite:///{tmp_path}/killed.db"
    command = _paperwire(url, oai_env, "ingest", "oai")
    _kill_and_finish(command, oai_env, full_seconds, url)
    expected_ids, expected = _ids_and_digest(expected_url)
    ids, got = _ids_and_digest(url)
    assert len(expected_ids) == 6 and ids == expected_ids
    assert got == expected  # the harvest's checkpoint is gone too: it ended
    _assert_checked(url, oai_env)


@pytest.mark.slow
def test_killed_index_build_leaves_no_broken_index_and_rebuilds(tmp_path, papers_jsonl, env):
    url, _ = _ingested(tmp_path, "store", papers_jsonl, env)
    command = _paperwire(url, env, "index", "rebuild")
    full_seconds = _timed_run(command, env)
    store = open_store(url)
    store.upsert_papers([make_paper(arxiv_id="2502.00001")], source="test")  # the saved index is now behind
    store.close()
    for moment in _kill_moments(full_seconds):
        _kill_after(command, env, moment)
        store = open_store(url)
        try:
            problems = check(store, index_root=tmp_path / "cache" / "indexes").problems
        finally:
            store.close()
        # A kill leaves the old index or a commit of the new one, never a torn one: a tantivy
        # commit replaces its meta file atomically and each batch's change_seq is written after
        # its commit, so a rebuild killed part way is only behind, and catching up resumes it.
        assert len(problems) <= 1 and all(re.search(r"\(\d+ behind\)", p) for p in problems), problems
    _run(command, env)
    checked = _run(_paperwire(url, env, "db", "check"), env)
    assert "healthy" in checked.stdout


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_killed_db_copy_resumes_and_the_checksums_match(tmp_path, papers_jsonl, env, engine, request):
    source_url, _ = _ingested(tmp_path, "source", papers_jsonl, env)
    source = open_store(source_url)
    _fill(source)  # daily entries, vectors, a checkpoint and a job run beside the papers
    source.close()
    reference_url = f"sqlite:///{tmp_path}/reference.db"
    full_seconds = _timed_run(_paperwire(source_url, env, "db", "copy", source_url, reference_url), env)
    # Into PostgreSQL the vectors load inside one transaction (bulk_embeddings): a kill there drops them all.
    url = request.getfixturevalue("postgres_database") if engine == "postgres" else f"sqlite:///{tmp_path}/killed.db"
    command = _paperwire(source_url, env, "db", "copy", source_url, url)
    _kill_and_finish(command, env, full_seconds, url)  # the last run exits 0: its checksums matched
    assert _ids_and_digest(url) == _ids_and_digest(source_url)
    _assert_checked(url, env)


def test_a_copy_that_stopped_part_way_is_resumed_by_the_same_copy(tmp_path):
    source = open_store(f"sqlite:///{tmp_path}/source.db")
    _fill(source)
    target = open_store(f"sqlite:///{tmp_path}/target.db")

    def stop_after_papers(stage: str, count: int) -> None:
        if stage == "daily entries":
            raise KeyboardInterrupt  # as a kill would, between two of the copy's writes

    with pytest.raises(KeyboardInterrupt):
        copy(source, target, on_progress=stop_after_papers)
    assert target.get_checkpoint(COPY_CHECKPOINT) is not None and target.stats().paper_count == 4
    report = copy(source, target)
    assert report.is_identical and target.get_checkpoint(COPY_CHECKPOINT) is None
    assert check(target, index_root=None).is_healthy
    source.close()
    target.close()


def test_a_copy_run_again_after_it_ended_finds_the_checksums_equal(tmp_path):
    """As when a copy is killed after its last write but before it reported."""
    source = open_store(f"sqlite:///{tmp_path}/source.db")
    _fill(source)
    target = open_store(f"sqlite:///{tmp_path}/target.db")
    first = copy(source, target)
    again = copy(source, target)
    assert again == first and again.is_identical and again.stale_embedding_count == 1
    assert digest(target) == first.target
    source.close()
    target.close()


def test_job_runs_of_a_stopped_copy_are_not_copied_twice(tmp_path):
    source = open_store(f"sqlite:///{tmp_path}/source.db")
    _fill(source)
    first_run = source.recent_job_runs()[0]
    target = open_store(f"sqlite:///{tmp_path}/target.db")
    with pytest.raises(KeyboardInterrupt):
        copy(source, target, on_progress=lambda stage, count: _stop_at(stage, "embeddings"))
    # as if killed between starting the one job run and finishing it
    target.start_job_run(first_run.job, now=first_run.started_at)
    report = copy(source, target)
    assert report.is_identical and report.target.job_run_count == 1
    assert target.recent_job_runs()[0].status == "ok"
    source.close()
    target.close()


def _stop_at(stage: str, stop_stage: str) -> None:
    if stage == stop_stage:
        raise KeyboardInterrupt


def test_a_copy_into_a_store_that_holds_other_papers_is_still_refused(tmp_path):
    source = open_store(f"sqlite:///{tmp_path}/source.db")
    _fill(source)
    target = open_store(f"sqlite:///{tmp_path}/target.db")
    target.upsert_papers([make_paper(arxiv_id="2509.00001")], source="test")
    with pytest.raises(CopyError, match="already holds 1 papers"):
        copy(source, target)
    other = open_store(f"sqlite:///{tmp_path}/other.db")
    other.upsert_papers([make_paper(arxiv_id="2509.00002")], source="test")
    half = open_store(f"sqlite:///{tmp_path}/half.db")
    with pytest.raises(KeyboardInterrupt):  # an unfinished copy of `other`...
        copy(other, half, on_progress=lambda stage, count: _stop_at(stage, "papers"))
    with pytest.raises(CopyError, match="already holds 1 papers"):  # ...is no copy of `source` to resume
        copy(source, half)
    for store in (source, target, other, half):
        store.close()
