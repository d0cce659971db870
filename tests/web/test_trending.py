"""/trending over day, week and month windows, and /author/<name> linked from every card."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from paperwire import trending
from paperwire.feed import DailyEntry
from paperwire.papers import Author
from tests.conftest import make_paper
from tests.web.test_accounts import add_user
from tests.web.test_error_shape import assert_html_error

NOW = datetime.now(timezone.utc)


def listed(html: str) -> list[str]:
    return re.findall(r'<h2 class="title"><a href="/paper/([^"]+)">', html)


@pytest.fixture
def client(client, store):
    """Three papers: one upvoted here 90 minutes ago (twice), one listed on Hugging Face
    three days ago with 38 upvotes, one upvoted here 20 days ago."""
    store.upsert_papers([
        make_paper(arxiv_id=f"2601.0000{i}", title=f"Paper {i}", published_at=NOW - timedelta(days=30),
                   authors=(Author("Ada Lovelace"), Author(f"Author {i}")))
        for i in (1, 2, 3)
    ], source="test")
    ada, bob = add_user(store, "ada"), add_user(store, "bob")
    for user in (ada, bob):
        store.upvote(user.id, "2601.00001", now=NOW - timedelta(minutes=90))
    store.upsert_daily_entries([DailyEntry(day=(NOW - timedelta(days=3)).date(), arxiv_id="2601.00002",
                                           upvote_count=38)])
    store.upvote(ada.id, "2601.00003", now=NOW - timedelta(days=20))
    return client


@pytest.mark.parametrize("window, expected", [
    ("day", ["2601.00001"]),
    ("week", ["2601.00002", "2601.00001"]),
    ("month", ["2601.00002", "2601.00001", "2601.00003"]),
])
def test_each_window_ranks_what_happened_in_it_as_the_formula_does(client, store, window, expected):
    page = client.get(f"/trending?window={window}")
    assert page.status_code == 200 and listed(page.text) == expected
    # The oracle: trending.trending over every paper's row, from the store, ranked the same.
    at = datetime.now(timezone.utc)
    items = trending.trending(store.trending_rows(since=at - timedelta(days=400)), now=at,
                              window=trending.WINDOWS[window])
    assert [item.arxiv_id for item in items] == expected


def test_each_paper_says_why_and_keeps_the_two_counts_apart(client):
    page = client.get("/trending?window=week").text
    assert "2 upvotes in 2 hours" in page and "38 upvotes on Hugging Face in" in page
    assert "38 on Hugging Face" in page and "▲ 2 here" in page and "▲ 0 here" in page
    assert 'aria-current="page">Week</a>' in page


def test_the_default_window_is_the_week_and_a_bad_one_says_the_choices(client):
    assert listed(client.get("/trending").text) == ["2601.00002", "2601.00001"]
    assert_html_error(client.get("/trending?window=year"), 400, "use day, week, month")


def test_an_author_page_lists_their_papers_and_cards_link_to_it(client, store):
    page = client.get("/author/Ada%20Lovelace")
    assert page.status_code == 200 and sorted(listed(page.text)) == ["2601.00001", "2601.00002", "2601.00003"]
    assert "3 papers in this store" in page.text
    assert listed(client.get("/author/Author%202").text) == ["2601.00002"]
    assert "0 papers" in client.get("/author/Nobody").text
    paper_page = client.get("/paper/2601.00001").text
    assert '<a href="/author/Ada%20Lovelace">Ada Lovelace</a>' in paper_page
    store.upsert_papers([make_paper(arxiv_id="2503.00001")], source="test")
    day_page = client.get("/day/2025-03-01").text
    assert '<a href="/author/Alan%20Turing">Alan Turing</a>' in day_page


@pytest.mark.parametrize("window, expected", [
    ("day", ["2601.00001"]),
    ("week", ["2601.00002", "2601.00001"]),
    ("month", ["2601.00002", "2601.00001", "2601.00003"]),
])
def test_the_trending_feeds_and_api_list_what_the_page_lists(client, window, expected):
    import feedparser

    page = client.get(f"/trending?window={window}").text
    assert listed(page) == expected
    assert f'rel="alternate" type="application/atom+xml" title="Trending this {window} (Atom)" ' \
           f'href="/trending/feed.atom?window={window}"' in page
    for kind, version in (("atom", "atom10"), ("rss", "rss20")):
        response = client.get(f"/trending/feed.{kind}?window={window}")
        parsed = feedparser.parse(response.content)
        assert response.status_code == 200 and not parsed.bozo and parsed.version == version
        assert [e.id.removeprefix("https://arxiv.org/abs/") for e in parsed.entries] == expected
    etag = client.get(f"/trending/feed.atom?window={window}").headers["etag"]
    assert client.get(f"/trending/feed.atom?window={window}", headers={"If-None-Match": etag}).status_code == 304
    data = client.get(f"/api/v1/trending?window={window}").json()
    assert data["ok"] and data["window"] == window
    assert [item["paper"]["arxiv_id"] for item in data["items"]] == expected
    assert all(item["why"] for item in data["items"])


def test_a_bad_trending_window_is_400_in_each_shape(client):
    assert_html_error(client.get("/trending/feed.atom?window=year"), 400, "use day, week, month")
    answer = client.get("/api/v1/trending?window=year")
    assert answer.status_code == 400 and answer.json()["ok"] is False and "use day, week, month" in answer.json()["error"]


def test_the_author_api_lists_what_the_author_page_lists(client):
    page = client.get("/author/Ada%20Lovelace").text
    data = client.get("/api/v1/authors/ada%20lovelace").json()
    assert data["ok"] and [p["arxiv_id"] for p in data["papers"]] == listed(page) != []
    assert client.get("/api/v1/authors/Nobody%20Here").json()["papers"] == []
    assert client.get("/api/v1/authors/" + "x" * 201).status_code == 404
