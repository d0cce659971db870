"""Days in the store: community daily lists (daily_entries) and which days have anything.

A daily entry is keyed by (day, arxiv_id, source); upserting one that says what
the stored one says (the time it was seen aside) counts as unchanged. The
`DailyEntry` record is the daily-list domain's (feed.py).
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from typing import Iterable, Iterator

from paperwire.feed import DailyEntry
from paperwire.store.records import UpsertCounts, as_day, as_time
from paperwire.store.sql import Engine, Many, scalar

_COLUMNS = tuple(f.name for f in fields(DailyEntry))
_KEY = ("day", "arxiv_id", "source")
_REPLACE = f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in _COLUMNS if c not in _KEY
)


class DailyTables:
    """The store's daily-list and day methods; `engine` is the Engine the Store holds."""

    engine: Engine

    def upsert_daily_entries(self, entries: Iterable[DailyEntry]) -> UpsertCounts:
        """Save the entries; an entry that differs from the stored one only in `seen_at`
        is unchanged (and not written)."""
        entries = list(entries)
        counts = UpsertCounts()
        if not entries:
            return counts
        with self.engine.write() as db:
            rows = db.rows("SELECT * FROM daily_entries WHERE arxiv_id IN ?",
                           (Many(list({e.arxiv_id for e in entries})),))
            held = {_key(entry): entry for entry in map(_entry, rows)}
            changed = {}
            for entry in entries:
                before = held.get(_key(entry))
                if before is not None and replace(before, seen_at=None) == replace(entry, seen_at=None):
                    counts.unchanged_count += 1
                    continue
                if before is None:
                    counts.new_count += 1
                else:
                    counts.updated_count += 1
                held[_key(entry)] = changed[_key(entry)] = entry
            self.engine.insert_rows(
                db, "daily_entries", _COLUMNS, [self._row(e) for e in changed.values()], conflict=_REPLACE
            )
        return counts

    def daily_entries(self, day: date) -> list[DailyEntry]:
        """The day's list, most upvoted first."""
        rows = self.engine.read().rows(
            "SELECT * FROM daily_entries WHERE day = ? ORDER BY upvote_count DESC, arxiv_id", (self.engine.day(day),)
        )
        return [_entry(row) for row in rows]

    def daily_entries_between(self, first: date, last: date) -> list[DailyEntry]:
        """The lists of the days from `first` to `last` (both included), most upvoted first;
        a paper listed on several of those days appears once for each."""
        rows = self.engine.read().rows(
            "SELECT * FROM daily_entries WHERE day >= ? AND day <= ? ORDER BY upvote_count DESC, arxiv_id, day",
            (self.engine.day(first), self.engine.day(last)),
        )
        return [_entry(row) for row in rows]

    def thumbnail_urls(self, *, limit: int = 1000) -> list[tuple[str, str]]:
        """(arxiv_id, thumbnail_url) of listed papers with a thumbnail, latest list day first,
        each paper once (its latest listing's address)."""
        rows = self.engine.read().rows(
            "SELECT arxiv_id, thumbnail_url FROM daily_entries WHERE thumbnail_url IS NOT NULL"
            " ORDER BY day DESC, arxiv_id LIMIT ?", (limit,),
        )
        found: dict[str, str] = {}
        for row in rows:
            found.setdefault(row["arxiv_id"], row["thumbnail_url"])
        return list(found.items())

    def iter_daily_entries(self) -> Iterator[DailyEntry]:
        """Every daily entry, by day, then arxiv_id and source: one day's list at a time."""
        db = self.engine.read()
        days = [as_day(row["day"]) for row in db.rows("SELECT DISTINCT day FROM daily_entries ORDER BY day")]
        for day in days:
            rows = db.rows("SELECT * FROM daily_entries WHERE day = ? ORDER BY arxiv_id, source",
                           (self.engine.day(day),))
            yield from map(_entry, rows)

    def daily_entries_for(self, arxiv_id: str) -> list[DailyEntry]:
        """Every list the paper was on, latest day first."""
        rows = self.engine.read().rows("SELECT * FROM daily_entries WHERE arxiv_id = ? ORDER BY day DESC", (arxiv_id,))
        return [_entry(row) for row in rows]

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        """The nearest earlier and later days that have papers or daily entries."""
        db, param = self.engine.read(), self.engine.day(day)
        before = scalar(
            db, "SELECT MAX(d) FROM (SELECT MAX(day) AS d FROM papers WHERE day < ? AND is_deleted = ?"
            " UNION ALL SELECT MAX(day) FROM daily_entries WHERE day < ?) AS t", (param, False, param),
        )
        after = scalar(
            db, "SELECT MIN(d) FROM (SELECT MIN(day) AS d FROM papers WHERE day > ? AND is_deleted = ?"
            " UNION ALL SELECT MIN(day) FROM daily_entries WHERE day > ?) AS t", (param, False, param),
        )
        return as_day(before), as_day(after)

    def latest_day(self) -> date | None:
        """The most recent day with papers or daily entries, or None on an empty store."""
        return as_day(scalar(
            self.engine.read(),
            "SELECT MAX(d) FROM (SELECT MAX(day) AS d FROM papers WHERE is_deleted = ?"
            " UNION ALL SELECT MAX(day) FROM daily_entries) AS t", (False,),
        ))

    def _row(self, entry: DailyEntry) -> tuple:
        row = {c: getattr(entry, c) for c in _COLUMNS}
        row.update(day=self.engine.day(entry.day), seen_at=self.engine.time(entry.seen_at))
        return tuple(row.values())


def _key(entry: DailyEntry) -> tuple:
    return entry.day, entry.arxiv_id, entry.source


def _entry(row: dict) -> DailyEntry:
    return DailyEntry(**{**row, "day": as_day(row["day"]), "seen_at": as_time(row["seen_at"])})
