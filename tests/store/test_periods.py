"""The store's period reads (papers_between, count_papers_between, categories_between,
daily_entries_between, thumbnail_urls) against a brute-force scan, on both engines."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from paperwire.feed import DailyEntry
from tests.conftest import make_paper

FIRST = date(2025, 3, 1)
CATEGORIES = (("cs.CL",), ("cs.LG", "cs.CL"), ("cs.CV",), ("math.ST", "cs.LG"))


def _papers():
    """40 papers over 10 days, four an hour apart each day, categories in turn."""
    papers = []
    for n in range(40):
        day = FIRST + timedelta(days=n // 4)
        published = datetime(day.year, day.month, day.day, 6 + 4 * (n % 4), tzinfo=timezone.utc)
        categories = CATEGORIES[n % len(CATEGORIES)]
        papers.append(make_paper(arxiv_id=f"2503.{n:05d}", published_at=published, categories=categories,
                                 primary_category=categories[0]))
    return papers


def _expected(papers, first, last, category=None):
    found = [p for p in papers if first <= p.day <= last and (category is None or category in p.categories)]
    return sorted(found, key=lambda p: (-p.published_at.timestamp(), p.arxiv_id))


def test_papers_between_matches_a_scan_for_every_range_and_category(store):
    papers = _papers()
    store.upsert_papers(papers, source="test")
    for first, last in [(FIRST, FIRST), (FIRST, FIRST + timedelta(days=6)), (FIRST + timedelta(days=3), FIRST + timedelta(days=30)),
                        (FIRST - timedelta(days=5), FIRST - timedelta(days=1))]:
        for category in (None, "cs.CL", "cs.LG", "math.ST", "q-bio.NC"):
            expected = _expected(papers, first, last, category)
            got = store.papers_between(first, last, category=category, limit=1000)
            assert [p.arxiv_id for p in got] == [p.arxiv_id for p in expected], (first, last, category)
            assert store.count_papers_between(first, last, category=category) == len(expected)


def test_papers_between_pages_cover_each_paper_once(store):
    papers = _papers()
    store.upsert_papers(papers, source="test")
    last = FIRST + timedelta(days=9)
    pages = [store.papers_between(FIRST, last, limit=7, offset=o) for o in range(0, 42, 7)]
    assert [p.arxiv_id for page in pages for p in page] == [p.arxiv_id for p in _expected(papers, FIRST, last)]


def test_categories_between_and_deleted_papers(store):
    papers = _papers()
    store.upsert_papers(papers, source="test")
    store.delete_papers(["2503.00000"], source="test")
    got = store.categories_between(FIRST, FIRST)
    assert sorted(map(tuple, got)) == sorted(p.categories for p in papers[1:4])
    assert store.count_papers_between(FIRST, FIRST) == 3


def test_daily_entries_between_and_thumbnail_urls(store):
    store.upsert_papers(_papers(), source="test")
    store.upsert_daily_entries([
        DailyEntry(day=FIRST, arxiv_id="2503.00001", upvote_count=3, thumbnail_url="https://cdn.example/a.png"),
        DailyEntry(day=FIRST + timedelta(days=1), arxiv_id="2503.00001", upvote_count=9,
                   thumbnail_url="https://cdn.example/a2.png"),
        DailyEntry(day=FIRST + timedelta(days=1), arxiv_id="2503.00002", upvote_count=5),
        DailyEntry(day=FIRST + timedelta(days=8), arxiv_id="2503.00003", upvote_count=50),
    ])
    got = store.daily_entries_between(FIRST, FIRST + timedelta(days=6))
    assert [(e.arxiv_id, e.upvote_count) for e in got] == [("2503.00001", 9), ("2503.00002", 5), ("2503.00001", 3)]
    # The latest listing's address, once per paper; entries without one are left out.
    assert store.thumbnail_urls() == [("2503.00001", "https://cdn.example/a2.png")]
