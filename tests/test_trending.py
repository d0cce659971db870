"""The trending formula: hand-computed scores at a fixed `now` for each window, ties, reasons."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from paperwire.trending import DAY, MONTH, WEEK, TrendingRow, decay, month_period, trending, week_period, why

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=timezone.utc)


def ago(hours: float = 0, days: float = 0) -> datetime:
    return NOW - timedelta(hours=hours, days=days)


def ranked(rows, window, **kwargs):
    return [(i.arxiv_id, pytest.approx(i.score), i.why) for i in trending(rows, now=NOW, window=window, **kwargs)]


def test_day_window():
    """Half-life 12 hours, signals from the last 24 hours."""
    rows = [
        TrendingRow("A", ago(30), upvoted_at=(ago(0), ago(12), ago(12))),  # 1 + 0.5 + 0.5
        TrendingRow("B", ago(40), hf_upvote_count=4, hf_listed_at=ago(24)),  # 4 * 0.25 (edge of the window)
        TrendingRow("C", ago(40), upvoted_at=(ago(25),)),  # before the window
        TrendingRow("D", ago(12), github_star_count=1023),  # log2(1024) * 0.5
        TrendingRow("E", ago(20), upvoted_at=(ago(0), ago(0)), hf_upvote_count=10, hf_listed_at=ago(12),
                    saved_at=(ago(12),)),  # 2 + 10 * 0.5 + 0.5
        TrendingRow("F", ago(20), upvoted_at=(NOW + timedelta(hours=1),)),  # after `now`: not counted
        TrendingRow("G", ago(20), hf_upvote_count=0, hf_listed_at=ago(1)),  # listed, no upvotes
    ]
    assert ranked(rows, DAY) == [
        ("E", 7.5, "2 upvotes here, 10 on Hugging Face and 1 save in 12 hours"),
        ("D", 5.0, "1,023 GitHub stars"),
        ("A", 2.0, "3 upvotes in 12 hours"),
        ("B", 1.0, "4 upvotes on Hugging Face in 24 hours"),
    ]


def test_week_window():
    """Half-life 84 hours, signals from the last 168 hours."""
    rows = [
        TrendingRow("W1", ago(200), upvoted_at=(ago(84), ago(168), ago(169))),  # 0.5 + 0.25
        TrendingRow("W2", ago(100), hf_upvote_count=2, hf_listed_at=ago(84)),  # 2 * 0.5
        TrendingRow("W3", ago(10), saved_at=(ago(0),)),  # 1, ties W2 and is newer
        TrendingRow("C", ago(40), upvoted_at=(ago(25),)),  # 2 ** (-25 / 84)
    ]
    assert ranked(rows, WEEK) == [
        ("W3", 1.0, "1 save in 1 hour"),
        ("W2", 1.0, "2 upvotes on Hugging Face in 3 days"),
        ("C", 2 ** (-25 / 84), "1 upvote in 25 hours"),
        ("W1", 0.75, "2 upvotes in 7 days"),
    ]


def test_month_window():
    """Half-life 15 days, signals from the last 30 days."""
    rows = [
        TrendingRow("M1", ago(days=15), upvoted_at=(ago(days=15), ago(days=30)),
                    github_star_count=1),  # 0.5 + 0.25 + log2(2) * 0.5
        TrendingRow("M2", ago(days=40), hf_upvote_count=1, hf_listed_at=ago(days=30)),  # 0.25
        TrendingRow("M3", ago(days=40), upvoted_at=(ago(days=31),), github_star_count=500),  # all too old
    ]
    assert ranked(rows, MONTH) == [
        ("M1", 1.25, "2 upvotes in 30 days; 1 GitHub star"),
        ("M2", 0.25, "1 upvote on Hugging Face in 30 days"),
    ]


def test_local_and_imported_upvotes_are_separate_signals():
    """Each counts once, in its own field: the score is their sum, not the larger."""
    [item] = trending([TrendingRow("X", ago(1), upvoted_at=(ago(0),) * 3, hf_upvote_count=5,
                                   hf_listed_at=ago(0))], now=NOW, window=DAY)
    assert (item.upvote_count, item.hf_upvote_count, item.save_count) == (3, 5, 0)
    assert item.score == pytest.approx(8.0)
    assert item.why == "3 upvotes here and 5 on Hugging Face in 1 hour"


def test_ties_go_to_the_newer_paper_then_the_smaller_id():
    rows = [
        TrendingRow("2606.00004", None, upvoted_at=(ago(0),)),  # no date: after every dated paper
        TrendingRow("2606.00002", ago(2), upvoted_at=(ago(0),)),
        TrendingRow("2606.00001", ago(2), upvoted_at=(ago(0),)),
        TrendingRow("2606.00003", ago(1), upvoted_at=(ago(0),)),
    ]
    order = ["2606.00003", "2606.00001", "2606.00002", "2606.00004"]
    assert [i.arxiv_id for i in trending(rows, now=NOW, window=DAY)] == order
    assert [i.arxiv_id for i in trending(reversed(rows), now=NOW, window=DAY)] == order


def test_equal_scores_from_different_signals_tie():
    """0.5 + 0.25 reached by two upvotes and by an upvote and a save: the newer paper wins."""
    rows = [
        TrendingRow("old", ago(30), upvoted_at=(ago(12), ago(24))),
        TrendingRow("new", ago(20), saved_at=(ago(24),), upvoted_at=(ago(12),)),
    ]
    assert [i.arxiv_id for i in trending(rows, now=NOW, window=DAY)] == ["new", "old"]


def test_a_calendar_month_ranks_with_its_own_bounds():
    start, end = month_period("2026-05")
    rows = [
        TrendingRow("may", datetime(2026, 5, 20, tzinfo=timezone.utc),
                    upvoted_at=(datetime(2026, 5, 31, 23, tzinfo=timezone.utc),
                                datetime(2026, 6, 1, 1, tzinfo=timezone.utc))),  # June's vote is not May's
        TrendingRow("april", datetime(2026, 4, 20, tzinfo=timezone.utc),
                    upvoted_at=(datetime(2026, 4, 30, 23, tzinfo=timezone.utc),)),
    ]
    [item] = trending(rows, now=end, window=MONTH, start=start)
    assert item.arxiv_id == "may" and item.upvote_count == 1
    assert item.score == pytest.approx(decay(timedelta(hours=1), MONTH.half_life))


def test_a_paper_given_twice_is_refused():
    with pytest.raises(ValueError, match="paper X has two trending rows"):
        trending([TrendingRow("X"), TrendingRow("X")], now=NOW, window=DAY)


def test_nothing_in_the_window_is_an_empty_list():
    assert trending([TrendingRow("X", ago(days=3), upvoted_at=(ago(days=3),))], now=NOW, window=DAY) == []
    assert trending([], now=NOW, window=WEEK) == []


@pytest.mark.parametrize("age, half_life, weight", [
    (timedelta(0), timedelta(hours=12), 1.0), (timedelta(hours=12), timedelta(hours=12), 0.5),
    (timedelta(hours=36), timedelta(hours=12), 0.125), (timedelta(hours=-3), timedelta(hours=12), 1.0),
])
def test_decay(age, half_life, weight):
    assert decay(age, half_life) == pytest.approx(weight)


@pytest.mark.parametrize("counts, elapsed, text", [
    ((1, 0, 0, 0), timedelta(0), "1 upvote in 1 hour"),
    ((38, 0, 0, 0), timedelta(days=2, hours=5), "38 upvotes in 2 days"),
    ((2, 0, 0, 0), timedelta(hours=47, minutes=30), "2 upvotes in 48 hours"),
    ((0, 1, 0, 0), timedelta(hours=1, minutes=1), "1 upvote on Hugging Face in 2 hours"),
    ((0, 1200, 0, 0), timedelta(days=3), "1,200 upvotes on Hugging Face in 3 days"),
    ((0, 0, 2, 0), timedelta(hours=3), "2 saves in 3 hours"),
    ((1, 2, 3, 0), timedelta(hours=3), "1 upvote here, 2 on Hugging Face and 3 saves in 3 hours"),
    ((0, 0, 0, 1204), None, "1,204 GitHub stars"),
    ((0, 0, 0, 0), None, ""),
])
def test_why(counts, elapsed, text):
    upvotes, hf, saves, stars = counts
    assert why(upvote_count=upvotes, hf_upvote_count=hf, save_count=saves, github_star_count=stars,
               elapsed=elapsed) == text


@pytest.mark.parametrize("text, start, end", [
    ("2026-W27", datetime(2026, 6, 29), datetime(2026, 7, 6)),
    ("2026-W53", datetime(2026, 12, 28), datetime(2027, 1, 4)),
    ("2026-W01", datetime(2025, 12, 29), datetime(2026, 1, 5)),
])
def test_week_period(text, start, end):
    assert week_period(text) == (start.replace(tzinfo=timezone.utc), end.replace(tzinfo=timezone.utc))


@pytest.mark.parametrize("text, start, end", [
    ("2026-06", datetime(2026, 6, 1), datetime(2026, 7, 1)),
    ("2026-12", datetime(2026, 12, 1), datetime(2027, 1, 1)),
])
def test_month_period(text, start, end):
    assert month_period(text) == (start.replace(tzinfo=timezone.utc), end.replace(tzinfo=timezone.utc))


@pytest.mark.parametrize("text", ["2025-W53", "2026-W00", "2026-27", "week", "2026-Wx"])
def test_bad_weeks(text):
    with pytest.raises(ValueError, match="is not a week; use YYYY-Www"):
        week_period(text)


@pytest.mark.parametrize("text", ["2026-13", "2026", "june", "2026-06-01"])
def test_bad_months(text):
    with pytest.raises(ValueError, match="is not a month; use YYYY-MM"):
        month_period(text)


def test_half_lives_are_half_their_windows():
    for window in (DAY, WEEK, MONTH):
        assert window.half_life * 2 == window.span
        assert math.isclose(decay(window.span, window.half_life), 0.25)
