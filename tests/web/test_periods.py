"""The week and month pages and the category filter on day, week and month pages, over HTTP."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from paperwire.feed import DailyEntry
from tests.conftest import make_paper
from tests.web.conftest import listed_ids

MONDAY = date(2025, 3, 3)  # 2025-W10


def _paper(n: int, day: date, categories: tuple[str, ...]):
    return make_paper(arxiv_id=f"2503.{n:05d}", title=f"Paper {n}", categories=categories,
                      primary_category=categories[0],
                      published_at=datetime(day.year, day.month, day.day, 1 + n % 20, tzinfo=timezone.utc))


@pytest.fixture
def week(store):
    """60 papers over the week, cs.CL and cs.CV in turn; one listed with 40 upvotes."""
    store.upsert_papers([_paper(n, MONDAY + timedelta(days=n % 7), ("cs.CL",) if n % 2 else ("cs.CV",))
                         for n in range(60)], source="test")
    store.upsert_daily_entries([DailyEntry(day=MONDAY, arxiv_id="2503.00007", upvote_count=40)])
    return store


def _hrefs(text: str, pattern: str) -> list[str]:
    return [html_lib.unescape(h) for h in re.findall(rf'href="({pattern}[^"]*)"', text)]


def test_week_page_lists_the_listed_paper_first_and_pages(client, week):
    response = client.get("/week/2025-W10")
    assert response.status_code == 200
    ids = listed_ids(response.text)
    assert ids[0] == "2503.00007" and len(ids) == 50
    assert "60 papers · 1 on the Hugging Face daily lists · page 1 of 2" in response.text
    assert 'href="/week/2025-W09"' in response.text and 'href="/week/2025-W11"' in response.text
    assert 'href="/week/2025-W10/map"' in response.text
    second = client.get("/week/2025-W10?page=2")
    assert set(listed_ids(second.text)).isdisjoint(ids) and len(listed_ids(second.text)) == 10


def test_month_page_and_its_weeks(client, week):
    response = client.get("/month/2025-03")
    assert response.status_code == 200
    assert "March 2025" in response.text
    assert 'href="/month/2025-02"' in response.text and 'href="/month/2025-04"' in response.text
    for number in range(9, 15):  # March 2025 touches ISO weeks 9 to 14
        assert f'href="/week/2025-W{number:02d}"' in response.text


def test_latest_week_and_month_redirect_to_the_store_s_latest_day(client, week):
    assert client.get("/week").headers["location"] == "/week/2025-W10"
    assert client.get("/month").headers["location"] == "/month/2025-03"


@pytest.mark.parametrize("path, status", [
    ("/week/2025-W54", 404), ("/week/2025-10", 404), ("/month/2025-13", 404), ("/month/March", 404),
    ("/week/2025-W10?page=3", 404), ("/week/2025-W10?sort=random", 400), ("/month/2025-03?cat=%3Cb%3E", 400),
    ("/day/2025-03-03?cat=cs.CL%20OR%201", 400),
])
def test_bad_addresses_say_what_to_use(client, week, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert "<b>" not in response.text


def test_a_non_canonical_week_redirects(client, week):
    response = client.get("/week/2025-W1")
    assert (response.status_code, response.headers["location"]) == (301, "/week/2025-W01")


def test_the_filter_form_counts_categories_and_keeps_the_sort(client, week):
    text = client.get("/week/2025-W10?sort=trending").text
    form = re.search(r'<form class="category-filter" method="get" action="/week/2025-W10">.*?</form>', text, re.S)[0]
    assert '<option value="cs.CL">cs.CL (30)</option>' in form
    assert '<option value="cs.CV">cs.CV (30)</option>' in form
    assert '<input type="hidden" name="sort" value="trending">' in form


def test_filtered_week_keeps_the_filter_in_pager_and_tags(client, store):
    store.upsert_papers([_paper(n, MONDAY + timedelta(days=n % 7), ("cs.CL", "cs.AI") if n % 3 else ("cs.CV",))
                         for n in range(120)], source="test")
    response = client.get("/week/2025-W10?cat=cs.CL&sort=trending")
    assert response.status_code == 200
    assert "80 papers in cs.CL" in response.text
    assert all(int(i[-5:]) % 3 for i in listed_ids(response.text))
    assert "/week/2025-W10?cat=cs.CL&sort=trending&page=2" in _hrefs(response.text, "/week/2025-W10\\?")
    # A card's tags filter this week by that category.
    assert "/week/2025-W10?cat=cs.AI" in _hrefs(response.text, "/week/")
    assert '<option value="cs.CL" selected>' in response.text


def test_day_page_filters_by_category(client, week):
    response = client.get("/day/2025-03-03?cat=cs.CL")
    assert response.status_code == 200
    ids = listed_ids(response.text)
    assert ids and all(int(i[-5:]) % 2 for i in ids)  # the odd papers are cs.CL
    assert "2503.00007" in ids  # the listed paper is cs.CL too
    assert "/day/2025-03-03?cat=cs.CL" in _hrefs(response.text, "/day/")  # its tags
    unfiltered = listed_ids(client.get("/day/2025-03-03").text)
    assert set(ids) == {i for i in unfiltered if int(i[-5:]) % 2}


def test_day_filter_with_no_papers_says_so(client, week):
    response = client.get("/day/2025-03-03?cat=hep-th")
    assert response.status_code == 200
    assert "in hep-th; try the days either side" in response.text
    assert '<option value="hep-th" selected>hep-th (0)</option>' in response.text


def test_tags_link_to_search_on_other_pages(client, week):
    text = client.get("/paper/2503.00007").text
    assert "/search?q=cat%3Acs.CL&sort=newest" in _hrefs(text, "/search")


def test_period_pages_point_feed_readers_at_the_newest_papers(client, week):
    assert 'rel="alternate" type="application/atom+xml" title="The latest papers (Atom)" href="/feed.atom"' \
        in client.get("/week/2025-W10").text
    text = client.get("/month/2025-03?cat=cs.CL").text
    assert 'href="/category/cs.CL/feed.rss"' in text
    assert client.get("/category/cs.CL/feed.rss").status_code == 200


def test_counts_follow_the_store_when_it_changes(client, week):
    assert '<option value="cs.CL">cs.CL (30)</option>' in client.get("/week/2025-W10").text
    assert "30 papers in cs.CL" in client.get("/week/2025-W10?cat=cs.CL").text
    week.upsert_papers([_paper(61, MONDAY, ("cs.CL",))], source="test")
    assert '<option value="cs.CL">cs.CL (31)</option>' in client.get("/week/2025-W10").text
    assert "31 papers in cs.CL" in client.get("/week/2025-W10?cat=cs.CL").text
    week.delete_papers(["2503.00061", "2503.00001"], source="test")
    assert "29 papers in cs.CL" in client.get("/week/2025-W10?cat=cs.CL").text
