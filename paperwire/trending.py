"""Trending: which papers are drawing attention now, by how much, and why, in one pure function.

This module owns the formula: each signal (an upvote here, the upvotes imported
from Hugging Face, a save, GitHub stars) counts with a weight and fades by its age
with a half-life that suits the window (a day, a week, a month), and each paper
gets a sentence saying why it is on the list ("38 upvotes in 2 days"). It takes
rows and `now` and reads nothing: gathering the rows (one per paper, its upvotes'
times, its daily-list entry, its saves, its repository's stars) is the store's,
and the pages (/trending, /week/..., /month/..., "About trending") are the web
layer's (docs/community.md). feed.trending_score is the older, simpler score the
search sort still uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone


@dataclass(frozen=True)
class Window:
    """A trending window: which signals count (those within `span` before now) and how
    fast they fade."""

    name: str
    span: timedelta
    half_life: timedelta


# Each half-life is half its window, so a signal from the start of the window still
# counts a quarter as much as one from now: the window's early favourites are not
# forgotten, and today's still rise above them.
DAY = Window("day", timedelta(days=1), timedelta(hours=12))
WEEK = Window("week", timedelta(days=7), timedelta(days=3, hours=12))
MONTH = Window("month", timedelta(days=30), timedelta(days=15))
WINDOWS = {w.name: w for w in (DAY, WEEK, MONTH)}

# An upvote here is a reader of this instance saying "read this": the unit of the score.
LOCAL_UPVOTE_WEIGHT = 1.0
# An upvote on Hugging Face is the same act by a wider crowd. It counts the same, so an
# instance with few readers still has a useful list; the two are kept apart (Hugging
# Face's count never includes ours, and ours never includes theirs), so a reader who
# voted in both places counts twice, once in each crowd, which is what each crowd saw.
HF_UPVOTE_WEIGHT = 1.0
# A save says "I will read this", as much as an upvote; until there is data to say
# otherwise it counts the same.
SAVE_WEIGHT = 1.0
# Points per doubling of a repository's stars: stars span five orders of magnitude and
# pile up over a repository's life, not a paper's, so a raw count would drown every other
# signal. 1,023 stars are worth 10 upvotes; 1 star is worth 1.
STAR_WEIGHT_PER_DOUBLING = 1.0
# Scores are compared rounded to this many decimals, so sums that are equal on paper
# but differ in their last bits (0.1 + 0.2 and 0.3) tie and fall to the tie-break.
SCORE_DECIMALS = 9


@dataclass(frozen=True)
class TrendingRow:
    """What the store knows about one paper's attention. Times are aware UTC datetimes;
    `hf_listed_at` is when the paper was on the Hugging Face daily list (the list's day
    at 00:00 UTC will do), with `hf_upvote_count` its count there."""

    arxiv_id: str
    published_at: datetime | None = None
    upvoted_at: tuple[datetime, ...] = ()  # each local upvote still standing
    hf_upvote_count: int = 0
    hf_listed_at: datetime | None = None
    saved_at: tuple[datetime, ...] = ()
    github_star_count: int | None = None


@dataclass(frozen=True)
class TrendingItem:
    """A paper on the trending list: its score, why, and the counts that made it."""

    arxiv_id: str
    score: float
    why: str
    upvote_count: int  # local upvotes in the window
    hf_upvote_count: int  # 0 unless its Hugging Face listing is in the window
    save_count: int
    github_star_count: int  # 0 unless published in the window
    published_at: datetime | None = None


def decay(age: timedelta, half_life: timedelta) -> float:
    """How much a signal `age` old still counts: 1 now, 1/2 one half-life ago. A future
    time (a clock a little ahead) counts as now."""
    return 2.0 ** (-max(age / half_life, 0.0))


def trending(
    rows: Iterable[TrendingRow], *, now: datetime, window: Window, start: datetime | None = None,
) -> list[TrendingItem]:
    """The papers with any signal between `start` (default: `now` less the window's
    span) and `now`, highest score first; ties go to the newer paper, then the smaller
    arXiv id. Raises ValueError when a paper has two rows (its signals would count twice)."""
    start = now - window.span if start is None else start
    items, seen = [], set()
    for row in rows:
        if row.arxiv_id in seen:
            raise ValueError(f"paper {row.arxiv_id} has two trending rows; give one row per paper")
        seen.add(row.arxiv_id)
        item = score(row, now=now, window=window, start=start)
        if item is not None:
            items.append(item)
    return sorted(items, key=_rank_key)


def score(row: TrendingRow, *, now: datetime, window: Window, start: datetime) -> TrendingItem | None:
    """One paper's score and reasons from the signals between `start` and `now`, or None
    when it has none there."""
    upvotes = [t for t in row.upvoted_at if start <= t <= now]
    saves = [t for t in row.saved_at if start <= t <= now]
    hf_listed = row.hf_listed_at is not None and start <= row.hf_listed_at <= now and row.hf_upvote_count > 0
    hf_count = row.hf_upvote_count if hf_listed else 0
    published = row.published_at is not None and start <= row.published_at <= now
    stars = (row.github_star_count or 0) if published else 0

    def faded(weight: float, at: datetime) -> float:
        return weight * decay(now - at, window.half_life)

    total = sum(faded(LOCAL_UPVOTE_WEIGHT, t) for t in upvotes) + sum(faded(SAVE_WEIGHT, t) for t in saves)
    if hf_count:
        total += faded(HF_UPVOTE_WEIGHT * hf_count, row.hf_listed_at)
    if stars:
        total += faded(STAR_WEIGHT_PER_DOUBLING * math.log2(1 + stars), row.published_at)
    if total <= 0:
        return None
    since = min([*upvotes, *saves, *([row.hf_listed_at] if hf_count else [])], default=None)
    return TrendingItem(
        arxiv_id=row.arxiv_id, score=total,
        why=why(upvote_count=len(upvotes), hf_upvote_count=hf_count, save_count=len(saves),
                github_star_count=stars, elapsed=None if since is None else now - since),
        upvote_count=len(upvotes), hf_upvote_count=hf_count, save_count=len(saves),
        github_star_count=stars, published_at=row.published_at,
    )


def _rank_key(item: TrendingItem) -> tuple:
    newest_first = -item.published_at.timestamp() if item.published_at else math.inf
    return (-round(item.score, SCORE_DECIMALS), newest_first, item.arxiv_id)


# --- why it is there ----------------------------------------------------------------

def why(
    *, upvote_count: int, hf_upvote_count: int, save_count: int, github_star_count: int,
    elapsed: timedelta | None,
) -> str:
    """The sentence a trending paper shows: "38 upvotes in 2 days", "5 upvotes here and
    38 on Hugging Face in 12 hours", "1,204 GitHub stars". `elapsed` is the time since
    the first counted upvote, listing or save; "" when there is nothing to say."""
    parts = []
    if upvote_count and hf_upvote_count:
        parts += [f"{_count(upvote_count, 'upvote')} here", f"{hf_upvote_count:,} on Hugging Face"]
    elif upvote_count:
        parts.append(_count(upvote_count, "upvote"))
    elif hf_upvote_count:
        parts.append(f"{_count(hf_upvote_count, 'upvote')} on Hugging Face")
    if save_count:
        parts.append(_count(save_count, "save"))
    text = f"{_join(parts)} in {_duration(elapsed)}" if parts and elapsed is not None else ""
    if github_star_count:
        stars = _count(github_star_count, "GitHub star")
        text = f"{text}; {stars}" if text else stars
    return text


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _duration(elapsed: timedelta) -> str:
    """Hours, rounded up, below two days ("in 1 hour" for a vote a minute ago); then whole days."""
    hours = elapsed / timedelta(hours=1)
    if hours < 48:
        return _count(max(1, math.ceil(hours)), "hour")
    return _count(int(hours // 24), "day")


# --- calendar periods: /week/2026-W27, /month/2026-06 ---------------------------------

def week_period(text: str) -> tuple[datetime, datetime]:
    """The start (Monday 00:00 UTC) and end (next Monday 00:00) of ISO week "YYYY-Www";
    raises ValueError saying the form to use."""
    try:
        year, week = text.split("-W")
        first = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a week; use YYYY-Www, e.g. 2026-W27") from None
    start = datetime.combine(first, time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=7)


def month_period(text: str) -> tuple[datetime, datetime]:
    """The start and end (the next month's start) of "YYYY-MM", 00:00 UTC; raises ValueError."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month; use YYYY-MM, e.g. 2026-06") from None
    following = date(year + month // 12, month % 12 + 1, 1)
    return (datetime.combine(first, time(), tzinfo=timezone.utc),
            datetime.combine(following, time(), tzinfo=timezone.utc))
