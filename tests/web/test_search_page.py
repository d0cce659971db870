"""/search, /api/search and similar papers, through the app with a real store and real indexes."""

import re

import pytest
from starlette.testclient import TestClient

from paperwire.search import pipeline, service
from paperwire.search.service import SearchService
from paperwire.web.app import create_app
from tests.conftest import make_paper, paper_of
from tests.search.conftest import PAPERS


@pytest.fixture
def corpus(store):
    store.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    return store


@pytest.fixture
def search(tmp_path):
    return SearchService(tmp_path / "indexes")


@pytest.fixture
def client(settings, corpus, search):
    return TestClient(create_app(settings, store=corpus, search=search), follow_redirects=False)


def result_ids(html: str) -> list[str]:
    return re.findall(r'<h3 class="title"><a href="/paper/2501\.000(\d\d)">', html)


def test_the_empty_search_page_explains_the_syntax(client):
    page = client.get("/search")
    assert page.status_code == 200
    assert "Syntax" in page.text and 'href="/search?q=author%3Ahinton%20cat%3Acs.LG"' in page.text
    assert result_ids(page.text) == []
    assert 'action="/search"' in client.get("/").text  # the header's search box on every page


def test_results_with_highlights_and_why(client):
    page = client.get("/search", params={"q": "diffusion"})
    assert page.status_code == 200 and result_ids(page.text) == ["04"]
    assert "Denoising <mark>diffusion</mark> probabilistic models" in page.text
    assert "<mark>Diffusion</mark> models give" in page.text
    assert '<p class="why">keywords: diffusion</p>' in page.text
    assert 'value="diffusion"' in page.text  # the form keeps what was asked


def test_hostile_queries_are_escaped(client):
    hostile = '<script>alert(1)</script> "><img src=x onerror=alert(1)> attention'
    page = client.get("/search", params={"q": hostile})
    assert page.status_code == 200
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;" in page.text
    api = client.get("/api/search", params={"q": hostile}).json()
    assert api["ok"] and api["q"] == hostile


def test_hostile_titles_are_escaped_before_highlighting(client, corpus):
    corpus.upsert_papers([make_paper(
        arxiv_id="2501.00042", title='<img src=x onerror="alert(1)"> Attention & lt',
        abstract="<script>alert('attention')</script> amp",
    )], source="test")
    page = client.get("/search", params={"q": "attention lt amp script"}).text
    assert "<img" not in page and "<script>" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; <mark>Attention</mark> &amp; <mark>lt</mark>" in page
    assert "&lt;<mark>script</mark>&gt;alert(&#39;<mark>attention</mark>&#39;)" in page
    assert "&<mark>" not in page  # no word was matched inside an entity


def test_filters_sorts_and_modes_are_a_plain_get_form(client):
    assert result_ids(client.get("/search?q=attention").text) == ["06", "01", "05", "09"]
    assert result_ids(client.get("/search?q=attention&cat=cs.CL").text) == ["01", "09"]
    assert result_ids(client.get("/search?q=attention&sort=newest").text) == ["05", "06", "01", "09"]
    assert result_ids(client.get("/search?q=attention&from=2017&until=2017").text) == ["06", "01"]
    assert result_ids(client.get("/search?q=attention&has_code=1").text) == ["01"]
    assert result_ids(client.get("/search?q=attention&mode=lexical&sort=trending").text) == ["05", "06", "01", "09"]
    page = client.get("/search?q=attention&cat=cs.CL&sort=newest&mode=lexical").text
    assert '<option value="lexical" selected>' in page and '<option value="newest" selected>' in page
    assert 'name="cat" value="cs.CL"' in page


def test_pages_of_results_keep_the_query(client, corpus):
    corpus.upsert_papers([make_paper(arxiv_id=f"2502.{i:05d}", title=f"Graph study {i}") for i in range(25)],
                         source="test")
    first = client.get("/search?q=graph&cat=cs.LG").text
    assert len(re.findall(r'<h3 class="title">', first)) == 20
    assert 'href="/search?q=graph&amp;cat=cs.LG&amp;page=2"' in first
    second = client.get("/search?q=graph&cat=cs.LG&page=2").text
    assert len(re.findall(r'<h3 class="title">', second)) == 5 and "Page 2 of 2" in second
    assert client.get("/search?q=graph&cat=cs.LG&page=3").status_code == 404


