"""The daily page's logic: which papers a day shows, in what order, on which page.

A day shows its community list first (Hugging Face Daily Papers, most upvoted
first), then every other paper first published that day, newest first. The list
is short (a few dozen papers) and stays on page 1; the day's other papers, up to
a thousand or more on a busy arXiv day, are paged. Reading the store is
`day_feed`'s; `combine` and `page_count` are pure. Rendering is the web layer's.
`DailyEntry`, a paper's place on a community list, is this domain's record; the
store keeps the entries (store/daily.py) and sources/hf_daily.py makes them.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from paperwire.papers import Paper

PAGE_SIZE = 50  # papers of the day per page, besides the community list on page 1
COUNTS_CACHED = 64  # periods whose category counts are kept in memory (a few KB each)
TRENDING_HALF_LIFE_HOURS = 36  # a paper's upvotes count half as much this much later


_counts_cache: dict[tuple, dict[str, int]] = {}
_counts_lock = threading.Lock()


@dataclass(frozen=True)
class DailyEntry:
    """A paper on a community daily list (Hugging Face Daily Papers) for one `day`.

    The list day is not the arXiv date: a paper published on Monday may be
    listed on Wednesday. Counts are the source's, as of `seen_at`.
    """

    day: date
    arxiv_id: str
    source: str = "hf_daily"
    upvote_count: int = 0
    comment_count: int = 0
    submitted_by: str | None = None
    organization: str | None = None
    organization_name: str | None = None  # the display name; `organization` is its slug
    github_repo: str | None = None
    github_star_count: int | None = None
    project_url: str | None = None
    thumbnail_url: str | None = None
    ai_summary: str | None = None
    seen_at: datetime | None = None


def entry_to_dict(entry: DailyEntry) -> dict:
    """The entry as plain JSON-ready data (our export format): dates as ISO text."""
    data = dataclasses.asdict(entry)
    data.update(day=entry.day.isoformat(), seen_at=entry.seen_at.isoformat() if entry.seen_at else None)
    return data


def entry_from_dict(data: dict) -> DailyEntry:
    """Rebuild an entry from `entry_to_dict` output; raises KeyError, TypeError or ValueError."""
    known = {f.name for f in dataclasses.fields(DailyEntry)}
    values = {k: v for k, v in data.items() if k in known}
    values.update(day=date.fromisoformat(data["day"]),
                  seen_at=datetime.fromisoformat(data["seen_at"]) if data.get("seen_at") else None)
    return DailyEntry(**values)


@dataclass(frozen=True)
class FeedItem:
    """A paper as the daily page shows it, with its place on the day's list if it has one,
    and why it trends when a page is sorted by trending."""

    paper: Paper
    entry: DailyEntry | None = None
    why: str | None = None

    @property
    def upvote_count(self) -> int | None:
        return self.entry.upvote_count if self.entry else None


@dataclass(frozen=True)
class DayFeed:
    """One page of one day: `items` in display order, and where the neighbours are."""

    day: date
    items: list[FeedItem]
    page: int
    page_count: int
    paper_count: int  # distinct papers the day shows over all its pages
    listed_count: int  # of which on the community list
    previous_day: date | None
    next_day: date | None
    category: str | None = None  # the filter, if any
    category_counts: tuple[tuple[str, int], ...] = ()  # of the unfiltered day, most papers first


def combine(
    entries: list[DailyEntry], listed: dict[str, Paper], day_papers: list[Paper]
) -> list[FeedItem]:
    """The list's papers by upvotes (ties by id), then `day_papers` in their order, each once.

    `listed` maps the entries' arXiv ids to papers; an entry whose paper is not
    there (not ingested) is left out, because there is nothing to show for it.
    """
    ranked = sorted(entries, key=lambda e: (-e.upvote_count, e.arxiv_id))
    items, seen = [], set()
    for entry in ranked:
        paper = listed.get(entry.arxiv_id)
        if paper is not None and entry.arxiv_id not in seen:
            items.append(FeedItem(paper, entry))
            seen.add(entry.arxiv_id)
    items.extend(FeedItem(p) for p in day_papers if p.arxiv_id not in seen)
    return items


def page_count(day_paper_count: int, *, page_size: int = PAGE_SIZE) -> int:
    """Pages a day needs: at least one, even when it is empty or only has its list."""
    return max(1, -(-day_paper_count // page_size))


def day_feed(
    store, day: date, *, page: int = 1, page_size: int = PAGE_SIZE, category: str | None = None,
) -> DayFeed:
    """Page `page` (from 1) of `day` from `store` (a paperwire.store.Store, which imports
    this module: hence no annotation). A page past the end has no items; an empty day is
    a feed with no items, not an error.

    Page n holds the day's papers from (n - 1) * page_size up to n * page_size in
    store order, less those already shown on the list: no paper appears twice or
    goes missing, at the price of a page being a little short where they overlap.
    """
    entries = store.daily_entries(day)
    all_listed = store.get_papers(e.arxiv_id for e in entries) if entries else {}
    counts = category_counts(store, day, day, all_listed.values())
    listed = {a: p for a, p in all_listed.items() if _is_in(p, category)}
    day_papers = store.papers_between(day, day, category=category, limit=page_size, offset=(page - 1) * page_size)
    day_count = published_count(store, day, day, category)
    previous_day, next_day = store.adjacent_days(day)
    return DayFeed(
        day=day,
        items=combine(
            entries if page == 1 else [], listed,
            [p for p in day_papers if p.arxiv_id not in listed],
        ),
        page=page,
        page_count=page_count(day_count, page_size=page_size),
        paper_count=len(listed) + day_count - sum(1 for p in listed.values() if p.day == day),
        listed_count=len(listed),
        previous_day=previous_day,
        next_day=next_day,
        category=category,
        category_counts=counts,
    )


def _is_in(paper: Paper, category: str | None) -> bool:
    return category is None or category in paper.categories


def category_counts(store, first: date, last: date, listed: Iterable[Paper] = ()) -> tuple[tuple[str, int], ...]:
    """(category, papers) over the papers first published from `first` to `last` and the
    `listed` ones (a list day's papers may be older), each paper once; most papers first,
    then by name."""
    counts = Counter(_published_counts(store, first, last))
    for paper in listed:
        if paper.day is None or not first <= paper.day <= last:
            counts.update(set(paper.categories))
    return tuple(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


def published_count(store, first: date, last: date, category: str | None = None) -> int:
    """How many papers were first published from `first` to `last`, in `category` if given
    (from the kept counts: counting one category in SQL goes through paper_categories)."""
    if category is None:
        return store.count_papers_between(first, last)
    return _published_counts(store, first, last).get(category, 0)


def _published_counts(store, first: date, last: date) -> dict[str, int]:
    """Papers per category first published from `first` to `last`, kept in memory until the
    store changes (its last change_seq): reading a month's categories took 150 ms at 75k
    papers on a loaded machine, and every page of a period and every filter asks again."""
    key = (store.url, first, last, store.last_change_seq())
    with _counts_lock:
        if key in _counts_cache:
            return _counts_cache[key]
    counts: Counter[str] = Counter()
    for categories in store.categories_between(first, last):
        counts.update(set(categories))
    with _counts_lock:
        if len(_counts_cache) >= COUNTS_CACHED:
            _counts_cache.pop(next(iter(_counts_cache)))  # the oldest first
        _counts_cache[key] = dict(counts)
    return _counts_cache[key]


def trending_score(upvote_count: int, published_at: datetime | None, now: datetime) -> float:
    """How much a paper is trending at `now`: log((upvotes + 1) * 2 ** (-age / half-life)),
    age in hours since `published_at` (0 for a future time), half-life
    TRENDING_HALF_LIFE_HOURS. The log keeps old papers apart instead of rounding them
    all to 0; a paper without a date is older than any dated one (-inf)."""
    if published_at is None:
        return -math.inf
    age_hours = max((now - published_at).total_seconds() / 3600, 0.0)
    return math.log(max(upvote_count, 0) + 1) - age_hours / TRENDING_HALF_LIFE_HOURS * math.log(2)
