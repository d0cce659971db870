"""/search and /api/search over more papers than one side's candidates: exact counts,
every match reachable by paging, sort=newest over all matches, a page past the end."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from starlette.testclient import TestClient

from paperwire.search import engine
from paperwire.search.service import SearchService
from paperwire.web.app import create_app
from paperwire.web.pages import SEARCH_PAGE_SIZE
from tests.conftest import make_paper

PHRASE_COUNT = 130  # more than engine.CANDIDATE_COUNT contain the phrase...
APART_COUNT = 40  # ...and these have its words, not side by side
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def corpus_papers():
    papers = []
    for n in range(PHRASE_COUNT + APART_COUNT):
        text = ("We study test-time scaling of reasoning models." if n < PHRASE_COUNT
                else "Scaling laws at test and at training time.")
        survey = " A survey." if n % 10 == 0 else ""
        papers.append(make_paper(
            arxiv_id=f"2401.{n + 1:05d}", title=f"Paper number {n}", abstract=text + survey,
            # days shuffled against ids, so newest-first is not id order
            published_at=START + timedelta(days=(n * 37) % 200), versions=(),
        ))
    return papers


@pytest.fixture
def client(settings, store, tmp_path):
    store.upsert_papers(corpus_papers(), source="test")
    return TestClient(create_app(settings, store=store, search=SearchService(tmp_path / "indexes")),
                      follow_redirects=False)


def ids_on(html: str) -> list[str]:
    return re.findall(r'<h3 class="title"><a href="/paper/([^"]+)">', html)


def all_pages(client, params) -> list[str]:
    seen, number = [], 1
    while True:
        page = client.get("/search", params={**params, "page": number})
        assert page.status_code == 200, page.text
        seen += ids_on(page.text)
        if 'rel="next"' not in page.text:
            return seen
        number += 1


def test_the_count_is_exact_and_every_match_is_reachable(client):
    assert PHRASE_COUNT > engine.CANDIDATE_COUNT
    first = client.get("/search", params={"q": '"test-time scaling"', "mode": "lexical"})
    pages = -(-PHRASE_COUNT // SEARCH_PAGE_SIZE)
    assert f"130 papers contain “test-time scaling” · page 1 of {pages}" in first.text
    seen = all_pages(client, {"q": '"test-time scaling"', "mode": "lexical"})
    assert sorted(seen) == [f"2401.{n + 1:05d}" for n in range(PHRASE_COUNT)]  # each once
    last = client.get("/search", params={"q": '"test-time scaling"', "mode": "lexical", "page": pages})
    assert 'rel="next"' not in last.text and f"Page {pages} of {pages}" in last.text
    past = client.get("/search", params={"q": '"test-time scaling"', "mode": "lexical", "page": pages + 1})
    assert past.status_code == 404 and "this search has 130 results, fewer than page 8" in past.text


def test_exclusions_and_counts_in_the_api(client):
    data = client.get("/api/search", params={"q": '"test-time scaling" -survey', "mode": "lexical"}).json()
    assert data["ok"] and data["total_count"] == data["keyword_count"] == PHRASE_COUNT - 13
    assert data["meaning_only_count"] == 0
    words = client.get("/api/search", params={"q": "scaling", "mode": "lexical", "page": 9}).json()
    assert words["total_count"] == PHRASE_COUNT + APART_COUNT and len(words["hits"]) == 10


def test_newest_orders_every_match(client):
    seen = all_pages(client, {"q": '"test-time scaling"', "sort": "newest"})
    day = {f"2401.{n + 1:05d}": START + timedelta(days=(n * 37) % 200) for n in range(PHRASE_COUNT)}
    assert sorted(seen) == sorted(day)
    assert [day[i] for i in seen] == sorted(day.values(), reverse=True)


def test_has_code_uses_links_in_the_abstract_and_comments(settings, store, tmp_path):
    store.upsert_papers([
        make_paper(arxiv_id="2402.00001", title="Linked in the abstract",
                   abstract="Code at https://github.com/acme/tool.", versions=()),
        make_paper(arxiv_id="2402.00002", title="Linked in the comments", abstract="No link here.",
                   comments="12 pages; weights at huggingface.co/acme/model", versions=()),
        make_paper(arxiv_id="2402.00003", title="Not linked", abstract="See our project page.", versions=()),
    ], source="test")
    client = TestClient(create_app(settings, store=store, search=SearchService(tmp_path / "i")))
    typed = client.get("/search", params={"q": "linked has:code"})
    assert sorted(ids_on(typed.text)) == ["2402.00001", "2402.00002"]
    assert '<a href="https://github.com/acme/tool">Code</a>' in typed.text
    assert '<a href="https://huggingface.co/acme/model">Code</a>' in typed.text
    ticked = client.get("/api/search", params={"q": "linked", "has_code": "1"}).json()
    assert ticked["total_count"] == 2


@pytest.mark.parametrize("wanted, expected", [
    ((), "Ann Lee, Bo Chen, Jürgen Schmidhuber, Dan Roe et al."),
    (("schmidhuber",), "Ann Lee, Bo Chen, <mark>Jürgen Schmidhuber</mark>, Dan Roe et al."),
    (("jurgen schmidhuber",), "Ann Lee, Bo Chen, <mark>Jürgen Schmidhuber</mark>, Dan Roe et al."),
    (("hinton",), "Ann Lee, Bo Chen, Jürgen Schmidhuber, Dan Roe, …, <mark>Geoffrey Hinton</mark>"),
    (("evil",), "Ann Lee, Bo Chen, Jürgen Schmidhuber, Dan Roe, <mark>Eve &lt;Evil&gt;</mark> et al."),
    (("geoffrey lee",), "Ann Lee, Bo Chen, Jürgen Schmidhuber, Dan Roe et al."),  # no one name has both
])
def test_searched_authors(wanted, expected):
    from paperwire.papers import Author
    from paperwire.web.pages import searched_authors

    names = ["Ann Lee", "Bo Chen", "Jürgen Schmidhuber", "Dan Roe", "Eve <Evil>", "Geoffrey Hinton"]
    assert str(searched_authors(tuple(Author(n) for n in names), wanted)) == expected


def test_an_author_search_marks_the_author(settings, store, tmp_path):
    from paperwire.papers import Author

    authors = tuple(Author(n) for n in ["A One", "B Two", "C Three", "D Four", "E Five", "Ada Lovelace"])
    store.upsert_papers([make_paper(arxiv_id="2404.00001", title="Engines", abstract="Analytical.",
                                    authors=authors, versions=())], source="test")
    client = TestClient(create_app(settings, store=store, search=SearchService(tmp_path / "i")))
    page = client.get("/search", params={"q": "author:lovelace"}).text
    assert "…, <mark>Ada Lovelace</mark></p>" in page or "…, <mark>Ada Lovelace</mark> ·" in page
