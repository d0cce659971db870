"""The embedding pipeline: once per content change, in batches, with progress, stoppable, in the background."""

import threading
import time
from dataclasses import replace

import pytest

from paperwire.jobs import table
from paperwire.jobs.runner import Runner, run_jobs
from paperwire.search import pipeline
from paperwire.store import open_store
from tests.conftest import make_paper


def papers(count: int):
    return [make_paper(arxiv_id=f"2503.{i:05d}", title=f"Paper number {i}", abstract=f"About topic {i}.")
            for i in range(1, count + 1)]


def test_every_paper_is_embedded_once_in_batches(store, embedder):
    store.upsert_papers(papers(5), source="t")
    assert pipeline.pending_count(store, embedder.model_id) == 5
    batches = []
    report = pipeline.embed_pending(store, embedder, batch_size=2, on_batch=batches.append)
    assert (report.embedded_count, report.paper_count, batches) == (5, 5, [2, 2, 1])
    assert report.summary().startswith("5 papers embedded (")
    assert store.embedding_count(embedder.model_id) == 5 and pipeline.pending_count(store, embedder.model_id) == 0
    assert pipeline.embed_pending(store, embedder).embedded_count == 0

    [first] = store.get_papers(["2503.00001"]).values()
    expected = embedder.embed_query(pipeline.paper_text(first))
    row_id = store.paper_ids(["2503.00001"])["2503.00001"]
    assert float(store.get_embeddings(embedder.model_id, [row_id])[row_id] @ expected) > 0.99


def test_only_a_changed_title_or_abstract_is_embedded_again(store, embedder):
    store.upsert_papers(papers(3), source="t")
    pipeline.embed_pending(store, embedder)
    store.upsert_papers([replace(papers(1)[0], version=2, categories=("cs.CL",))], source="t")  # not the text
    assert pipeline.embed_pending(store, embedder).embedded_count == 0
    store.upsert_papers([replace(papers(2)[1], version=2, abstract="Something else.")], source="t")
    before = store.last_embed_seq()
    assert pipeline.embed_pending(store, embedder).embedded_count == 1
    ids, _, _ = store.embeddings_changed_since(embedder.model_id, before)
    assert ids.tolist() == [store.paper_ids(["2503.00002"])["2503.00002"]]


def test_stop_ends_the_run_after_the_current_batch(store, embedder):
    store.upsert_papers(papers(5), source="t")
    stop = threading.Event()
    report = pipeline.embed_pending(store, embedder, batch_size=2, stop=stop, on_batch=lambda n: stop.set())
    assert report.embedded_count == 2 and store.embedding_count(embedder.model_id) == 2


def test_the_worker_job_records_a_run_with_the_pipeline_summary(cache_settings, sqlite_url):
    settings = cache_settings
    store = open_store(sqlite_url)
    store.upsert_papers(papers(3), source="t")
    jobs = table.for_worker(settings, ("embed",), stop=threading.Event())
    summaries = run_jobs(store, jobs, holder="test")
    assert summaries["embed"].startswith("3 papers embedded (")
    assert [(r.job, r.status) for r in store.recent_job_runs()] == [("embed", "ok")]
    assert run_jobs(store, jobs, holder="test") == {"embed": None}
    store.close()


def test_serve_embeds_in_the_background_and_stops(cache_settings, sqlite_url):
    settings = cache_settings
    store = open_store(sqlite_url)
    store.upsert_papers(papers(4), source="t")
    stop = threading.Event()
    background = Runner(table.for_worker(settings, ("embed",), stop=stop), url=sqlite_url, stop=stop)
    background.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and store.embedding_count(_model_id(store)) < 4:
            time.sleep(0.05)
    finally:
        background.stop()
    assert store.embedding_count(_model_id(store)) == 4
    assert not [t for t in threading.enumerate() if t.name == "paperwire-embed"]
    store.close()


def _model_id(store) -> str:
    return (store.embedding_models() or [""])[0]


@pytest.mark.parametrize("count", [0, 1])
def test_nothing_to_do_is_a_report_of_zeros(store, embedder, count):
    store.upsert_papers(papers(count), source="t")
    pipeline.embed_pending(store, embedder)
    report = pipeline.embed_pending(store, embedder)
    assert (report.embedded_count, report.paper_count) == (0, 0)
