"""feed.combine and feed.page_count: the daily page's order and paging, as tables."""

from __future__ import annotations

from datetime import date

import pytest

from paperwire.feed import DailyEntry, FeedItem, combine, page_count
from tests.conftest import make_paper

DAY = date(2025, 3, 3)


def paper(arxiv_id):
    return make_paper(arxiv_id=arxiv_id)


def entry(arxiv_id, upvote_count):
    return DailyEntry(day=DAY, arxiv_id=arxiv_id, upvote_count=upvote_count)


@pytest.mark.parametrize("entries, listed, day_papers, expected", [
    ([], [], [], []),
    ([], [], ["c", "a", "b"], [("c", None), ("a", None), ("b", None)]),
    ([("a", 1), ("b", 9)], ["a", "b"], [], [("b", 9), ("a", 1)]),
    # ties by id; a listed paper is not shown again among the day's papers
    ([("b", 3), ("a", 3)], ["a", "b"], ["c", "a"], [("a", 3), ("b", 3), ("c", None)]),
    # an entry whose paper is not in the store is left out
    ([("x", 50), ("a", 1)], ["a"], ["c"], [("a", 1), ("c", None)]),
])
def test_combine(entries, listed, day_papers, expected):
    items = combine(
        [entry(i, n) for i, n in entries], {i: paper(i) for i in listed}, [paper(i) for i in day_papers]
    )
    assert [(item.paper.arxiv_id, item.upvote_count) for item in items] == expected
    assert all(isinstance(item, FeedItem) for item in items)


@pytest.mark.parametrize("count, size, pages", [(0, 50, 1), (1, 50, 1), (50, 50, 1), (51, 50, 2), (1000, 50, 20)])
def test_page_count(count, size, pages):
    assert page_count(count, page_size=size) == pages
