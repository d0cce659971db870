"""How many papers arrive: papers per day per primary category, for the status page's chart.

Counting reads each day's papers through the store's public day methods
(`count_papers_on_day`, `papers_on_day`), a few thousand papers for a month, so
the counts are kept in memory until the store changes (its last change_seq). A
store query that grouped by day and primary category would make this one
indexed scan; the store does not have one yet.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

CHART_DAYS = 30
TOP_CATEGORY_COUNT = 6  # the rest are summed as "other"
OTHER = "other"

_cache: dict[tuple, "DailyCounts"] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class DailyCounts:
    """Papers per day for `days`, as (category, one count per day) largest first, "other" last."""

    days: list[date]
    series: list[tuple[str, list[int]]]

    @property
    def total_count(self) -> int:
        return sum(sum(counts) for _, counts in self.series)


def by_category(per_day: list[Counter], days: list[date], *, top: int = TOP_CATEGORY_COUNT) -> DailyCounts:
    """The `top` categories over all days (ties by name) as series, the rest summed as
    "other" (left out when it is all zeros)."""
    overall = Counter()
    for counts in per_day:
        overall.update(counts)
    chosen = sorted(overall, key=lambda c: (-overall[c], c))[:top]
    series = [(category, [counts[category] for counts in per_day]) for category in chosen]
    rest = [sum(counts.values()) - sum(counts[c] for c in chosen) for counts in per_day]
    if any(rest):
        series.append((OTHER, rest))
    return DailyCounts(days=days, series=series)


def recent(store, *, day_count: int = CHART_DAYS) -> DailyCounts:
    """Papers per primary category for the `day_count` days up to the store's latest day;
    no days on an empty store."""
    latest = store.latest_day()
    if latest is None:
        return DailyCounts(days=[], series=[])
    key = (store.url, latest, store.last_change_seq(), day_count)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    days = [latest - timedelta(days=n) for n in range(day_count - 1, -1, -1)]
    per_day = [_day_categories(store, day) for day in days]
    counted = by_category(per_day, days)
    with _cache_lock:
        _cache.clear()  # only the newest counts are asked for
        _cache[key] = counted
    return counted


def _day_categories(store, day: date) -> Counter:
    count = store.count_papers_on_day(day)
    papers = store.papers_on_day(day, limit=count) if count else []
    return Counter(p.primary_category or (p.categories[0] if p.categories else OTHER) for p in papers)


# --- the store's counts, for the status page --------------------------------------

STATS_MIN_AGE_SECONDS = 10.0
_stats: dict[str, tuple] = {}  # store url -> (change marker, made at (monotonic), StoreStats)
_stats_lock = threading.Lock()


def store_stats(store, *, clock=time.monotonic):
    """`store.stats()` as of the store's last write, counted again at most every
    STATS_MIN_AGE_SECONDS: its counts read every paper (70 ms at 75k papers, seconds at
    all of arXiv) and the status page is not kept (it shows this process's jobs). While
    one reader counts, the others get the previous counts rather than wait or count too."""
    marker = store.change_marker()
    held = _stats.get(store.url)
    if held is not None and (held[0] == marker or clock() - held[1] < STATS_MIN_AGE_SECONDS):
        return held[2]
    if not _stats_lock.acquire(blocking=held is None):
        return held[2]
    try:
        latest = _stats.get(store.url)  # counted by the reader this one waited for?
        if latest is not None and latest is not held and latest[0] == marker:
            return latest[2]
        counted = store.stats()
        _stats[store.url] = (marker, clock(), counted)
        return counted
    finally:
        _stats_lock.release()
