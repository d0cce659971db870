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