def test_no_results_suggest_what_to_change(client):
    page = client.get("/search?q=diffusion&cat=cs.CL&mode=lexical").text  # diffusion is only in cs.LG
    assert "No papers match <strong>diffusion</strong> with these filters" in page
    assert 'href="/search?q=diffusion&amp;mode=lexical">Search without the filters</a>' in page
    assert 'href="/search?q=diffusion&amp;cat=cs.CL">Match by meaning too</a>' in page
    page = client.get("/search?q=zebrafish").text
    assert "No papers match <strong>zebrafish</strong>." in page and "without the filters" not in page


@pytest.mark.parametrize("query, message", [
    ("q=x&mode=fuzzy", "mode 'fuzzy' is not known"),
    ("q=x&sort=oldest", "sort 'oldest' is not known"),
    ("q=x&from=soon", "from 'soon' is not a year"),
    ("q=x&cat=<b>", "cat '<b>' is not an arXiv category"),
    ("q=x&page=0", "page '0' is not a page number"),
])
def test_bad_parameters_are_a_400_in_both_shapes(client, query, message):
    page = client.get(f"/search?{query}")
    assert page.status_code == 400 and message.replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;") in page.text
    api = client.get(f"/api/search?{query}")
    assert api.status_code == 400 and api.json() == {"ok": False, "error": api.json()["error"], "status": 400}
    assert message in api.json()["error"]


def test_the_api_returns_what_the_page_shows(client):
    data = client.get("/api/search?q=attention&cat=cs.CL").json()
    assert data["ok"] and (data["total_count"], data["page"], data["mode"], data["sort"]) == (2, 1, "hybrid", "relevance")
    assert [h["paper"]["arxiv_id"] for h in data["hits"]] == ["2501.00001", "2501.00009"]
    assert data["hits"][0]["matched_words"] == ["attention"] and data["hits"][0]["keyword_rank"] == 1
    assert data["hits"][0]["why"] == "keywords: attention"
    assert data["is_semantic_ready"] is False and data["pending_count"] == 0
    assert client.get("/api/search?q=year:soon").json()["ignored"] == ["year:soon"]


def test_search_by_meaning_and_similar_papers(settings, corpus, tmp_path, embedder):
    pipeline.embed_pending(corpus, embedder)
    client = TestClient(create_app(settings, store=corpus, search=SearchService(tmp_path, embedder=embedder)))
    page = client.get("/search", params={"q": "generating pictures by reversing a noising process"}).text
    assert result_ids(page)[0] == "04"
    assert "No paper contains these words; these are the closest in meaning." in page
    assert "Search by meaning is not ready yet" not in page

    paper = client.get("/paper/2501.00010").text
    similar = paper[paper.index('id="similar-heading"'):]
    assert "similar meaning (#1)" in similar and 'href="/paper/2501.00010"' not in similar
    data = client.get("/api/papers/2501.00010/similar").json()
    assert data["ok"] and len(data["hits"]) == 6
    assert "2501.00010" not in [h["paper"]["arxiv_id"] for h in data["hits"]]
    missing = client.get("/api/papers/2501.99999/similar")
    assert missing.status_code == 404 and missing.json()["ok"] is False


def test_similar_papers_say_when_they_are_not_by_meaning(settings, corpus, tmp_path, embedder):
    # Issue #15: "Similar papers" vanished silently from pages whose paper had no vector.
    # Here they fall back to title words, and the page says why.
    keywords_only = TestClient(create_app(settings, store=corpus, search=SearchService(tmp_path / "a")))
    paper = keywords_only.get("/paper/2501.00008").text  # "Language models are few-shot learners"
    similar = paper[paper.index('id="similar-heading"'):paper.index("<h2>Cite")]
    assert "search by meaning is not ready yet" in similar and 'href="/paper/2501.00010"' in similar

    assert pipeline.embed_pending(corpus, embedder).embedded_count == 10
    corpus.upsert_papers([make_paper(arxiv_id="2501.00011", title="Large language models as few-shot learners")],
                         source="test")  # newer than every vector
    client = TestClient(create_app(settings, store=corpus, search=SearchService(tmp_path / "b", embedder=embedder)))
    paper = client.get("/paper/2501.00011").text
    similar = paper[paper.index('id="similar-heading"'):paper.index("<h2>Cite")]
    assert "this paper has no meaning vector yet" in similar and 'href="/paper/2501.00008"' in similar
    assert "meaning vector" not in client.get("/paper/2501.00008").text  # it has one: by meaning


