"""Week and month views of the daily feed (periods.py): calendar arithmetic as tables,
and period_feed on a real store against a brute-force oracle of what a period shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from paperwire import periods
from paperwire.feed import DailyEntry
from paperwire.store import open_store
from tests.conftest import make_paper


@pytest.mark.parametrize("day, name, first, last", [
    (date(2025, 3, 3), "2025-W10", date(2025, 3, 3), date(2025, 3, 9)),
    (date(2025, 3, 9), "2025-W10", date(2025, 3, 3), date(2025, 3, 9)),
    (date(2024, 12, 30), "2025-W01", date(2024, 12, 30), date(2025, 1, 5)),  # ISO year differs
    (date(2021, 1, 3), "2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
])
def test_week_of(day, name, first, last):
    assert periods.week_of(day) == periods.Period("week", name, first, last)
    assert periods.week(name) == periods.week_of(day)


@pytest.mark.parametrize("day, name, first, last", [
    (date(2025, 3, 17), "2025-03", date(2025, 3, 1), date(2025, 3, 31)),
    (date(2024, 2, 29), "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    (date(2025, 12, 1), "2025-12", date(2025, 12, 1), date(2025, 12, 31)),
])
def test_month_of(day, name, first, last):
    assert periods.month_of(day) == periods.Period("month", name, first, last)
    assert periods.month(name) == periods.month_of(day)


def test_neighbours_and_bounds():
    week = periods.week("2025-W01")
    assert (week.previous().name, week.next().name) == ("2024-W52", "2025-W02")
    month = periods.month("2025-12")
    assert (month.previous().name, month.next().name) == ("2025-11", "2026-01")
    assert month.start == datetime(2025, 12, 1, tzinfo=timezone.utc)
    assert month.end == datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2025-W54", "2025W01", "2025-Wx", "", "2025-W00"])
def test_a_bad_week_says_the_form(text):
    with pytest.raises(ValueError, match="YYYY-Www"):
        periods.week(text)


@pytest.mark.parametrize("text", ["2025-13", "2025-3", "2025-00", "march", "2025-03-01"])
def test_a_bad_month_says_the_form(text):
    with pytest.raises(ValueError, match="YYYY-MM"):
        periods.month(text)


WEEK = periods.week("2025-W10")  # Monday 3 to Sunday 9 March 2025
NOW = datetime(2025, 3, 20, tzinfo=timezone.utc)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture
def week_store(tmp_path):
    """23 papers in the week (two categories in turn), 2 the week before, 2 after; four
    listed in the week (one twice, one published the week before), one listed after it."""
    store = open_store(f"sqlite:///{tmp_path}/p.db")
    papers = []
    for n in range(23):
        day = WEEK.first + timedelta(days=n % 7)
        category = ("cs.CL",) if n % 2 else ("cs.CV", "cs.CL") if n % 3 == 0 else ("cs.CV",)
        papers.append(make_paper(arxiv_id=f"2503.{n:05d}", published_at=_at(day, 1 + n), categories=category,
                                 primary_category=category[0]))
    papers += [make_paper(arxiv_id=f"2502.{n:05d}", published_at=_at(WEEK.first - timedelta(days=1 + n), 9))
               for n in range(2)]
    papers += [make_paper(arxiv_id=f"2503.{90 + n:05d}", published_at=_at(WEEK.last + timedelta(days=1 + n), 9))
               for n in range(2)]
    store.upsert_papers(papers, source="test")
    store.upsert_daily_entries([
        DailyEntry(day=WEEK.first, arxiv_id="2503.00004", upvote_count=10),
        DailyEntry(day=WEEK.first + timedelta(days=2), arxiv_id="2503.00004", upvote_count=12),
        DailyEntry(day=WEEK.first + timedelta(days=1), arxiv_id="2502.00000", upvote_count=30),
        DailyEntry(day=WEEK.first + timedelta(days=3), arxiv_id="2503.00007", upvote_count=1),
        DailyEntry(day=WEEK.first + timedelta(days=4), arxiv_id="2503.00008", upvote_count=0),
        DailyEntry(day=WEEK.last + timedelta(days=1), arxiv_id="2503.00009", upvote_count=99),
    ])
    yield store, papers
    store.close()


def _all_pages(store, **options):
    first = periods.period_feed(store, WEEK, now=NOW, page_size=5, **options)
    items = list(first.items)
    for page in range(2, first.page_count + 1):
        items += periods.period_feed(store, WEEK, now=NOW, page_size=5, page=page, **options).items
    return first, [item.paper.arxiv_id for item in items]


@pytest.mark.parametrize("category", [None, "cs.CL", "cs.CV", "hep-th"])
@pytest.mark.parametrize("sort", periods.SORTS)
def test_every_paper_of_the_period_appears_once_over_its_pages(week_store, category, sort):
    store, papers = week_store
    listed = {"2503.00004", "2502.00000", "2503.00007", "2503.00008"}
    expected = {p.arxiv_id for p in papers if (WEEK.first <= p.day <= WEEK.last or p.arxiv_id in listed)
                and (category is None or category in p.categories)}
    first, shown = _all_pages(store, category=category, sort=sort)
    assert len(shown) == len(set(shown)), "a paper appeared twice"
    assert set(shown) == expected
    assert first.paper_count == len(expected)


def test_list_order_puts_the_listed_papers_first_by_their_best_upvotes(week_store):
    store, _ = week_store
    _, shown = _all_pages(store)
    assert shown[:4] == ["2502.00000", "2503.00004", "2503.00007", "2503.00008"]
    rest = [p for p in store.papers_between(WEEK.first, WEEK.last, limit=100) if p.arxiv_id not in shown[:4]]
    assert shown[4:] == [p.arxiv_id for p in rest]


def test_trending_order_ranks_by_signal_in_the_period_with_a_why(week_store):
    store, _ = week_store
    feed = periods.period_feed(store, WEEK, now=NOW, sort="trending", page_size=50)
    ids = [item.paper.arxiv_id for item in feed.items]
    # 2503.00009's 99 upvotes came after the week; 00008 has no signal and follows in list order.
    assert ids[:4] == ["2502.00000", "2503.00004", "2503.00007", "2503.00008"]
    assert "30 upvotes on Hugging Face" in feed.items[0].why
    assert feed.items[3].why is None
    late = ids.index("2503.00009")  # published in the week, so shown, but not ranked
    assert late > 3 and feed.items[late].why is None


def test_category_counts_cover_the_unfiltered_period(week_store):
    store, papers = week_store
    feed = periods.period_feed(store, WEEK, now=NOW, category="cs.CV")
    counts = dict(feed.category_counts)
    in_week = [p for p in papers if WEEK.first <= p.day <= WEEK.last]
    assert counts["cs.CL"] == sum("cs.CL" in p.categories for p in in_week)
    assert counts["cs.CV"] == sum("cs.CV" in p.categories for p in in_week)
    assert counts["cs.LG"] == 1 and counts["cs.AI"] == 1  # the older listed paper's categories
    assert all(item.paper.categories.count("cs.CV") for item in feed.items)


def test_an_unknown_sort_is_refused(week_store):
    store, _ = week_store
    with pytest.raises(ValueError, match="list, trending"):
        periods.period_feed(store, WEEK, now=NOW, sort="random")
