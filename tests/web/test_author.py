"""An author's papers paged over HTTP: /author/<name> with its pager and /api/v1/authors/<name>
with `next` and a Link header, each paper once, newest first, the same on both."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.papers import Author
from paperwire.web import community, openapi
from tests.conftest import make_paper
from tests.web.test_error_shape import assert_json_error

PAPER_COUNT = 120  # three pages of 50: two full, one of 20
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def listed(html: str) -> list[str]:
    return re.findall(r'<h2 class="title"><a href="/paper/([^"]+)">', html)


@pytest.fixture
def newest_first(store) -> list[str]:
    store.upsert_papers([
        make_paper(arxiv_id=f"2401.{n:05d}", title=f"Paper {n}", published_at=START + timedelta(hours=n),
                   authors=(Author("Ada Lovelace"), Author(f"Author {n}")))
        for n in range(PAPER_COUNT)
    ] + [make_paper(arxiv_id="2401.99999", authors=(Author("Someone Else"),))], source="test")
    return [f"2401.{n:05d}" for n in reversed(range(PAPER_COUNT))]


def test_the_author_page_pages_through_every_paper_newest_first(client, newest_first):
    size = community.AUTHOR_PAGE_SIZE
    seen, url = [], "/author/Ada%20Lovelace"
    while url:
        page = client.get(url)
        assert page.status_code == 200, url
        seen.append(listed(page.text))
        assert f"{PAPER_COUNT} papers in this store" in page.text
        links = re.findall(r'<a rel="next" href="([^"]+)">', page.text)
        assert len(links) in (0, 2)  # the pager above and below the papers, or none on the last page
        url = links[0].replace("&amp;", "&") if links else None
    assert [len(p) for p in seen] == [size, size, PAPER_COUNT - 2 * size]
    assert [i for p in seen for i in p] == newest_first
    assert 'href="/author/Ada%20Lovelace?page=2"' in client.get("/author/Ada%20Lovelace?page=3").text  # previous
    assert client.get("/author/Ada%20Lovelace?page=4").status_code == 404
    assert client.get("/author/Ada%20Lovelace?page=0").status_code == 400


def test_one_page_has_no_pager(client, newest_first):
    page = client.get("/author/Someone%20Else").text
    assert listed(page) == ["2401.99999"] and 'class="pager"' not in page


@pytest.mark.parametrize("size", [1, 7, 50, 100])
def test_the_api_pages_by_next_and_link(client, newest_first, size):
    seen, url = [], f"/api/v1/authors/ada%20lovelace?page_size={size}"
    while url:
        response = client.get(url)
        body = response.json()
        assert response.status_code == 200 and body["page_size"] == size and body["paper_count"] == PAPER_COUNT
        seen.append([p["arxiv_id"] for p in body["papers"]])
        link = response.headers.get("link")
        assert (link is None) == (body["next"] is None) == (body["page"] == body["page_count"])
        if link:
            assert link == f'<{body["next"]}>; rel="next"'
        url = body["next"]
    assert [i for page in seen for i in page] == newest_first
    assert all(len(page) == size for page in seen[:-1]) and len(seen) == -(-PAPER_COUNT // size)


def test_the_api_lists_what_the_page_lists(client, newest_first):
    for page in (1, 2, 3):
        html = client.get(f"/author/Ada%20Lovelace?page={page}").text
        data = client.get(f"/api/v1/authors/Ada%20Lovelace?page={page}").json()
        assert [p["arxiv_id"] for p in data["papers"]] == listed(html) != []
    assert openapi.AUTHOR_PAGE_SIZE == community.AUTHOR_PAGE_SIZE


@pytest.mark.parametrize("query, status, words", [
    ("page=4", 404, "has 3 page(s) of papers here, not 4"),
    ("page=nine", 400, "is not a page number"),
    ("page_size=101", 400, "over the limit"),
])
def test_api_paging_errors_have_the_one_shape(client, newest_first, query, status, words):
    assert_json_error(client.get(f"/api/v1/authors/Ada%20Lovelace?{query}"), status, words)


@pytest.mark.parametrize("name", [
    "Ada%00Lovelace", "Ada%1B%5B31mLovelace", "%E2%80%AEecalevoL%20adA", "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "Ada'%20OR%20'1'%3D'1", "a" * 5000, "%20%20", "%5C%22", "author:%22Ada%22",
])
def test_a_hostile_author_name_gets_a_page_and_no_error(client, newest_first, name):
    # The name reaches the keyword index as a term query and the store as an id list; neither
    # may fail, and nothing of it may come back unescaped.
    page = client.get(f"/author/{name}")
    assert page.status_code == 200, page.text[:300]
    assert listed(page.text) == [] and "<script>alert" not in page.text
    answer = client.get(f"/api/v1/authors/{name}")
    if name in ("a" * 5000, "%20%20"):  # the API names its limits (api_v1.MAX_AUTHOR_CHARS)
        assert_json_error(answer, 404, "needs a name of 1 to 200 characters")
    else:
        assert answer.status_code == 200 and answer.json()["papers"] == []