def test_without_vectors_the_page_says_meaning_comes_later(client):
    page = client.get("/search?q=attention").text
    assert "Search by meaning is not ready yet: it starts once papers are embedded" in page
    paper = client.get("/paper/2501.00010").text
    assert "Similar papers" in paper and "shares words with its title" in paper


def test_a_busy_index_is_a_503_for_the_api_a_notice_on_the_page(client, search, corpus, monkeypatch):
    monkeypatch.setattr(service, "LOCK_WAIT_SECONDS", 0.01)
    monkeypatch.setattr(service, "SIMILAR_WAIT_SECONDS", 0.01)
    with search._lock:  # as while another thread opens the indexes, before any search could run
        page = client.get("/search?q=attention")
        api = client.get("/api/search?q=attention")
        paper = client.get("/paper/2501.00001")
    assert page.status_code == 200 and "The search index is busy" in page.text  # never a bare 503 page
    assert 'value="attention"' in page.text  # the form, to try again
    assert api.status_code == 503 and api.json()["status"] == 503 and api.headers["retry-after"] == "30"
    assert paper.status_code == 200 and "Similar papers will show once the search index is open" in paper.text


def test_once_open_searches_do_not_wait_for_a_catch_up(client, search, corpus, monkeypatch):
    # Issue #15: searches read the published indexes, so a catch-up (holding the writers'
    # lock) no longer makes them wait or fail.
    search.catch_up(corpus)
    monkeypatch.setattr(service, "LOCK_WAIT_SECONDS", 0.01)
    with search._lock:
        page = client.get("/search?q=attention")
        api = client.get("/api/search?q=attention")
        paper = client.get("/paper/2501.00001")
    assert page.status_code == 200 and "busy" not in page.text and "2501.00006" in page.text
    assert api.status_code == 200 and api.json()["keyword_count"] == 4
    assert paper.status_code == 200 and "Similar papers" in paper.text


def test_withdrawn_papers_can_be_left_out_or_asked_for(settings, store, search):
    # Issue #8: a withdrawn state on the paper, filterable.
    store.upsert_papers([
        make_paper(arxiv_id="2503.00001", title="Attention kept"),
        make_paper(arxiv_id="2503.00002", title="Attention withdrawn", is_withdrawn=True,
                   comments="This paper has been withdrawn by the author"),
    ], source="test")
    client = TestClient(create_app(settings, store=store, search=search))

    def found(q: str) -> list[str]:
        answer = client.get("/api/search", params={"q": q, "mode": "lexical"})
        assert answer.status_code == 200, answer.text
        return sorted(hit["paper"]["arxiv_id"] for hit in answer.json()["hits"])

    assert found("attention") == ["2503.00001", "2503.00002"]
    assert found("attention -is:withdrawn") == ["2503.00001"]
    assert found("attention is:withdrawn") == ["2503.00002"]
    assert found("is:withdrawn") == ["2503.00002"]  # a filter alone lists what passes it
    page = client.get("/search", params={"q": "attention -is:withdrawn"}).text
    assert 'href="/paper/2503.00001"' in page and 'href="/paper/2503.00002"' not in page


def test_a_search_page_past_the_result_window_is_a_400_that_says_why(client):
    answer = client.get("/api/search?q=attention&page=501")  # results 10,001 to 10,020
    assert answer.status_code == 400 and answer.json()["ok"] is False
    assert "search results stop at the 10,000th" in answer.json()["error"]
    page = client.get("/search?q=attention&page=501")
    assert page.status_code == 400 and "narrow the search" in page.text
    v1 = client.get("/api/v1/search?q=attention&page=101&page_size=100")
    assert v1.status_code == 400 and "search results stop at the 10,000th" in v1.json()["error"]
