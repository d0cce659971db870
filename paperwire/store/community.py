"""Local upvotes and submissions in the store, the rows that /trending ranks, an author's papers.

An upvote is a row keyed by (user_id, arxiv_id): voting is `INSERT ... ON CONFLICT
DO NOTHING` and undoing is `DELETE`, so the database's primary key, not a
read-then-write here, makes each user's vote count once however many requests race
(docs/community.md, "Tables"). Counts are COUNT(*); there is no counter to drift.
A submission puts a paper on one day's community list, once per day. Hugging
Face's counts stay in daily_entries and are never added to these.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Iterable

from paperwire.papers import Paper, normalise_name
from paperwire.store.papers import select_papers
from paperwire.store.records import as_day, as_time
from paperwire.store.sql import Engine, Many, scalar
from paperwire.trending import TrendingRow


@dataclass(frozen=True)
class Submission:
    """A paper a user put on `day`'s community list."""

    day: date
    arxiv_id: str
    username: str
    created_at: datetime


class CommunityTables:
    """The store's upvote, submission and trending-row methods; `engine` is the Store's Engine."""

    engine: Engine

    # upvotes --------------------------------------------------------------------------
    def upvote(self, user_id: int, arxiv_id: str, *, now: datetime) -> bool:
        """Record the user's upvote; False if they had upvoted the paper already."""
        with self.engine.write() as db:
            return db.execute(
                "INSERT INTO upvotes (user_id, arxiv_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, arxiv_id) DO NOTHING", (user_id, arxiv_id, self.engine.time(now)),
            ) == 1

    def unvote(self, user_id: int, arxiv_id: str) -> bool:
        """Take the user's upvote back; False if there was none."""
        with self.engine.write() as db:
            return db.execute("DELETE FROM upvotes WHERE user_id = ? AND arxiv_id = ?", (user_id, arxiv_id)) == 1

    def upvote_count(self, arxiv_id: str) -> int:
        return scalar(self.engine.read(), "SELECT COUNT(*) FROM upvotes WHERE arxiv_id = ?", (arxiv_id,))

    def upvote_counts(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        """Local upvotes of each paper that has any (papers without are left out)."""
        ids = list(set(arxiv_ids))
        if not ids:
            return {}
        rows = self.engine.read().rows(
            "SELECT arxiv_id, COUNT(*) AS n FROM upvotes WHERE arxiv_id IN ? GROUP BY arxiv_id", (Many(ids),))
        return {row["arxiv_id"]: row["n"] for row in rows}

    def upvoted_by(self, user_id: int, arxiv_ids: Iterable[str]) -> set[str]:
        """Which of `arxiv_ids` the user has upvoted."""
        ids = list(set(arxiv_ids))
        if not ids:
            return set()
        rows = self.engine.read().rows(
            "SELECT arxiv_id FROM upvotes WHERE user_id = ? AND arxiv_id IN ?", (user_id, Many(ids)))
        return {row["arxiv_id"] for row in rows}

    # submissions ----------------------------------------------------------------------
    def submit(self, day: date, arxiv_id: str, user_id: int, *, now: datetime) -> bool:
        """Put the paper on `day`'s community list; False if someone had already."""
        with self.engine.write() as db:
            return db.execute(
                "INSERT INTO submissions (day, arxiv_id, user_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (day, arxiv_id) DO NOTHING",
                (self.engine.day(day), arxiv_id, user_id, self.engine.time(now)),
            ) == 1

    def submissions(self, day: date) -> list[Submission]:
        """`day`'s community list, earliest submission first."""
        rows = self.engine.read().rows(
            "SELECT s.day, s.arxiv_id, u.username, s.created_at FROM submissions s JOIN users u ON u.id = s.user_id"
            " WHERE s.day = ? ORDER BY s.created_at, s.arxiv_id", (self.engine.day(day),))
        return [_submission(row) for row in rows]

    def submissions_for(self, arxiv_ids: Iterable[str]) -> dict[str, Submission]:
        """The first submission of each paper that has one."""
        ids = list(set(arxiv_ids))
        if not ids:
            return {}
        rows = self.engine.read().rows(
            "SELECT s.day, s.arxiv_id, u.username, s.created_at FROM submissions s JOIN users u ON u.id = s.user_id"
            " WHERE s.arxiv_id IN ? ORDER BY s.created_at DESC", (Many(ids),))
        return {row["arxiv_id"]: _submission(row) for row in rows}  # the earliest is written last

    # trending -------------------------------------------------------------------------
    def trending_rows(self, *, since: datetime) -> list[TrendingRow]:
        """One row per paper with a local upvote, a Hugging Face listing or a submission
        since `since`: its upvote times since then, its latest listing's count and stars, its
        date. Earlier votes are left out: trending.score counts none before its start, which
        every caller gives as `since`, and reading them was most of a /trending request with
        1,000 users' votes (bench/web.py)."""
        db = self.engine.read()
        upvotes = defaultdict(list)
        for row in db.rows("SELECT arxiv_id, created_at FROM upvotes WHERE created_at >= ?",
                           (self.engine.time(since),)):
            upvotes[row["arxiv_id"]].append(as_time(row["created_at"]))
        listings = {}
        for row in db.rows("SELECT arxiv_id, day, upvote_count, github_star_count FROM daily_entries"
                           " WHERE day >= ? ORDER BY day", (self.engine.day(since.date()),)):
            listings[row["arxiv_id"]] = row  # the latest day's wins
        submitted = {row["arxiv_id"] for row in db.rows(
            "SELECT arxiv_id FROM submissions WHERE created_at >= ?", (self.engine.time(since),))}
        ids = sorted(set(upvotes) | set(listings) | submitted)
        # Only the dates: whole papers (with versions) cost most of a /trending request
        # with 1,000 users' votes (bench/web.py, docs/web.md).
        published = {row["arxiv_id"]: as_time(row["published_at"]) for row in db.rows(
            f"SELECT arxiv_id, published_at FROM papers WHERE arxiv_id IN ? AND {self.engine.live}",
            (Many(ids),))} if ids else {}
        return [_trending_row(a, upvotes.get(a, ()), listings.get(a), published.get(a)) for a in ids]


    # authors ------------------------------------------------------------------------------
    def papers_by_author(self, name: str, *, limit: int | None = None,
                         among: Iterable[int] | None = None) -> list[Paper]:
        """The papers with an author whose name matches `name` (papers.normalise_name: case,
        accents and punctuation aside), newest first, all of them or the first `limit`; []
        for a name with no letters. The pages and the API page through this list.
        `among`: row ids known to hold every paper that can match (the search index's
        SearchService.author_candidates); without it every paper's authors are scanned."""
        wanted = normalise_name(name)
        tokens = sorted(name.split(), key=len, reverse=True)
        if not wanted or not tokens:
            return []
        order = "ORDER BY published_at IS NULL, published_at DESC, arxiv_id"
        if among is not None:
            ids = list(among)
            rows = select_papers(self.engine, self.engine.read(), "{live} AND id IN ?", (Many(ids, "int8"),),
                                 order=order) if ids else []
        else:
            # The longest word of the name narrows the scan in SQL (lower() folds ASCII on both
            # engines); the exact rule is applied to the few papers that pass.
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", tokens[0].lower()) + "%"
            rows = select_papers(self.engine, self.engine.read(), "{live} AND lower(authors) LIKE ? ESCAPE '\\'",
                                 (pattern,), order=order)
        found = [p for _, p in rows if any(normalise_name(a.name) == wanted for a in p.authors)]
        return found[:limit]


def _trending_row(arxiv_id: str, upvoted_at, listing: dict | None, published_at) -> TrendingRow:
    hf = {}
    if listing is not None:
        listed_at = datetime.combine(as_day(listing["day"]), time(), tzinfo=timezone.utc)
        hf = dict(hf_upvote_count=listing["upvote_count"] or 0, hf_listed_at=listed_at,
                  github_star_count=listing["github_star_count"])
    return TrendingRow(arxiv_id=arxiv_id, published_at=published_at, upvoted_at=tuple(sorted(upvoted_at)), **hf)


def _submission(row: dict) -> Submission:
    return Submission(day=as_day(row["day"]), arxiv_id=row["arxiv_id"], username=row["username"],
                      created_at=as_time(row["created_at"]))
