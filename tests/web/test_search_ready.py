"""Search while the index is built, "did you mean", and the status page's index section."""

import pytest
from starlette.testclient import TestClient

from paperwire.search import service
from paperwire.search.service import SearchService
from paperwire.web.app import create_app
from tests.conftest import make_paper, paper_of
from tests.search.conftest import PAPERS


@pytest.fixture
def corpus(store):
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    return store


def test_did_you_mean(settings, corpus, tmp_path):
    client = TestClient(create_app(settings, store=corpus, search=SearchService(tmp_path)))
    page = client.get("/search", params={"q": "difusion models", "mode": "lexical"})
    assert page.status_code == 200
    assert 'Did you mean <a href="/search?q=diffusion+models&amp;mode=lexical">diffusion models</a>?' in page.text
    assert client.get("/api/search", params={"q": "atention"}).json()["suggestion"] == "attention"
    assert client.get("/api/search", params={"q": "attention"}).json()["suggestion"] is None
    nothing = client.get("/search", params={"q": "atention -survey"}).text
    assert "No papers match" in nothing and "Did you mean" in nothing and "attention -survey</a>" in nothing


def test_search_works_while_the_index_is_built(settings, store, tmp_path, monkeypatch):
    store.upsert_papers([make_paper(arxiv_id=f"2403.{n:05d}", title=f"Graph paper {n}",
                                    abstract="Graphs and more graphs.", versions=()) for n in range(1, 31)],
                        source="test")
    monkeypatch.setattr(service, "CATCH_UP_BATCH_CHANGES", 10)
    monkeypatch.setattr(service, "REQUEST_CATCH_UP_MAX", 5)  # a request leaves 20 changes to the build
    search = SearchService(tmp_path)
    client = TestClient(create_app(settings, store=store, search=search))
    before = client.get("/status").text
    assert "Not opened yet" in before
    seen = []

    def between_batches(done, total):  # the build thread has let go of the indexes here
        if done == 10:
            seen.append((client.get("/search", params={"q": "graphs"}), client.get("/status"),
                         client.get("/api/status").json()))

    assert search.catch_up(store, on_progress=between_batches) == 0
    [(page, status, api)] = seen
    assert page.status_code == 200
    assert "The search index is being built: 10 papers indexed so far, about 20 changes to go" in page.text
    assert "10 papers contain graphs" in page.text
    assert "Building: 10 papers indexed, about 20 changes to go" in status.text
    assert api["search_index"] == {"paper_count": 10, "vector_count": 0, "pending_count": 20,
                                   "is_open": True, "is_building": True, "skipped_count": 0}
    done = client.get("/search", params={"q": "graphs"}).text
    assert "30 papers contain graphs" in done and "being built" not in done
    assert "<dt>Papers by keywords</dt><dd>30</dd>" in client.get("/status").text


def test_a_restarted_server_searches_its_saved_index_at_once(settings, corpus, tmp_path):
    first = SearchService(tmp_path)
    first.catch_up(corpus)
    first.save()
    restarted = SearchService(tmp_path)
    client = TestClient(create_app(settings, store=corpus, search=restarted))
    page = client.get("/search", params={"q": "attention"})
    assert page.status_code == 200 and "4 papers contain attention" in page.text
    assert restarted.state.paper_count == 10 and restarted._unsaved_count == 0  # read, not rebuilt
