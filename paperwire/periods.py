"""Week and month views of the daily feed (`/week/2026-W27`, `/month/2026-06`): which
papers a calendar period shows, in which order, on which page.

A period shows the papers on its days' community lists (Hugging Face Daily Papers)
and every paper first published in it, each once. In list order (the default, as a
day page) the listed papers come first, most upvoted first, then the rest newest
first; sorted by trending, the papers with signals in the period come first, ranked
by trending.trending over the period (docs/community.md), then the rest in list
order. The trending formula is trending.py's, the per-day lists and categories are
feed.py's; rendering is the web layer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from paperwire import trending
from paperwire.feed import PAGE_SIZE, DailyEntry, FeedItem, category_counts, published_count
from paperwire.papers import Paper

SORTS = ("list", "trending")  # the first is the default


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included; empty when reversed."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class Period:
    """A calendar period: an ISO week (Monday to Sunday) or a month, in UTC days."""

    kind: str  # "week" or "month" ("day" for a day's topic map)
    name: str  # "2026-W27", "2026-06" ("2026-06-30"): its address
    first: date
    last: date  # included

    @property
    def days(self) -> list[date]:
        """Every day of the period, first to last."""
        return days_between(self.first, self.last)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return self.start + timedelta(days=(self.last - self.first).days + 1)

    @property
    def window(self) -> trending.Window:
        """The trending window whose half-life suits the period."""
        return trending.WEEK if self.kind == "week" else trending.MONTH

    def previous(self) -> Period:
        return _of(self.kind, self.first - timedelta(days=1))

    def next(self) -> Period:
        return _of(self.kind, self.last + timedelta(days=1))


def week(text: str) -> Period:
    """The ISO week "YYYY-Www"; raises ValueError saying the form to use."""
    start, _ = trending.week_period(text)
    return week_of(start.date())


def month(text: str) -> Period:
    """The month "YYYY-MM"; raises ValueError saying the form to use."""
    if len(text) != 7:  # month_period would take "2026-6" too; one spelling per page
        raise ValueError(f"{text!r} is not a month; use YYYY-MM, e.g. 2026-06")
    start, _ = trending.month_period(text)
    return month_of(start.date())


def week_of(day: date) -> Period:
    year, number, weekday = day.isocalendar()
    monday = day - timedelta(days=weekday - 1)
    return Period("week", f"{year}-W{number:02d}", monday, monday + timedelta(days=6))


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period("month", f"{first:%Y-%m}", first, following - timedelta(days=1))


def day_of(day: date) -> Period:
    """One day as a period (a day's topic map, topicmap.py)."""
    return Period("day", day.isoformat(), day, day)


def _of(kind: str, day: date) -> Period:
    return week_of(day) if kind == "week" else month_of(day)


@dataclass(frozen=True)
class PeriodFeed:
    """One page of a period: `items` in display order, its filter and sort, and counts."""

    period: Period
    items: list[FeedItem]
    page: int
    page_count: int
    paper_count: int  # distinct papers the period shows (with the filter) over all its pages
    listed_count: int  # of which on a community list of one of its days
    sort: str
    category: str | None
    category_counts: tuple[tuple[str, int], ...]  # of the unfiltered period, most papers first


def period_feed(
    store, period: Period, *, now: datetime, page: int = 1, page_size: int = PAGE_SIZE,
    category: str | None = None, sort: str = SORTS[0],
) -> PeriodFeed:
    """Page `page` (from 1) of `period` from `store` (a paperwire.store.Store), only
    `category`'s papers if given, in `sort` order (one of SORTS; trending as of `now`, or
    the period's end if that is earlier). A page past the end has no items.

    The lead (the listed or trending papers) is read whole, since it is short (a few
    hundred papers in a month); the rest is read a page at a time from the store in its
    order, less the lead's papers: no paper appears twice or goes missing, at the price
    of a page being a little short where they overlap (as on a day, feed.day_feed)."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r} is not one of {', '.join(SORTS)}")
    entries = _best_entries(store.daily_entries_between(period.first, period.last))
    all_listed = store.get_papers(entries) if entries else {}
    counts = category_counts(store, period.first, period.last, all_listed.values())
    listed = {a: p for a, p in all_listed.items() if category is None or category in p.categories}
    lead = [FeedItem(listed[a], entries[a]) for a in entries if a in listed]
    if sort == "trending":
        lead = _trending_lead(store, period, lead, now=now, category=category)
    count = published_count(store, period.first, period.last, category)
    in_period = sum(1 for p in listed.values() if p.day is not None and period.first <= p.day <= period.last)
    return PeriodFeed(
        period=period, items=_page(store, period, lead, page=page, page_size=page_size, category=category),
        page=page, page_count=max(1, -(-(len(lead) + count) // page_size)),
        paper_count=len(listed) + count - in_period, listed_count=len(listed),
        sort=sort, category=category, category_counts=counts,
    )


def _best_entries(entries: list[DailyEntry]) -> dict[str, DailyEntry]:
    """Each paper's most upvoted entry, most upvoted first (the store gives that order)."""
    best: dict[str, DailyEntry] = {}
    for entry in entries:
        best.setdefault(entry.arxiv_id, entry)
    return best


def _trending_lead(store, period: Period, listed: list[FeedItem], *, now: datetime,
                   category: str | None) -> list[FeedItem]:
    """The period's papers with trending signals in it, by score, each with its "why";
    then the listed papers without any, in list order."""
    at = min(period.end - timedelta(microseconds=1), now)  # trending counts its `now`; the end is the next period's
    ranked = trending.trending(store.trending_rows(since=period.start), now=at, window=period.window,
                               start=period.start)
    by_id = {item.paper.arxiv_id: item for item in listed}
    published = [i.arxiv_id for i in ranked if i.arxiv_id not in by_id and i.published_at is not None
                 and period.first <= i.published_at.astimezone(timezone.utc).date() <= period.last]
    papers: dict[str, Paper] = store.get_papers(published) if published else {}
    lead = []
    for item in ranked:
        if item.arxiv_id in by_id:
            lead.append(FeedItem(by_id[item.arxiv_id].paper, by_id[item.arxiv_id].entry, why=item.why))
        elif item.arxiv_id in papers and (category is None or category in papers[item.arxiv_id].categories):
            lead.append(FeedItem(papers[item.arxiv_id], why=item.why))
    shown = {item.paper.arxiv_id for item in lead}
    return lead + [item for item in listed if item.paper.arxiv_id not in shown]


def _page(store, period: Period, lead: list[FeedItem], *, page: int, page_size: int,
          category: str | None) -> list[FeedItem]:
    start = (page - 1) * page_size
    items = lead[start:start + page_size]
    room = page_size - len(items)
    if room:
        shown = {item.paper.arxiv_id for item in lead}
        rest = store.papers_between(period.first, period.last, category=category, limit=room,
                                    offset=max(0, start - len(lead)))
        items += [FeedItem(p) for p in rest if p.arxiv_id not in shown]
    return items
